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

from .errors import SHOWN_CHARS
from .keys import NAMESPACE
from .plan_document import plan_schema
from .spec import MAX_FACILITY_MW, MAX_NODES, MAX_PODS, MAX_STRING, FactorySpec, bounds_of
from .yaml_input import MAX_DEPTH, MAX_FILE_BYTES, MAX_NUMBER_CHARS, MAX_SCALAR_CHARS, MAX_VALUES

# What holds for every key: the reference's preamble (the tables give each key's own bounds).
RULES = [
    "Every value is checked before anything is planned or deployed; a bad one is refused (exit 2)",
    f"with its key path, the value (cut to {SHOWN_CHARS} characters) and what is allowed. For every key:",
    "",
    "- numbers are finite (no `.inf`, `.nan`, `1e400`) and within the bounds below; `true`/`false` are not",
    '  numbers; a number in a string (`"1.15"`, as `pulumi config set --path` stores it) is read as that number;',
    "- booleans are `true` or `false` (not `1`, `yes`, `on`);",
    f"- strings hold at most {MAX_STRING} characters unless the table says fewer;",
    "- a key appears once in its mapping (YAML would keep the last silently), and a tenant lists a cluster once.",
    "",
    f"A stack file or site document is UTF-8, at most {MAX_FILE_BYTES // 1024**2} MiB, nested at most {MAX_DEPTH} levels, "
    f"at most {MAX_VALUES:,} values once YAML aliases are expanded,",
    f"with scalars of at most {MAX_SCALAR_CHARS:,} characters (numbers: {MAX_NUMBER_CHARS}). Upper bounds come from the platform where it "
    f"gives one: {MAX_NODES:,} nodes and {MAX_PODS:,} pods (upstream Kubernetes' largest cluster,",
    "<https://kubernetes.io/docs/setup/best-practices/cluster-large/>); power at most "
    f"{MAX_FACILITY_MW:,.0f} MW (10 GW) at every level, beyond any campus.",
]


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
    lines = [
        "# Stack config reference",
        "",
        "Generated from `components/spec.py` by `python -m aion_factory.schema --markdown`.",
        "",
        *RULES,
        "",
    ]
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
            "| key | type | allowed | default | meaning |",
            "|---|---|---|---|---|",
        ]
        for name, field in model.model_fields.items():
            default = "required" if field.is_required() else _default(field.default)
            lines.append(f"| `{name}` | {_type_name(field.annotation)} | {bounds_of(field)} | {default} | {field.description or ''} |")
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
