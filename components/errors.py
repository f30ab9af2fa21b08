"""One error type for everything the user wrote wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One bad value: where it is (a config key path), what it is, what is allowed."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class AionError(Exception):
    """Base of every error this toolkit raises on purpose."""


class ConfigError(AionError):
    """The stack config is invalid. Carries every problem found, one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
