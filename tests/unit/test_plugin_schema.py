"""The plugin package's schema, inferred from the components' type hints, without the engine.

It is what `pulumi package add provider/` gives other languages: a change here is a
change of their API, so it is pinned.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from support import ROOT

sys.path.insert(0, str(ROOT / "provider"))

import aion_provider
from pulumi.provider.experimental.component import ComponentProvider

from aion_factory import __version__

SCHEMA: dict[str, Any] = json.loads(
    ComponentProvider(aion_provider.COMPONENTS, aion_provider.PACKAGE, "aion-factory", aion_provider.VERSION).schema or "{}"
)


def test_the_package_is_named_and_versioned() -> None:
    assert (SCHEMA["name"], SCHEMA["version"], SCHEMA["namespace"]) == ("aion-factory", __version__, "aion-factory")
    assert sorted(SCHEMA["resources"]) == ["aion-factory:index:FactoryCluster", "aion-factory:index:PowerPlan"]


def test_factory_cluster_takes_the_aion_config_shape_as_plain_values() -> None:
    cluster = SCHEMA["resources"]["aion-factory:index:FactoryCluster"]
    inputs = cluster["inputProperties"]
    assert sorted(cluster["requiredInputs"]) == ["cluster", "clusters", "site"]
    # Plain: the plan is computed at construction, so the values must be known then.
    assert all(prop.get("plain") is True for prop in inputs.values())
    assert (inputs["site"]["type"], inputs["site"]["additionalProperties"]["$ref"]) == ("object", "pulumi.json#/Any")
    assert (inputs["clusters"]["type"], inputs["clusters"]["items"]["type"]) == ("array", "object")
    assert inputs["kubeconfig"]["type"] == "string" and "kueueCrds" not in inputs  # Kueue comes with the cluster
    outputs = cluster["properties"]
    assert (outputs["tenantNamespaces"]["type"], outputs["tenantNamespaces"]["items"]["type"]) == ("array", "string")
    assert outputs["gpusByFlavor"]["additionalProperties"]["type"] == "integer"
    # What a consumer in any language looks up: always there, or (per target) unset.
    assert (outputs["localQueues"]["type"], outputs["localQueues"]["additionalProperties"]["type"]) == ("object", "string")
    assert {name: outputs[name]["type"] for name in ("kubeconfig", "clusterId", "privateNetworkId", "bucket")} == dict.fromkeys(
        ("kubeconfig", "clusterId", "privateNetworkId", "bucket"), "string"
    )
    assert sorted(cluster["required"]) == ["gpusByFlavor", "localQueues", "ratedKw", "tenantNamespaces"]


def test_power_plan_outputs_the_verdict_and_its_figures() -> None:
    plan = SCHEMA["resources"]["aion-factory:index:PowerPlan"]
    assert plan["requiredInputs"] == ["site"]
    assert {name: prop["type"] for name, prop in plan["properties"].items()} == {
        "fits": "boolean",
        "violations": "array",
        "itBudgetKw": "number",
        "ratedItKw": "number",
        "h100EquivalentsFp8": "number",
    }
