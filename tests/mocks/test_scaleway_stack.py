"""Rung 2: what KapsuleClusterStack registers on Scaleway, child by child, under Pulumi mocks."""

from __future__ import annotations

import copy
from typing import Any

import pulumi

from aion_factory import FactorySpec, Plan, load_stack_file, make_plan, spec_from_config
from aion_factory.scaleway.stack import KapsuleClusterStack
from aion_factory.view import cluster_view
from mocks_support import parent_types
from support import MINIMAL, ROOT

STACK = "aion:scaleway:ClusterStack"
NETWORK = "aion:scaleway:Network"
GPU_POOL = "aion:scaleway:GpuNodePool"
STORAGE = "aion:scaleway:Storage"
POOL = "scaleway:kubernetes/pool:Pool"
TAGS = ["managed-by=aion-factory", "site=s", "hall=h", "cluster=c"]
SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


def three_pool_config() -> dict[str, Any]:
    """MINIMAL's cluster `c` with three GPU pools that exercise every pool option."""
    config = copy.deepcopy(MINIMAL)
    config["clusters"][0].update(
        subnet="172.16.8.0/22",
        storage={"default_class": "sbs-15k", "filesystem_size_gb": 1000},
        pools=[
            {"name": "h100", "node_type": "H100-SXM-8-80G", "size": 4, "min_size": 2, "max_size": 6, "autoscaling": True}
            | {"multi_node_training": True},
            {"name": "l4", "node_type": "L4-8-24G", "size": 2, "taints": [], "labels": {"workload": "inference"}},
            {"name": "b300", "node_type": "B300-SXM-8-288G", "size": 2, "gpu_power_cap_w": 1000, "root_volume_type": "sbs_15k"}
            | {"root_volume_size_gb": 400, "taints": [{"key": "dedicated", "value": "training", "effect": "NoExecute"}]},
        ],
    )
    return config


def spec_and_plan(config: dict[str, Any]) -> tuple[FactorySpec, Plan]:
    spec = spec_from_config(config)
    return spec, make_plan(spec)


def deploy(spec: FactorySpec, plan: Plan, *clusters: str) -> list[KapsuleClusterStack]:
    return [KapsuleClusterStack(name, cluster_view(spec, plan, name)) for name in clusters]


def test_three_pool_cluster_registers_exactly_these_children(run_program):
    spec, plan = spec_and_plan(three_pool_config())
    recorder = run_program(lambda: deploy(spec, plan, "c"))

    assert sorted((r.type, r.name) for r in recorder.resources) == sorted(
        [
            (STACK, "c"),
            (NETWORK, "c-network"),
            ("scaleway:network/vpc:Vpc", "c-network-vpc"),
            ("scaleway:network/privateNetwork:PrivateNetwork", "c-network-pn"),
            ("scaleway:network/publicGateway:PublicGateway", "c-network-gateway"),
            ("scaleway:network/gatewayNetwork:GatewayNetwork", "c-network-gateway-pn"),
            ("scaleway:kubernetes/cluster:Cluster", "c-cluster"),
            ("pulumi:providers:kubernetes", "c-k8s"),
            (POOL, "c-system-pool"),
            (GPU_POOL, "c-h100"),
            ("scaleway:instance/placementGroup:PlacementGroup", "c-h100-placement"),
            (POOL, "c-h100-pool"),
            (GPU_POOL, "c-l4"),
            (POOL, "c-l4-pool"),
            (GPU_POOL, "c-b300"),
            (POOL, "c-b300-pool"),
            (STORAGE, "c-storage"),
            ("scaleway:object/bucket:Bucket", "c-storage-bucket"),
            ("scaleway:index/fileFilesystem:FileFilesystem", "c-storage-fs"),
        ]
    )
    assert parent_types() == {
        "c": "pulumi:pulumi:Stack",
        **dict.fromkeys(["c-network", "c-cluster", "c-k8s", "c-system-pool", "c-h100", "c-l4", "c-b300", "c-storage"], STACK),
        **dict.fromkeys(["c-network-vpc", "c-network-pn", "c-network-gateway", "c-network-gateway-pn"], NETWORK),
        **dict.fromkeys(["c-h100-placement", "c-h100-pool", "c-l4-pool", "c-b300-pool"], GPU_POOL),
        **dict.fromkeys(["c-storage-bucket", "c-storage-fs"], STORAGE),
    }


