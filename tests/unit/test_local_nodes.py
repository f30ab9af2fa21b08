"""Simulated nodes carry exactly the pool's labels, taints and GPU capacity."""

from aion_factory import load_stack_file
from aion_factory.local.simulated import node_groups, node_manifest
from support import ROOT, view_of


def groups():
    spec = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
    return {g.pool: g for g in node_groups(view_of(spec, "local"))}


def test_one_group_per_pool_at_its_current_size():
    by_pool = groups()
    assert {pool: g.count for pool, g in by_pool.items()} == {"h100": 2, "l40s": 2, "system": 1}
    assert by_pool["h100"].node_names() == ["local-h100-0", "local-h100-1"]


def test_gpu_node_manifest():
    h100 = groups()["h100"]
    node = node_manifest(h100, "local-h100-0")
    assert node["metadata"]["annotations"] == {"kwok.x-k8s.io/node": "fake"}
    assert node["metadata"]["labels"] == {
        "aion-factory.io/pool": "h100",
        "aion-factory.io/cluster": "local",
        "aion-factory.io/gpu-model": "H100-SXM",
        "aion-factory.io/gpu-flavor": "h100-sxm",
        "aion-factory.io/hall": "hall-a",
        "aion-factory.io/row": "row-1",
        "aion-factory.io/gpu-power-cap-w": "600",
        "nvidia.com/gpu.present": "true",
        "kubernetes.io/hostname": "local-h100-0",
        "aion-factory.io/simulated": "true",
        "type": "kwok",
    }
    assert node["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert node["status"]["capacity"] == {"cpu": "128", "memory": "960Gi", "pods": "110", "nvidia.com/gpu": "8"}


def test_user_labels_are_kept_and_system_nodes_have_no_gpu():
    by_pool = groups()
    assert by_pool["l40s"].labels["workload"] == "inference"
    assert by_pool["l40s"].capacity["nvidia.com/gpu"] == "4"
    assert "nvidia.com/gpu" not in by_pool["system"].capacity
    assert by_pool["system"].taints == []
