"""The local stack end to end, as a user runs it: up, no-change preview, what the API
server holds and enforces, a resize, destroy. The tests run in file order."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from aion_factory import labels
from engine_support import PulumiProject, deployed, stack_values, wait_for
from support import ROOT

LOCAL_STACK = ROOT / "stacks/Pulumi.local.yaml"
# Each tenant's GPU ceiling by hand (tests/mocks/test_platform.py shows the arithmetic): kyutai's quota
# of 12 H100s and 4 L40S plus half as many to borrow; mistral-lab's 6 and 2 plus the rest of the cluster.
GPU_CEILING = {"kyutai": 24, "mistral-lab": 32}


def pool_nodes(api_client: Any, pool: str) -> list[Any]:
    selector = f"{labels.CLUSTER}=local,{labels.POOL}={pool}"
    return list(client.CoreV1Api(api_client).list_node(label_selector=selector).items)


def is_ready(node: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


@pytest.fixture(scope="module")
def project(new_project: Any) -> Iterator[PulumiProject]:
    yield from deployed(new_project, "local", stack_values(LOCAL_STACK))


def test_no_change_preview_after_up(project: PulumiProject) -> None:
    project.pulumi("preview", "--expect-no-changes")


def test_the_stack_outputs_what_a_consumer_reads_and_keeps_kubeconfigs_secret(project: PulumiProject) -> None:
    outputs = json.loads(project.pulumi("stack", "output", "--json").stdout)
    assert outputs["clusters"]["local"]["local_queues"] == {"kyutai": "default", "mistral-lab": "default"}
    assert outputs["clusters"]["local"]["id"] is None  # the local target makes no cloud cluster
    assert outputs["kubeconfigs"] == "[secret]"
    assert outputs["plan"]["fits"] is True and [c["name"] for c in outputs["plan"]["clusters"]] == ["local"]


def test_simulated_gpu_nodes_are_ready_with_capacity_and_labels(project: PulumiProject, api_client: Any) -> None:
    for pool, gpus, flavor in (("h100", "8", "h100-sxm"), ("l40s", "4", "l40s")):
        nodes = wait_for(lambda pool=pool: (n := pool_nodes(api_client, pool)) and all(map(is_ready, n)) and n, what=f"{pool} Ready")
        assert len(nodes) == 2
        for node in nodes:
            assert node.status.allocatable[labels.GPU_RESOURCE] == gpus
            assert node.metadata.labels[labels.FLAVOR] == flavor
            assert [(t.key, t.effect) for t in node.spec.taints] == [("nvidia.com/gpu", "NoSchedule")]
    assert pool_nodes(api_client, "h100")[0].metadata.labels[labels.POWER_CAP] == "600"


def gpu_pod(name: str, gpus: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [
                {
                    "name": "train",
                    "image": "registry.invalid/train:1",
                    "resources": {"requests": {labels.GPU_RESOURCE: str(gpus), "cpu": "1", "memory": "1Gi"},
                                  "limits": {labels.GPU_RESOURCE: str(gpus), "cpu": "1", "memory": "1Gi"}},
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }
            ],
        },
    }  # fmt: skip


def test_pod_over_the_tenant_gpu_quota_is_refused(project: PulumiProject, api_client: Any) -> None:
    core = client.CoreV1Api(api_client)
    ceiling = GPU_CEILING["kyutai"]  # its quota plus what it may borrow
    wait_for(lambda: core.read_namespaced_service_account("default", "kyutai"), what="tenant service account")
    core.create_namespaced_pod("kyutai", gpu_pod("fits", ceiling))  # exactly the ceiling is admitted
    with pytest.raises(client.ApiException) as refused:
        core.create_namespaced_pod("kyutai", gpu_pod("over", 1))
    assert refused.value.status == 403
    assert "exceeded quota: tenant-quota" in refused.value.body
    assert f"requested: requests.{labels.GPU_RESOURCE}=1, used: requests.{labels.GPU_RESOURCE}={ceiling}" in refused.value.body
    core.delete_namespaced_pod("fits", "kyutai", grace_period_seconds=0)
    used = f"requests.{labels.GPU_RESOURCE}"
    # The quota controller frees its GPUs asynchronously: the next test's pod must not find them taken.
    wait_for(lambda: (core.read_namespaced_resource_quota("tenant-quota", "kyutai").status.used or {}).get(used) == "0", what="GPUs freed")


def test_tenant_service_account_cannot_create_pods_in_another_tenant(project: PulumiProject, control_plane: Any) -> None:
    from kubernetes import config

    impersonated = config.new_client_from_config(config_file=str(control_plane.kubeconfig))
    impersonated.set_default_header("Impersonate-User", "system:serviceaccount:kyutai:kyutai")
    core = client.CoreV1Api(impersonated)
    with pytest.raises(client.ApiException) as forbidden:
        core.create_namespaced_pod("mistral-lab", gpu_pod("intruder", 1))
    assert forbidden.value.status == 403 and "forbidden" in forbidden.value.body.lower()
    created = core.create_namespaced_pod("kyutai", gpu_pod("own", 1), dry_run="All")  # its own namespace is fine
    assert created.metadata.namespace == "kyutai"


def test_the_summary_make_local_prints_is_what_the_api_server_holds(project: PulumiProject, control_plane: Any, capsys: Any) -> None:
    from aion_factory.devstack import show

    assert show.main(["--kubeconfig", str(control_plane.kubeconfig)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split() for line in printed if line.startswith("local/")] == [
        ["local/h100", "2", "2", "16"],
        ["local/l40s", "2", "2", "8"],
        ["local/system", "1", "1", "0"],
    ]
    start = printed.index(next(line for line in printed if line.startswith("tenant namespace")))
    section = printed[start + 1 : printed.index("", start)]
    assert dict(line.split() for line in section) == {name: str(gpus) for name, gpus in GPU_CEILING.items()}


def test_resizing_a_pool_changes_its_node_count_and_nothing_else(project: PulumiProject, api_client: Any) -> None:
    values = copy.deepcopy(stack_values(LOCAL_STACK))
    values["clusters"][0]["pools"][0]["size"] = 3  # h100 autoscales to 3: its rated power, and so quotas, stay put
    project.write_config(values)
    changed = [step for step in project.preview_steps() if step["op"] != "same"]
    assert [(s["op"], s["urn"].rsplit("::", 1)[1]) for s in changed] == [("update", "local-h100-nodes")]
    project.pulumi("up", "--yes", "--skip-preview")
    assert (
        len(
            wait_for(
                lambda: [n for n in pool_nodes(api_client, "h100") if is_ready(n)] if len(pool_nodes(api_client, "h100")) == 3 else None
            )
        )
        == 3
    )
    assert len(pool_nodes(api_client, "l40s")) == 2


def test_destroy_leaves_no_tenant_namespace_and_no_simulated_node(project: PulumiProject, api_client: Any) -> None:
    project.pulumi("destroy", "--yes", "--skip-preview")
    core = client.CoreV1Api(api_client)
    tenants = {"kyutai", "mistral-lab"}
    wait_for(lambda: not tenants & {ns.metadata.name for ns in core.list_namespace().items}, what="tenant namespaces gone")
    assert core.list_node(label_selector=labels.POOL).items == []
