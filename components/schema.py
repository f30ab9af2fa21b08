"""The JSON Schemas of a stack file and of a site document, and the Markdown reference
of a stack's `aion:` config, all generated from the spec models.

Regenerate with `python -m aion_factory.schema > stacks/aion.schema.json`,
`python -m aion_factory.schema --site > stacks/aion-site.schema.json` and
`python -m aion_factory.schema --markdown > docs/CONFIG.md`; the schema of
`aion plan --json` with `python -m aion_factory.schema --plan > docs/plan.schema.json`; a programme
document's with `--programme > stacks/aion-programme.schema.json`, and its plan's with
`--programme-plan > docs/programme-plan.schema.json`.
A test fails when a committed copy is stale.

Editors read the two file schemas through a first line such as
`# yaml-language-server: $schema=aion.schema.json`. The YAML language server (VS Code,
Neovim, Helix) supports JSON Schema draft-07 and below, so they say draft-07; the
models' `$defs` references are plain JSON pointers, valid there too.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic_core import PydanticUndefined

from .errors import SHOWN_CHARS
from .keys import NAMESPACE
from .plan_document import plan_schema
from .programme import ProgrammeSpec
from .programme_document import programme_plan_schema
from .site import CLUSTER, KUBECONFIG, PROGRAMME, SITE_FILE, SPEC_KEYS, STACK_KEYS
from .spec import MAX_FACILITY_MW, MAX_NODES, MAX_PODS, MAX_STRING, FactorySpec, Name, Tenant, bounds_of
from .yaml_input import MAX_DEPTH, MAX_FILE_BYTES, MAX_NUMBER_CHARS, MAX_SCALAR_CHARS, MAX_VALUES

DRAFT = "http://json-schema.org/draft-07/schema#"
# Pulumi's own keys of a stack file (https://www.pulumi.com/docs/iac/concepts/projects/stack-settings-file/).
PULUMI_STACK_KEYS: dict[str, dict[str, Any]] = {
    "secretsprovider": {"type": "string", "description": "Pulumi: the secrets provider of the stack's config secrets."},
    "encryptedkey": {"type": "string", "description": "Pulumi: the KMS-encrypted data key (cloud secrets providers)."},
    "encryptionsalt": {"type": "string", "description": "Pulumi: the encryption salt (passphrase secrets provider)."},
    "environment": {"description": "Pulumi ESC: the environment, or environments, the stack imports."},
}

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


def site_schema() -> dict[str, Any]:
    """A site document: `site`, `clusters` and `tenants` at its top level; nothing else."""
    return {**FactorySpec.model_json_schema(), "$schema": DRAFT, "title": "aion-factory site document"}


def stack_file_schema() -> dict[str, Any]:
    """A Pulumi stack file (Pulumi.<stack>.yaml) of this program.

    Its `config:` holds either an inline site (`aion:site`, `aion:clusters`, `aion:tenants`)
    or a cluster of a site document (`aion:site_file`, `aion:cluster`, `aion:kubeconfig`, `aion:programme`);
    any other `aion:` key is refused, while other namespaces' keys (`scaleway:region`) pass.
    """
    inner = FactorySpec.model_json_schema()
    aion = {f"{NAMESPACE}:{key}": inner["properties"][key] for key in SPEC_KEYS}
    aion[f"{NAMESPACE}:{SITE_FILE}"] = {
        "type": "string",
        "minLength": 1,
        "description": "A site document (site, clusters, tenants), relative to the stack file: the stack deploys one of its clusters.",
    }
    aion[f"{NAMESPACE}:{CLUSTER}"] = {**TypeAdapter(Name).json_schema(), "description": "The site document's cluster this stack deploys."}
    aion[f"{NAMESPACE}:{KUBECONFIG}"] = {
        "type": "string",
        "description": "Local target: the kubeconfig of the cluster, when the stack names one.",
    }
    aion[f"{NAMESPACE}:{PROGRAMME}"] = {
        "type": "string",
        "minLength": 1,
        "description": "The programme the site document is one of, relative to the stack file: the site is planned in it.",
    }
    config = {
        "type": "object",
        "description": "The stack's config: `aion:` keys, and other namespaces' keys (`scaleway:region`).",
        "properties": aion,
        # Any namespace but ours; a key of ours that `properties` does not list is refused.
        "patternProperties": {f"^(?!{NAMESPACE}:)[^:]+:.+$": {}},
        "additionalProperties": False,
        "if": {"required": [f"{NAMESPACE}:{SITE_FILE}"]},
        "then": {
            "required": [f"{NAMESPACE}:{CLUSTER}"],
            "properties": {
                f"{NAMESPACE}:{key}": _refused(
                    f"the site document says this; next to {NAMESPACE}:{SITE_FILE} the stack sets only {', '.join(STACK_KEYS)}"
                )
                for key in SPEC_KEYS
            },
        },
        "else": {
            "required": [f"{NAMESPACE}:{key}" for key in inner.get("required", [])],
            "properties": {
                f"{NAMESPACE}:{key}": _refused(f"needs {NAMESPACE}:{SITE_FILE}; an inline site deploys all its clusters")
                for key in (CLUSTER, KUBECONFIG, PROGRAMME)
            },
        },
    }
    return {
        "$schema": DRAFT,
        "title": "aion-factory stack file (Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {"config": config, **PULUMI_STACK_KEYS},
        "required": ["config"],
        "additionalProperties": False,
        "$defs": inner.get("$defs", {}),
    }


def _refused(why: str) -> dict[str, Any]:
    # errorMessage: the YAML language server shows it instead of "Matches a schema that is not allowed".
    return {"not": {}, "description": why, "errorMessage": why}


def render_schema() -> str:
    return _json(stack_file_schema())


def render_site_schema() -> str:
    return _json(site_schema())


def programme_schema() -> dict[str, Any]:
    """A programme document: its sites (files or inline site documents), accounts and tenants across sites."""
    return {**ProgrammeSpec.model_json_schema(), "$schema": DRAFT, "title": "aion-factory programme document"}


def render_programme_schema() -> str:
    return _json(programme_schema())


def render_programme_plan_schema() -> str:
    return _json(programme_plan_schema())


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
    lines += _tables([(f"{NAMESPACE}:", FactorySpec)])
    lines += [
        "# Programme document",
        "",
        "Several sites planned together (`aion plan PROGRAMME`); each site is a site document, as above",
        "(`aion:` keys without their namespace). Schema: `stacks/aion-programme.schema.json`.",
        "",
    ]
    lines += _tables([("(programme)", ProgrammeSpec)], seen={Tenant})
    return "\n".join(lines)


def _tables(pending: list[tuple[str, type[BaseModel]]], seen: set[type[BaseModel]] | None = None) -> list[str]:
    """A table per model, walked from `pending`'s, each model once (`seen`: told elsewhere)."""
    lines: list[str] = []
    seen = set(seen or ())
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
    return lines


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
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin is typing.Literal:
        return " or ".join(f"`{a}`" for a in args)
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


if __name__ == "__main__":
    renderers = {
        "--markdown": render_reference,
        "--plan": render_plan_schema,
        "--site": render_site_schema,
        "--programme": render_programme_schema,
        "--programme-plan": render_programme_plan_schema,
    }
    chosen = [renderers[arg] for arg in sys.argv[1:] if arg in renderers]
    print((chosen[0] if chosen else render_schema)(), end="")
