"""The JSON Schema and the Markdown reference of a stack's `aion:` config,
both generated from the spec models.

Regenerate with `python -m aion_factory.schema > stacks/aion.schema.json` and
`python -m aion_factory.schema --markdown > docs/CONFIG.md`; the schema of
`aion plan --json` with `python -m aion_factory.schema --plan > docs/plan.schema.json`.
A test fails when a committed copy is stale.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .keys import NAMESPACE
from .plan_document import plan_schema
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
    return _json(config_schema())


def render_plan_schema() -> str:
    return _json(plan_schema())


def _json(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def render_reference() -> str:
    """One table per model, walked from FactorySpec: key, type, default, meaning."""
    lines = ["# Stack config reference", "", "Generated from `components/spec.py` by `python -m aion_factory.schema --markdown`.", ""]
    seen: set[type[BaseModel]] = set()
    pending: list[tuple[str, type[BaseModel]]] = [(f"{NAMESPACE}:", FactorySpec)]
    while pending:
        path, model = pending.pop(0)
        if model in seen:
            continue
        seen.add(model)
        lines += [
            f"## `{path}` ({model.__name__})",
            "",
            (model.__doc__ or "").strip(),
            "",
            "| key | type | default | meaning |",
            "|---|---|---|---|",
        ]
        for name, field in model.model_fields.items():
            default = "required" if field.is_required() else _default(field.default)
            lines.append(f"| `{name}` | {_type_name(field.annotation)} | {default} | {field.description or ''} |")
            nested = _nested_model(field.annotation)
            if nested is not None:
                separator = "" if path.endswith(":") else "."
                suffix = "[]" if typing.get_origin(field.annotation) is tuple else ""
                pending.append((f"{path}{separator}{name}{suffix}", nested))
        lines.append("")
    return "\n".join(lines)


def _default(value: Any) -> str:
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, BaseModel):
        return "see below"
    return f"`{json.dumps(value)}`"


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        named = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(named) + (", optional" if type(None) in args else "")
    if origin is tuple:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "map of string to string"
    if origin is typing.Literal:
        return " or ".join(f"`{a}`" for a in args)
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


if __name__ == "__main__":
    renderers = {"--markdown": render_reference, "--plan": render_plan_schema}
    chosen = [renderers[arg] for arg in sys.argv[1:] if arg in renderers]
    print((chosen[0] if chosen else render_schema)(), end="")
