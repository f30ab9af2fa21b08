"""examples/consumer deployed on the local control plane: a stack of its own that builds
its cluster and tenants from code with the library. Up, what the API server holds, a
no-change preview that the policy pack passes, destroy. The tests run in file order."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client
from program_support import POLICY_PACK, VENV, SourceProject, program_env

from aion_factory import labels
from support import ROOT

sys.path.insert(0, str(ROOT / "examples/consumer"))

from consumer_stack import factory_spec

EXAMPLE = ROOT / "examples/consumer"
PLAN_GPUS = {"chat": "16", "vision": "6"}  # quota + borrowing ceiling, as the planner counts (mocks test)


@pytest.fixture(scope="module")
def consumer(pulumi_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SourceProject]:
    root = tmp_path_factory.mktemp("consumer")
    project_file = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())
    project_file["runtime"]["options"]["virtualenv"] = str(VENV)  # the library is installed there already
    files = {"Pulumi.yaml": yaml.safe_dump(project_file)}
    files |= {name: (EXAMPLE / name).read_text() for name in ("__main__.py", "consumer_stack.py")}
    project = SourceProject(root, program_env(pulumi_env), "dev", files).init()
    project.pulumi("config", "set", "kubeconfig", pulumi_env["AION_LOCAL_KUBECONFIG"])
    project.pulumi("up", "--yes", "--skip-preview")
    yield project
    project.pulumi("destroy", "--yes", "--skip-preview", check=False)  # safety net if a test failed
    shutil.rmtree(root, ignore_errors=True)


def nodes(api_client: Any, pool: str) -> list[Any]:
    selector = f"{labels.CLUSTER}=inference,{labels.POOL}={pool}"
    return list(client.CoreV1Api(api_client).list_node(label_selector=selector).items)


def test_its_pools_are_simulated_nodes_with_their_gpus(consumer: SourceProject, api_client: Any) -> None:
    spec = factory_spec()
    for pool in spec.clusters[0].pools:
        found = nodes(api_client, pool.name)
        assert len(found) == pool.size
        gpus = {"l40s": "4", "l4": "8"}[pool.name]
        assert {n.status.allocatable[labels.GPU_RESOURCE] for n in found} == {gpus}
    assert nodes(api_client, "l4")[0].metadata.labels[labels.POWER_CAP] == "60"


def test_its_tenants_are_namespaces_with_the_planned_gpu_quota(consumer: SourceProject, api_client: Any) -> None:
    core = client.CoreV1Api(api_client)
    for tenant, gpus in PLAN_GPUS.items():
        quota = core.read_namespaced_resource_quota("tenant-quota", tenant)
        assert quota.spec.hard[f"requests.{labels.GPU_RESOURCE}"] == gpus
    outputs = consumer.pulumi("stack", "output", "--json").stdout
    assert '"tenant_namespaces"' in outputs and '"chat"' in outputs and '"vision"' in outputs


def test_a_second_preview_changes_nothing_and_passes_the_policy_pack(consumer: SourceProject) -> None:
    # The pack's power check plans this stack from its `aion-spec` output: it has no aion: config.
    result = consumer.pulumi("preview", "--expect-no-changes", "--policy-pack", str(POLICY_PACK), check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "mandatory" not in result.stdout


def test_destroy_leaves_no_namespace_and_no_node(consumer: SourceProject, api_client: Any) -> None:
    consumer.pulumi("destroy", "--yes", "--skip-preview")
    core = client.CoreV1Api(api_client)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and set(PLAN_GPUS) & {ns.metadata.name for ns in core.list_namespace().items}:
        time.sleep(0.5)
    assert not set(PLAN_GPUS) & {ns.metadata.name for ns in core.list_namespace().items}
    assert core.list_node(label_selector=f"{labels.CLUSTER}=inference").items == []
    assert consumer.resources() == []
