"""Rung 2: the plugin package's components built in-process under mocks, with the args
a Construct call hands them (plain dicts, numbers as floats, as they arrive over the wire)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from aion_factory import load_stack_file, make_plan
from aion_factory.labels import GPU_RESOURCE
from support import ROOT

sys.path.insert(0, str(ROOT / "provider"))

from aion_provider import FactoryCluster, PowerPlan
from aion_provider.errors import ComponentRefused

LOCAL = {
    key.removeprefix("aion:"): value
    for key, value in yaml.safe_load((ROOT / "stacks/Pulumi.local.yaml").read_text())["config"].items()
    if key.startswith("aion:")
}
PLAN = make_plan(load_stack_file(ROOT / "stacks/Pulumi.local.yaml"))


def as_wire(value: Any) -> Any:
    """Integers become floats on the wire (google.protobuf.Struct has only doubles)."""
    if isinstance(value, dict):
        return {k: as_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_wire(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def test_factory_cluster_on_the_local_target_builds_the_cluster_and_its_platform(run_program: Any, tmp_path: Path) -> None:
    args = {**as_wire(LOCAL), "cluster": "local", "kubeconfig": "/state/kubeconfig"}
    recorder = run_program(lambda: FactoryCluster("lab", args))  # type: ignore[arg-type]
    [component] = recorder.of_type("aion-factory:index:FactoryCluster")
    assert component.name == "lab"
    assert [r.name for r in recorder.of_type("aion:local:Cluster")] == ["lab"]
    assert [r.name for r in recorder.of_type("aion:platform:ClusterPlatform")] == ["lab-platform"]
    [provider] = recorder.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == "/state/kubeconfig"
    nodes = {r.name: r.inputs["count"] for r in recorder.of_type("pulumi-python:dynamic:Resource")}
    assert nodes == {"lab-h100-nodes": 2, "lab-l40s-nodes": 2, "lab-system-nodes": 1}
    quotas = {
        r.inputs["metadata"]["namespace"]: r.inputs["spec"]["hard"]
        for r in recorder.of_type("kubernetes:core/v1:ResourceQuota")
        if r.inputs["metadata"]["name"] == "tenant-quota"
    }
    assert {ns: int(hard[f"requests.{GPU_RESOURCE}"]) for ns, hard in quotas.items()} == {
        t.name: t.gpu_ceiling("local") for t in PLAN.tenants
    }


def test_factory_cluster_refuses_an_over_budget_spec_before_registering_anything(run_program: Any) -> None:
    spec = copy.deepcopy(LOCAL)
    spec["site"]["halls"][0]["rows"][0]["it_power_kw"] = 25
    with pytest.raises(ComponentRefused, match=r"row lab/hall-a/row-1 draws 31\.5 kW rated, over its limit of 25\.0 kW"):
        run_program(lambda: FactoryCluster("lab", {**spec, "cluster": "local", "kubeconfig": "/k"}))  # type: ignore[arg-type]
    monitor: Any = pulumi.runtime.settings.get_monitor()
    assert list(monitor.get_registered_resources()) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cluster": "elsewhere"}, "cluster 'elsewhere' is not in the spec; clusters: local"),
        ({"site": {"name": "lab"}}, "aion:site.facility_power_mw: required key is missing"),
    ],
)
def test_factory_cluster_names_what_is_wrong(change: dict[str, Any], message: str) -> None:
    args = {**copy.deepcopy(LOCAL), "cluster": "local", "kubeconfig": "/k", **change}
    with pytest.raises(ComponentRefused) as refused:
        FactoryCluster("lab", args)  # type: ignore[arg-type]
    assert message in str(refused.value) and "nothing was registered" in str(refused.value)


def test_power_plan_reports_the_planners_figures(run_program: Any) -> None:
    found: dict[str, Any] = {}

    def program() -> None:
        plan = PowerPlan("site", as_wire(LOCAL))  # type: ignore[arg-type]
        pulumi.Output.all(plan.fits, plan.rated_it_kw, plan.it_budget_kw, plan.violations).apply(
            lambda values: found.update(zip(("fits", "rated", "budget", "violations"), values, strict=True))
        )

    recorder = run_program(program)
    assert [r.type for r in recorder.resources] == ["aion-factory:index:PowerPlan"]
    assert found == {"fits": True, "rated": round(PLAN.site.rated_it_kw, 3), "budget": 80.0, "violations": []}