def test_network_has_the_spec_subnet_and_a_masquerading_gateway(run_program):
    spec, plan = spec_and_plan(three_pool_config())
    recorder = run_program(lambda: deploy(spec, plan, "c"))

    assert recorder.named("c-network-pn").inputs["ipv4Subnet"] == {"subnet": "172.16.8.0/22"}
    assert recorder.named("c-network-pn").inputs["vpcId"] == "c-network-vpc-id"
    gateway_network = recorder.named("c-network-gateway-pn").inputs
    assert gateway_network["enableMasquerade"] is True
    assert gateway_network["ipamConfigs"] == [{"pushDefaultRoute": True}]
    assert (gateway_network["gatewayId"], gateway_network["privateNetworkId"]) == ("c-network-gateway-id", "c-network-pn-id")


def test_cluster_inputs_come_from_the_spec_and_the_plan(run_program):
    spec, plan = spec_and_plan(three_pool_config())
    recorder = run_program(lambda: deploy(spec, plan, "c"))

    cluster = recorder.named("c-cluster").inputs
    assert cluster["privateNetworkId"] == "c-network-pn-id"
    assert (cluster["name"], cluster["type"], cluster["version"], cluster["cni"]) == ("s-c", "kapsule", "1.35", "cilium")
    assert cluster["region"] == "fr-par"
    assert cluster["deleteAdditionalResources"] is False
    assert cluster["autoUpgrade"] == {"enable": True, "maintenanceWindowDay": "sunday", "maintenanceWindowStartHour": 3}
    assert cluster["autoscalerConfig"]["expander"] == "least_waste"
    assert cluster["tags"] == TAGS


