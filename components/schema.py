"""The JSON Schema of a stack's `aion:` config, generated from the spec models.

Regenerate with `python -m aion_factory.schema > stacks/aion.schema.json`;
a test fails when the committed copy is stale.
"""

from __future__ import annotations

import json
from typing import Any

from .keys import NAMESPACE
from .spec import FactorySpec


def config_schema() -> dict[str, Any]:
    inner = FactorySpec.model_json_schema()
    properties = {f"{NAMESPACE}:{key}": value for key, value in inner["properties"].items()}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "aion-factory stack config (the `config:` mapping of Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": properties,
        "required": [f"{NAMESPACE}:{key}" for key in inner.get("required", [])],
        "$defs": inner.get("$defs", {}),
    }


def render_schema() -> str:
    return json.dumps(config_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render_schema(), end="")
