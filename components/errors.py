"""One problem type for everything wrong with a stack, and the one place that formats it.

A `Problem` is a bad config value (an `error`, exit 2: nothing can be planned)
or a plan that breaks a budget or limit (a `violation`, exit 1: the plan is
complete but must not be deployed). Both name where they are: a config key
path, or a level of the site's power tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "violation"]


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
