"""Kueue objects from the plan: flavors, cohorts mirroring the power tree, queues with the planned quotas."""

from typing import Any

from kube_validation import assert_valid, assert_valid_kueue

from aion_factory import load_stack_file, make_plan, spec_from_config
from aion_factory.labels import CLUSTER, FLAVOR, GPU_RESOURCE, HALL, HOSTNAME, POWER_LEVEL, RACK, ROW
from aion_factory.platform import queues
from aion_factory.platform.quantities import binary_quantity, count_quantity
from support import ROOT, view_of

SPEC = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
PLAN = make_plan(SPEC)
VIEW = view_of(SPEC, "local")
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}


def queue_of(tenant: str) -> dict[str, Any]:
    return next(cq for cq, _ in queues.queues_for(VIEW) if cq["metadata"]["name"] == tenant)


def gpu_quotas(cluster_queue: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The GPU resource of each flavor that gives GPUs, whichever resource group it is in."""
    found = {}
    for group in cluster_queue["spec"]["resourceGroups"]:
        for flavor in group["flavors"]:
            gpu = next((r for r in flavor["resources"] if r["name"] == GPU_RESOURCE), None)
            if gpu is not None and flavor["name"] != queues.CPU_FLAVOR:
                found[flavor["name"]] = {k: v for k, v in gpu.items() if k != "name"}
    return found


def with_tas(config: dict[str, Any]) -> dict[str, Any]:
    config["clusters"][0]["kueue"] = {"topology_aware_scheduling": True}
    return config


def test_a_flavor_per_gpu_model_selects_its_pools_and_tolerates_their_taints():
    flavors = {f["metadata"]["name"]: f["spec"] for f in queues.resource_flavors(VIEW)}
    assert set(flavors) == {queues.CPU_FLAVOR, "h100-sxm", "l40s"} == {queues.CPU_FLAVOR, *PLAN.cluster("local").gpus_by_flavor}
    for flavor in ("h100-sxm", "l40s"):
        assert flavors[flavor] == {"nodeLabels": {FLAVOR: flavor}, "tolerations": [GPU_TOLERATION]}
    assert flavors[queues.CPU_FLAVOR] == {}
    assert queues.topologies(VIEW) == []  # TAS is off unless the cluster asks for it


def test_with_tas_every_flavor_stands_in_a_topology_of_the_power_tree(config: dict[str, Any]):
    """The minimal cluster stands in row r of hall h: its GPU nodes carry both."""
    view = view_of(spec_from_config(with_tas(config)), "c")
    flavors = {f["metadata"]["name"]: f["spec"] for f in queues.resource_flavors(view)}
    for flavor in ("h100-sxm", "l4"):
        assert flavors[flavor] == {"nodeLabels": {FLAVOR: flavor}, "tolerations": [GPU_TOLERATION], "topologyName": "power-tree"}
    # A TAS flavor must select a label: every node of the cluster.
    assert flavors[queues.CPU_FLAVOR] == {"nodeLabels": {CLUSTER: "c"}, "topologyName": "nodes"}
    power_tree, nodes = queues.topologies(view)
    assert (power_tree["kind"], power_tree["metadata"]["name"]) == ("Topology", "power-tree")
    assert power_tree["spec"] == {"levels": [{"nodeLabel": HALL}, {"nodeLabel": ROW}, {"nodeLabel": HOSTNAME}]}
    assert nodes["spec"] == {"levels": [{"nodeLabel": HALL}, {"nodeLabel": HOSTNAME}]}
    for pool in view.gpu_pools:
        assert (pool.labels[HALL], pool.labels[ROW]) == ("h", "r")
    for obj in queues.topologies(view) + queues.resource_flavors(view):
        assert_valid_kueue(obj)


def rows_config(config: dict[str, Any]) -> dict[str, Any]:
    """H100 SXM nodes (8 GPUs, 10.2 kW each) in two rows: 4 in row r, 2 in row r2; a tenant of 30.6 kW."""
    config["site"]["halls"][0]["rows"].append({"name": "r2", "it_power_kw": 500})
    config["clusters"][0]["pools"] = [
        {"name": "h100", "node_type": "H100-SXM-8-80G", "size": 4},
        {"name": "h100-b", "node_type": "H100-SXM-8-80G", "size": 2, "row": "r2"},
    ]
    config["tenants"][0]["power_kw"] = 30.6
    return config


def test_a_gpu_flavor_whose_pools_span_two_rows_is_a_flavor_per_row_with_the_rows_quotas(config: dict[str, Any]):
    view = view_of(spec_from_config(with_tas(rows_config(config))), "c")
    flavors = {f["metadata"]["name"]: f["spec"] for f in queues.resource_flavors(view)}
    assert set(flavors) == {queues.CPU_FLAVOR, "h100-sxm.h.r", "h100-sxm.h.r2"}
    assert flavors["h100-sxm.h.r"]["nodeLabels"] == {FLAVOR: "h100-sxm", POWER_LEVEL: "row", ROW: "r"}
    assert flavors["h100-sxm.h.r2"]["nodeLabels"] == {FLAVOR: "h100-sxm", POWER_LEVEL: "row", ROW: "r2"}
    # 30.6 kW over 61.2 kW of GPU pools: half of each row's GPUs, 16 of row r's 32 and 8 of row r2's 16,
    # each within the tenant's kW in that row (20.4 and 10.2 kW).
    [(cluster_queue, _)] = queues.queues_for(view)
    assert {f: q["nominalQuota"] for f, q in gpu_quotas(cluster_queue).items()} == {"h100-sxm.h.r": "16", "h100-sxm.h.r2": "8"}


def test_a_flavor_split_between_a_row_and_the_hall_selects_the_hall_nodes_by_the_level_they_draw_from(config: dict[str, Any]):
    """Nodes that draw from the hall carry no row label: the flavor tells them apart by their power level."""
    config = with_tas(rows_config(config))
    config["clusters"][0].pop("row")
    view = view_of(spec_from_config(config), "c")
    flavors = {f["metadata"]["name"]: f["spec"] for f in queues.resource_flavors(view)}
    assert flavors["h100-sxm.h"]["nodeLabels"] == {FLAVOR: "h100-sxm", POWER_LEVEL: "hall"}
    assert flavors["h100-sxm.h.r2"]["nodeLabels"] == {FLAVOR: "h100-sxm", POWER_LEVEL: "row", ROW: "r2"}
    # Not every GPU node stands in a row: TAS would leave out those without the label, so no row level.
    assert queues.topologies(view)[0]["spec"]["levels"] == [{"nodeLabel": HALL}, {"nodeLabel": HOSTNAME}]


def test_racks_are_a_level_of_the_topology_and_split_a_flavor_like_rows(config: dict[str, Any]):
    config = with_tas(rows_config(config))
    config["site"]["halls"][0]["rows"][0]["racks"] = [{"name": "k1", "it_power_kw": 50}, {"name": "k2", "it_power_kw": 50}]
    config["clusters"][0]["pools"][1] = {"name": "h100-b", "node_type": "H100-SXM-8-80G", "size": 2, "rack": "k2"}
    config["clusters"][0]["pools"][0]["rack"] = "k1"
    view = view_of(spec_from_config(config), "c")
    flavors = {f["metadata"]["name"]: f["spec"] for f in queues.resource_flavors(view)}
    assert flavors["h100-sxm.h.r.k2"]["nodeLabels"] == {FLAVOR: "h100-sxm", POWER_LEVEL: "rack", ROW: "r", RACK: "k2"}
    levels = queues.topologies(view)[0]["spec"]["levels"]
    assert levels == [{"nodeLabel": HALL}, {"nodeLabel": ROW}, {"nodeLabel": RACK}, {"nodeLabel": HOSTNAME}]


def test_flavor_tolerations_follow_each_pools_own_taints(config: dict[str, Any]):
    config["clusters"][0]["pools"][0]["taints"] = [{"key": "dedicated", "effect": "NoExecute"}]
    config["clusters"][0]["pools"][1]["taints"] = []
    spec = spec_from_config(config)
    flavors = {f["metadata"]["name"]: f["spec"] for f in queues.resource_flavors(view_of(spec, "c"))}
    assert flavors["h100-sxm"]["tolerations"] == [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]
    assert "tolerations" not in flavors["l4"]


def test_cohorts_mirror_the_power_tree_from_site_to_hall():
    site, hall = queues.cohorts(VIEW)
    assert (site["metadata"]["name"], site["spec"]) == ("lab", {})
    assert (hall["metadata"]["name"], hall["spec"]) == ("lab-hall-a", {"parentName": "lab"})
    for tenant in SPEC.tenants:
        assert queue_of(tenant.name)["spec"]["cohortName"] == "lab-hall-a"


def test_gpu_quotas_are_the_planners_figures_per_flavor():
    kyutai, mistral = PLAN.tenant("kyutai").quotas_by_cluster["local"], PLAN.tenant("mistral-lab").quotas_by_cluster["local"]
    capacity = PLAN.cluster("local").gpus_by_flavor
    # kyutai: borrowing_limit 0.5, no lending limit (lends all);
    # mistral-lab: lending_limit 0.5, no borrowing limit (may borrow all the cluster has beyond its own).
    assert gpu_quotas(queue_of("kyutai")) == {f: {"nominalQuota": str(n), "borrowingLimit": str(n // 2)} for f, n in kyutai.items()}
    assert gpu_quotas(queue_of("mistral-lab")) == {
        f: {"nominalQuota": str(n), "borrowingLimit": str(capacity[f] - n), "lendingLimit": str(n // 2)} for f, n in mistral.items()
    }
    for flavor, total in capacity.items():
        assert kyutai[flavor] + mistral[flavor] <= total


def test_with_tas_one_resource_group_gives_cpu_and_memory_with_every_flavor_and_gpus_after_the_cpu_flavor(config: dict[str, Any]):
    """Kueue takes a pod's resources from a single TAS flavor: cpu and memory come with the GPUs."""
    spec = spec_from_config(with_tas(config))
    [(cluster_queue, _)] = queues.queues_for(view_of(spec, "c"))
    tenant = spec.tenants[0]
    cpu_memory = [
        {"name": "cpu", "nominalQuota": str(tenant.cpu_quota), "borrowingLimit": "0"},
        {"name": "memory", "nominalQuota": queues.binary_quantity(tenant.memory_quota_gib), "borrowingLimit": "0"},
    ]
    [group] = cluster_queue["spec"]["resourceGroups"]
    assert group["coveredResources"] == ["cpu", "memory", GPU_RESOURCE]
    assert [f["name"] for f in group["flavors"]] == [queues.CPU_FLAVOR, "h100-sxm", "l4"]
    no_gpus = {"name": GPU_RESOURCE, "nominalQuota": "0", "borrowingLimit": "0"}
    assert group["flavors"][0]["resources"] == [*cpu_memory, no_gpus]
    for flavor in group["flavors"][1:]:
        assert flavor["resources"][:2] == cpu_memory
    assert_valid_kueue(cluster_queue)


def test_cpu_and_memory_are_covered_at_the_namespace_quota_without_borrowing():
    tenant = SPEC.tenants[0]
    [group] = [g for g in queue_of(tenant.name)["spec"]["resourceGroups"] if g["coveredResources"] == ["cpu", "memory"]]
    assert group["flavors"] == [
        {
            "name": queues.CPU_FLAVOR,
            "resources": [
                {"name": "cpu", "nominalQuota": str(tenant.cpu_quota), "borrowingLimit": "0"},
                {"name": "memory", "nominalQuota": binary_quantity(tenant.memory_quota_gib), "borrowingLimit": "0"},
            ],
        }
    ]


def test_each_queue_admits_only_its_tenants_namespace_through_a_default_local_queue():
    for cluster_queue, local_queue in queues.queues_for(VIEW):
        tenant = cluster_queue["metadata"]["name"]
        assert cluster_queue["spec"]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": tenant}}
        assert local_queue["metadata"] == {"name": "default", "namespace": tenant}
        assert local_queue["spec"] == {"clusterQueue": tenant}


def test_a_cluster_without_gpus_gets_queues_for_cpu_and_memory_only(config: dict[str, Any]):
    config["clusters"][0]["pools"] = []
    spec = spec_from_config(config)
    [(cluster_queue, _)] = queues.queues_for(view_of(spec, "c"))
    assert [g["coveredResources"] for g in cluster_queue["spec"]["resourceGroups"]] == [["cpu", "memory"]]
    assert [f["metadata"]["name"] for f in queues.resource_flavors(view_of(spec, "c"))] == [queues.CPU_FLAVOR]


def test_priority_classes_and_workload_priority_classes_share_names_and_values():
    workload = {c["metadata"]["name"]: c for c in queues.workload_priority_classes()}
    pods = {c["metadata"]["name"]: c for c in queues.priority_classes()}
    assert list(workload) == list(pods) == ["inference", "training", "batch"]
    assert workload["inference"]["value"] > workload["training"]["value"] > workload["batch"]["value"]
    for name, pod_class in pods.items():
        assert pod_class["value"] == workload[name]["value"] and pod_class["globalDefault"] is False
    assert pods["batch"]["preemptionPolicy"] == "Never"


def test_every_kueue_object_matches_kueues_v1beta2_crds():
    objects = queues.topologies(VIEW) + queues.resource_flavors(VIEW) + queues.cohorts(VIEW) + queues.workload_priority_classes()
    objects += [o for pair in queues.queues_for(VIEW) for o in pair]
    for obj in objects:
        assert obj["apiVersion"] == "kueue.x-k8s.io/v1beta2"
        assert_valid_kueue(obj)
    for obj in queues.priority_classes():
        assert_valid(obj)


def test_memory_is_written_in_kubernetes_canonical_form():
    """Kueue's webhook rewrites a quantity to its canonical form: anything else is a change on every preview."""
    assert [binary_quantity(gib) for gib in (2048, 1024, 1536, 3, 1024 * 1024)] == ["2Ti", "1Ti", "1536Gi", "3Gi", "1Pi"]
    # Counts as the API server stores them: `pods: 1000` comes back as `1k` (a summary comparing them
    # as written once reported every tenant's quota as drifted).
    assert [count_quantity(n) for n in (0, 7, 1000, 1500, 3432, 20_000, 2_000_000)] == ["0", "7", "1k", "1500", "3432", "20k", "2M"]


def test_a_tenant_preempts_another_only_to_reclaim_its_own_quota_never_while_borrowing():
    for tenant in SPEC.tenants:
        cluster_queue = queue_of(tenant.name)
        assert cluster_queue["spec"]["preemption"] == {
            "reclaimWithinCohort": "Any",  # its own nominal quota back, whatever the borrower's priority
            "borrowWithinCohort": {"policy": "Never"},
            "withinClusterQueue": "LowerPriority",  # priority counts among its own workloads only
        }  # valid by Kueue's CRD: test_every_kueue_object_matches_kueues_v1beta2_crds