def test_gpu_pools_carry_node_type_sizes_taints_labels_and_no_public_ip(run_program):
    spec, plan = spec_and_plan(three_pool_config())
    recorder = run_program(lambda: deploy(spec, plan, "c"))
    pools = {r.inputs["name"]: r.inputs for r in recorder.of_type(POOL)}

    assert sorted(pools) == ["b300", "h100", "l4", "system"]
    for name in ("h100", "l4", "b300", "system"):
        assert pools[name]["clusterId"] == "c-cluster-id"
        assert pools[name]["publicIpDisabled"] is True
        assert pools[name]["zone"] == "fr-par-2"
    h100, l4, b300 = pools["h100"], pools["l4"], pools["b300"]
    assert (h100["nodeType"], h100["size"], h100["minSize"], h100["maxSize"], h100["autoscaling"]) == ("H100-SXM-8-80G", 4, 2, 6, True)
    assert (l4["nodeType"], l4["size"], l4["minSize"], l4["maxSize"], l4["autoscaling"]) == ("L4-8-24G", 2, 0, 2, False)
    assert h100["taints"] == [GPU_TAINT]
    assert l4["taints"] == []
    assert b300["taints"] == [{"key": "dedicated", "value": "training", "effect": "NoExecute"}]
    assert h100["upgradePolicy"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert (b300["rootVolumeType"], b300["rootVolumeSizeInGb"]) == ("sbs_15k", 400)
    assert h100["labels"] == {
        "aion-factory.io/pool": "h100",
        "aion-factory.io/cluster": "c",
        "aion-factory.io/gpu-model": "H100-SXM",
        "aion-factory.io/gpu-flavor": "h100-sxm",
        "aion-factory.io/hall": "h",
        "aion-factory.io/row": "r",
        "aion-factory.io/power-level": "row",
    }
    assert l4["labels"]["workload"] == "inference"
    assert b300["labels"]["aion-factory.io/gpu-power-cap-w"] == "1000"


def test_placement_group_only_where_multi_node_training_asks(run_program):
    spec, plan = spec_and_plan(three_pool_config())
    recorder = run_program(lambda: deploy(spec, plan, "c"))

    [group] = recorder.of_type("scaleway:instance/placementGroup:PlacementGroup")
    assert (group.inputs["policyType"], group.inputs["policyMode"], group.inputs["zone"]) == ("low_latency", "optional", "fr-par-2")
    pools = {r.inputs["name"]: r.inputs for r in recorder.of_type(POOL)}
    assert pools["h100"]["placementGroupId"] == "c-h100-placement-id"
    assert "placementGroupId" not in pools["l4"]
    assert "placementGroupId" not in pools["b300"]


def test_system_pool_is_a_fixed_cpu_pool_without_gpu_labels(run_program):
    spec, plan = spec_and_plan(three_pool_config())
    recorder = run_program(lambda: deploy(spec, plan, "c"))

    system = recorder.named("c-system-pool").inputs
    assert (system["name"], system["nodeType"], system["size"], system["autoscaling"]) == ("system", "POP2-4C-16G", 2, False)
    assert system["labels"] == {"aion-factory.io/pool": "system", "aion-factory.io/cluster": "c", "aion-factory.io/hall": "h"} | {
        "aion-factory.io/row": "r",
        "aion-factory.io/power-level": "row",
    }
    assert "taints" not in system


def test_storage_bucket_and_filesystem_follow_the_spec(run_program):
    spec, plan = spec_and_plan(three_pool_config())
    recorder = run_program(lambda: deploy(spec, plan, "c"))

    bucket = recorder.named("c-storage-bucket").inputs
    assert bucket["versioning"] == {"enabled": True}
    assert [rule["id"] for rule in bucket["lifecycleRules"]] == ["checkpoints-to-glacier", "expire-noncurrent-versions"]
    assert "name" not in bucket  # auto-named: bucket names are shared by every Scaleway customer
    filesystem = recorder.named("c-storage-fs").inputs
    assert (filesystem["sizeInGb"], filesystem["region"]) == (1000, "fr-par")


def test_no_bucket_and_no_filesystem_when_the_spec_says_so(run_program):
    config = copy.deepcopy(MINIMAL)
    config["clusters"][0]["storage"] = {"bucket": {"enabled": False}}
    spec, plan = spec_and_plan(config)
    recorder = run_program(lambda: deploy(spec, plan, "c"))

    assert [r.name for r in recorder.resources if r.name.startswith("c-storage")] == ["c-storage"]


def test_two_clusters_in_one_program_collide_nowhere(run_program):
    config = copy.deepcopy(MINIMAL)
    config["clusters"].append(copy.deepcopy(config["clusters"][0]) | {"name": "d", "subnet": "172.16.4.0/22"})
    spec, plan = spec_and_plan(config)
    recorder = run_program(lambda: deploy(spec, plan, "c", "d"))

    names = [r.name for r in recorder.resources]
    assert len(names) == len(set(names))
    per_cluster = {prefix: sorted(n.removeprefix(prefix) for n in names if n.split("-")[0] == prefix) for prefix in ("c", "d")}
    assert per_cluster["c"] == per_cluster["d"]
    assert len(per_cluster["c"]) == 15
    assert {r.inputs["name"] for r in recorder.of_type("scaleway:kubernetes/cluster:Cluster")} == {"s-c", "s-d"}
    subnets = {r.name: r.inputs["ipv4Subnet"]["subnet"] for r in recorder.of_type("scaleway:network/privateNetwork:PrivateNetwork")}
    assert subnets == {"c-network-pn": "172.16.0.0/22", "d-network-pn": "172.16.4.0/22"}
    d_pools = {r.inputs["clusterId"] for r in recorder.of_type(POOL) if r.name.startswith("d-")}
    assert d_pools == {"d-cluster-id"}


def test_kubeconfig_is_secret_and_feeds_the_provider(run_program):
    spec, plan = spec_and_plan(copy.deepcopy(MINIMAL))
    seen: dict[str, object] = {}

    async def program() -> None:
        [stack] = deploy(spec, plan, "c")
        seen["secret"] = await stack.kubeconfig.is_secret()
        seen["value"] = await stack.kubeconfig.future()
        seen["provider"] = stack.provider

    recorder = run_program(program)

    assert seen["secret"] is True
    assert seen["value"] == "apiVersion: v1\nkind: Config\n"
    assert isinstance(seen["provider"], pulumi.ProviderResource)
    provider_kubeconfig = recorder.named("c-k8s").inputs["kubeconfig"]
    # A secret input reaches the engine wrapped in Pulumi's secret signature (a wire-protocol constant).
    assert provider_kubeconfig == {SIG_KEY: SECRET_SIG, "value": "apiVersion: v1\nkind: Config\n"}


def test_the_production_example_registers_what_the_readme_says(run_program):
    spec = load_stack_file(ROOT / "stacks/Pulumi.dc5-train-1.yaml")
    plan = make_plan(spec)
    recorder = run_program(lambda: deploy(spec, plan, "train-1"))

    assert len(recorder.resources) == 30
    assert recorder.named("train-1-cluster").inputs["type"] == "kapsule"
    assert recorder.named("train-1-network-pn").inputs["ipv4Subnet"] == {"subnet": "172.16.8.0/22"}
    # Both training pools exceed a placement group's 20 nodes: h100 (up to 88) is 5 parts, b300 (48) 3.
    assert len(recorder.of_type("scaleway:instance/placementGroup:PlacementGroup")) == 8
    pools = {r.inputs["name"]: r.inputs for r in recorder.of_type(POOL)}
    assert {name: (p["nodeType"], p["size"], p["maxSize"]) for name, p in pools.items()} == {
        "system": ("POP2-8C-32G", 3, 3),
        **{f"h100-{i}": ("H100-SXM-8-80G", 13 if i < 5 else 12, 18 if i < 4 else 17) for i in range(1, 6)},
        **{f"b300-{i}": ("B300-SXM-8-288G", 16, 16) for i in range(1, 4)},
    }
    assert recorder.named("train-1-storage-fs").inputs["sizeInGb"] == 10_000


def test_a_training_pool_above_20_nodes_registers_placement_grouped_pools_of_at_most_20(run_program):
    config = three_pool_config()
    config["clusters"][0]["pools"][0].update(size=30, min_size=10, max_size=41)  # h100: autoscaling, multi-node training
    spec, plan = spec_and_plan(config)
    recorder = run_program(lambda: deploy(spec, plan, "c"))

    groups = {r.name: r.inputs for r in recorder.of_type("scaleway:instance/placementGroup:PlacementGroup")}
    assert sorted(groups) == ["c-h100-placement-1", "c-h100-placement-2", "c-h100-placement-3"]
    assert [groups[f"c-h100-placement-{i}"]["name"] for i in (1, 2, 3)] == ["s-c-h100-1", "s-c-h100-2", "s-c-h100-3"]
    parts = {r.name: r.inputs for r in recorder.of_type(POOL) if r.inputs["name"].startswith("h100")}
    assert {name: (p["name"], p["size"], p["minSize"], p["maxSize"], p["placementGroupId"]) for name, p in parts.items()} == {
        "c-h100-pool-1": ("h100-1", 10, 4, 14, "c-h100-placement-1-id"),
        "c-h100-pool-2": ("h100-2", 10, 3, 14, "c-h100-placement-2-id"),
        "c-h100-pool-3": ("h100-3", 10, 3, 13, "c-h100-placement-3-id"),
    }
    # One pool to Kubernetes: every part carries the pool's labels (Kueue's flavor, the power-cap DaemonSet select them).
    assert {p["labels"]["aion-factory.io/pool"] for p in parts.values()} == {"h100"}
