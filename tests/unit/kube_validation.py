"""Is a dict a valid Kubernetes object? Built-in kinds round-trip through the
`kubernetes` client's models (an unknown or misspelled field is dropped, a
missing required one raises); Kueue kinds are checked against Kueue's real CRD
schemas (fields, types, enums, patterns; CEL rules are the API server's job)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
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
    errors = sorted(f"{obj['kind']}.{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(schema).iter_errors(obj))
    assert not errors, "\n".join(errors)


def _validator(openapi: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A JSON Schema validator for a CRD's structural OpenAPI schema, read as the API server reads it:
    a field the schema does not list is an error (the API server would prune it, silently), and
    `x-kubernetes-int-or-string` is an integer or a string."""
    return jsonschema.Draft4Validator(_as_json_schema(openapi))


def _as_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _as_json_schema(value) for key, value in node.items()}
    if converted.pop("x-kubernetes-int-or-string", False):
        converted["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False
    return converted
