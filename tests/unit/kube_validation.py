"""Is a dict a valid Kubernetes object? Built-in kinds round-trip through the
`kubernetes` client's models (an unknown or misspelled field is dropped, a
missing required one raises); Kueue kinds are checked against Kueue's real CRD
schemas (fields, types, enums, patterns; CEL rules are the API server's job)."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient

from aion_factory.devstack.kueue import CRDS, KUEUE_DIR_ENV
from aion_factory.platform.install import KUEUE_VERSION

CRD_GLOB = "kueue.x-k8s.io_*.yaml"


def assert_valid(obj: dict[str, Any]) -> None:
    if obj["apiVersion"].startswith("kueue.x-k8s.io/"):
        assert_valid_kueue(obj)
    else:
        assert_valid_builtin(obj)


def assert_valid_builtin(obj: dict[str, Any]) -> None:
    client = ApiClient()
    version = obj["apiVersion"].rsplit("/", 1)[-1]
    model = client._ApiClient__deserialize(obj, f"{version.capitalize()}{obj['kind']}")  # type: ignore[attr-defined]
    assert client.sanitize_for_serialization(model) == obj, f"{obj['kind']} {obj['metadata']['name']} has fields its model does not know"


def kueue_crds() -> Path | None:
    """Kueue's CRDs in its Go module: where the bootstrap says, else in the toolchain cache or Go's own."""
    toolchain = Path(os.environ.get("AION_TOOLCHAIN_CACHE", Path.home() / ".cache/aion-factory/toolchain")) / "go/mod"
    module = f"sigs.k8s.io/kueue@v{KUEUE_VERSION}"
    candidates = [os.environ.get(KUEUE_DIR_ENV), toolchain / module, Path.home() / "go/pkg/mod" / module]
    for candidate in filter(None, candidates):
        if any((Path(candidate) / CRDS).glob(CRD_GLOB)):
            return Path(candidate) / CRDS
    return None


@cache
def _schemas(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    schemas = {}
    for path in folder.glob(CRD_GLOB):
        crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # the C loader when built: 10x faster
        for version in crd["spec"]["versions"]:
            schemas[(version["name"], crd["spec"]["names"]["kind"])] = version["schema"]["openAPIV3Schema"]
    return schemas


def assert_valid_kueue(obj: dict[str, Any]) -> None:
    folder = kueue_crds()
    if folder is None:
        pytest.skip(f"Kueue's CRDs not found: set {KUEUE_DIR_ENV} (scripts/bootstrap-toolchain.sh does)")
    schema = _schemas(folder)[(obj["apiVersion"].split("/")[1], obj["kind"])]
    errors: list[str] = []
    _check(obj, schema, obj["kind"], errors)
    assert not errors, "\n".join(errors)


def _check(value: Any, schema: dict[str, Any], path: str, errors: list[str]) -> None:
    if schema.get("x-kubernetes-int-or-string"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            errors.append(f"{path}: {value!r} is neither an integer nor a string")
        elif isinstance(value, str) and "pattern" in schema and not re.match(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
        return
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object")
            return
        errors.extend(f"{path}: missing {key}" for key in schema.get("required", []) if key not in value)
        properties = schema.get("properties")
        if properties is not None:
            errors.extend(f"{path}: unknown field {key}" for key in value if key not in properties)
            for key, item in value.items():
                if key in properties:
                    _check(item, properties[key], f"{path}.{key}", errors)
        elif isinstance(schema.get("additionalProperties"), dict):
            for key, item in value.items():
                _check(item, schema["additionalProperties"], f"{path}.{key}", errors)
    elif kind == "array":
        if not isinstance(value, list):
            errors.append(f"{path}: expected an array")
            return
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
            errors.append(f"{path}: {len(value)} items, outside [{schema.get('minItems', 0)}, {schema.get('maxItems')}]")
        for index, item in enumerate(value):
            _check(item, schema["items"], f"{path}[{index}]", errors)
    elif kind == "string":
        if not isinstance(value, str):
            errors.append(f"{path}: {value!r} is not a string")
        elif "enum" in schema and value not in schema["enum"]:
            errors.append(f"{path}: {value!r} not in {schema['enum']}")
        elif "pattern" in schema and not re.match(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    elif kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        errors.append(f"{path}: {value!r} is not an integer")
    elif kind == "boolean" and not isinstance(value, bool):
        errors.append(f"{path}: {value!r} is not a boolean")
