"""The stack's `aion:` config as the engine hands it to the analyzer.

The CLI sends the stack's decrypted config to every policy pack (ConfigureStack;
older CLIs set PULUMI_CONFIG instead): keys `namespace:name`, object values as
JSON text. That is the same config the program reads, so the policy and the
program plan the same spec.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aion_factory.keys import NAMESPACE

KEYS = ("site", "clusters", "tenants")
# A program that builds its spec in code (examples/consumer) exports it under this name.
SPEC_OUTPUT = "aion-spec"


def aion_values(config: Mapping[str, str]) -> dict[str, Any]:
    """`site`, `clusters` and `tenants` from an engine config map; absent keys are left out."""
    values: dict[str, Any] = {}
    for key in KEYS:
        text = config.get(f"{NAMESPACE}:{key}")
        if text is not None:
            values[key] = _decode(text)
    return values


def _decode(text: str) -> Any:
    # Object values arrive as JSON; a plain string value arrives as itself.
    try:
        return json.loads(text)
    except ValueError:
        return text
