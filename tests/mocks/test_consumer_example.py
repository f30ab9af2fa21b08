"""Rung 2: examples/consumer, a stack that builds its cluster from code with the library, under mocks.

Few programs (pulumi/pulumi#7663): the example as shipped, and variants refused before any resource.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import pulumi
import pytest

from aion_factory import FactorySpec, make_plan, spec_from_config
from aion_factory.labels import GPU_RESOURCE
from aion_factory.spec import Tenant
from support import ROOT

sys.path.insert(0, str(ROOT / "examples/consumer"))

import consumer_stack

SPEC = consumer_stack.factory_spec()
PLAN = make_plan(SPEC)
KUBECONFIG = "/tmp/consumer/kubeconfig"
_RUNS: dict[str, Any] = {}


@pytest.fixture
def deployed(run_program: Any, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    if "example" not in _RUNS:
        monkeypatch.setenv("AION_LOCAL_KUBECONFIG", KUBECONFIG)
        _RUNS["example"] = run_program(consumer_stack.deploy)
    return _RUNS["example"]


def test_the_example_fits_its_own_power_tree() -> None:
    assert PLAN.violations == ()
    assert [(level.path, round(level.rated_kw, 1)) for level in PLAN.levels] == [
        ("edge", 4.1),
        ("edge/hall-1", 4.1),
        ("edge/hall-1/row-1", 4.1),
    ]


def test_its_cluster_is_the_local_target_with_simulated_nodes_per_pool(deployed: Any) -> None:
    [cluster] = deployed.of_type("aion:local:Cluster")
    assert cluster.name == "inference"
    [provider] = deployed.of_type("pulumi:providers:kubernetes")
    assert (provider.name, provider.inputs["kubeconfig"]) == ("inference-k8s", KUBECONFIG)
    nodes = {r.name: r.inputs for r in deployed.of_type("pulumi-python:dynamic:Resource")}
    assert sorted(nodes) == ["inference-l4-nodes", "inference-l40s-nodes", "inference-system-nodes"]
    l40s, l4 = nodes["inference-l40s-nodes"], nodes["inference-l4-nodes"]
    assert (l40s["count"], l40s["capacity"][GPU_RESOURCE], l40s["labels"]["workload"]) == (2, "4", "inference")
    assert (l4["count"], l4["capacity"][GPU_RESOURCE], l4["labels"]["aion-factory.io/gpu-power-cap-w"]) == (1, "8", "60")
    assert {n["kubeconfig_path"] for n in nodes.values()} == {KUBECONFIG}


def test_its_tenants_get_namespaces_fenced_with_the_planned_gpu_ceilings(deployed: Any) -> None:
    quotas = {
        r.inputs["metadata"]["namespace"]: r.inputs["spec"]["hard"]
        for r in deployed.of_type("kubernetes:core/v1:ResourceQuota")
        if r.inputs["metadata"]["name"] == "tenant-quota"
    }
    # chat: quota 5+5 plus borrowing 3+3; vision: 2+2 plus 1+1 (borrowing_limit 0.5).
    assert {ns: hard[f"requests.{GPU_RESOURCE}"] for ns, hard in quotas.items()} == {"chat": "16", "vision": "6"}
    assert {ns: PLAN.tenant(ns).gpu_ceiling("inference") for ns in quotas} == {"chat": 16, "vision": 6}
    deny = [r for r in deployed.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if r.inputs["metadata"]["name"] == "default-deny"]
    assert sorted(r.inputs["metadata"]["namespace"] for r in deny) == ["chat", "vision"]
    queues = {r.name for r in deployed.of_type("kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue")}
    assert queues == {"inference-platform-quotas-clusterqueue-chat", "inference-platform-quotas-clusterqueue-vision"}
    for r in deployed.resources:
        if r.type.startswith("kubernetes:"):
            assert r.provider is not None and "::inference-k8s::" in r.provider, r.name


def test_the_exported_spec_plans_back_to_the_same_spec() -> None:
    """The policy pack's power check reads the `aion-spec` output: it must be the spec itself."""
    assert spec_from_config(SPEC.model_dump(mode="json")) == SPEC


def over_budget() -> FactorySpec:
    row = SPEC.site.halls[0].rows[0].model_copy(update={"it_power_kw": 3.0})
    hall = SPEC.site.halls[0].model_copy(update={"rows": (row,)})
    return SPEC.model_copy(update={"site": SPEC.site.model_copy(update={"halls": (hall,)})})


def hostile_tenant() -> FactorySpec:
    """Built in code, so no config reader ran the spec's checks: a tenant over kube-system, for every user."""
    intruder = Tenant(name="kube-system", power_kw=1, clusters=(consumer_stack.CLUSTER,), group="system:authenticated")
    return SPEC.model_copy(update={"tenants": (*SPEC.tenants, intruder)})


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (over_budget, [r"row edge/hall-1/row-1 draws 4\.1 kW rated, over its limit of 3\.0 kW", "nothing was deployed"]),
        (
            hostile_tenant,
            [
                r"aion:tenants\[2\]\.name: 'kube-system' is a reserved namespace \(Kubernetes' own",
                r"aion:tenants\[2\]\.group: 'system:authenticated' is a Kubernetes system group",
            ],
        ),
    ],
    ids=["over budget", "tenant over kube-system"],
)
def test_a_refused_spec_registers_nothing(run_program: Any, spec: Any, expected: list[str]) -> None:
    with pytest.raises(Exception) as refused:
        run_program(lambda: consumer_stack.deploy(spec()))
    for pattern in expected:
        assert re.search(pattern, str(refused.value)), str(refused.value)
    monitor: Any = pulumi.runtime.settings.get_monitor()
    assert list(monitor.get_registered_resources()) == []
