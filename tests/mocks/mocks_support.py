"""Helpers for reading what the mock monitor registered (imported as `mocks_support`)."""

from __future__ import annotations

from typing import Any

import pulumi


def parent_types() -> dict[str, str]:
    """Each registered name -> its parent's type, as the mock monitor's URNs record it."""
    monitor: Any = pulumi.runtime.settings.get_monitor()
    found = {}
    for urn in monitor.get_registered_resources():
        _, _, types, name = urn.split("::")
        found[name] = types.split("$")[-2] if "$" in types else ""
    return found
