"""One problem type for everything wrong with a stack, and the one place that formats it.

A `Problem` is a bad config value (an `error`, exit 2: nothing can be planned),
a plan that breaks a budget or limit (a `violation`, exit 1: the plan is
complete but must not be deployed), or what a user should hear but does not stop
a deploy (a `warning`). Both name where they are: a config key
path, or a level of the site's power tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Literal

Level = Literal["error", "violation", "warning"]

# A bad value is shown up to this many characters: enough to recognise it, never a flood
# (a 50 MB name, an alias bomb's expansion). Every message that quotes a value goes through `shown`.
SHOWN_CHARS = 60
PATH_CHARS = 300  # a path the user typed is shown longer: it is theirs, and rarely a flood


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """`repr(value)` cut to `limit` characters, saying how long it was when cut.

    Containers are cut before they are printed whole: repr of a huge nested value costs
    as much memory as the value itself."""
    text = _short_repr(value, limit)
    if len(text) <= limit:
        return text
    whole = f"{len(value):,} characters" if isinstance(value, str | bytes) else type(value).__name__
    return f"{text[: limit - 3]}... ({whole})"


def _short_repr(value: object, limit: int, depth: int = 0) -> str:
    if depth > 3:
        return "..."
    if isinstance(value, str | bytes):
        return repr(value[: limit + 1])
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * limit:
        return f"an integer of about {int(value.bit_length() * 0.30103):,} digits"  # repr refuses past 4,300
    if isinstance(value, dict):
        items = (f"{_short_repr(k, limit, depth + 1)}: {_short_repr(v, limit, depth + 1)}" for k, v in islice(value.items(), limit))
        return "{" + ", ".join(items)[: limit + 1] + "}"
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(_short_repr(v, limit, depth + 1) for v in islice(value, limit))[: limit + 1] + "]"
    return repr(value)[: limit + 1]


@dataclass(frozen=True)
class Problem:
    """One thing wrong: where it is (a config key path or a power-tree level), what is wrong, what is allowed."""

    path: str
    message: str
    level: Level = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "level": self.level}


def format_problems(problems: Iterable[Problem], heading: str | None = None, indent: str = "") -> str:
    """Every problem on its own line, under an optional heading: how the CLI, the program and the plugin print them."""
    lines = [f"{indent}{problem}" for problem in problems]
    return "\n".join([heading, *lines] if heading else lines)


class AionError(Exception):
    """Base of every error this toolkit raises on purpose."""


class ConfigError(AionError):
    """The stack config is invalid. Carries every problem found, one line each."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(format_problems(self.problems))


class NotDeployable(AionError):
    """The spec is valid but must not be deployed: its plan is violated, or a target would refuse it.
    Raised before any resource is registered."""

    def __init__(self, reason: str, problems: Iterable[Problem]) -> None:
        self.reason = reason
        self.problems = list(problems)
        super().__init__(format_problems(self.problems, f"{reason}; nothing was deployed:"))
