"""Helpers for reading what the mock monitor registered (imported as `mocks_support`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from aion_factory import program


def parent_types() -> dict[str, str]:
    """Each registered name -> its parent's type, as the mock monitor's URNs record it."""
    monitor: Any = pulumi.runtime.settings.get_monitor()
    found = {}
    for urn in monitor.get_registered_resources():
        _, _, types, name = urn.split("::")
        found[name] = types.split("$")[-2] if "$" in types else ""
    return found


def run_and_catch(run_program: Callable[[Callable[[], Any]], Any]) -> tuple[Any, list[pulumi.RunError]]:
    """Run the whole program under mocks; what it registered, and the RunError it stopped with."""
    errors: list[pulumi.RunError] = []

    def guarded() -> None:
        try:
            program.run()
        except pulumi.RunError as error:
            errors.append(error)

    return run_program(guarded), errors
