"""Kueue objects from the plan: flavors, cohorts mirroring the power tree, queues with the planned quotas."""

from typing import Any

from kube_validation import assert_valid, assert_valid_kueue

from aion_factory import load_stack_file, make_plan, spec_from_config
from aion_factory.labels import GPU_RESOURCE, flavor_selector
from aion_factory.platform import queues
from aion_factory.platform.quantities import binary_quantity
from support import ROOT, view_of

SPEC = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
PLAN = make_plan(SPEC)
VIEW = view_of(SPEC, "local")
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}


def queue_of(tenant: str) -> dict[str, Any]:
    return next(cq for cq, _ in queues.queues_for(VIEW) if cq["metadata"]["name"] == tenant)


def gpu_quotas(cluster_queue: dict[str, Any]) -> dict[str, dict[str, str]]:
    [group] = [g for g in cluster_queue["spec"]["resourceGroups"] if g["coveredResources"] == [GPU_RESOURCE]]
    return {f["name"]: {k: v for k, v in f["resources"][0].items() if k != "name"} for f in group["flavors"]}


def test_a_flavor_per_gpu_model_selects_its_pools_and_tolerates_their_taints():
    flavors = {f["metadata"]["name"]: f["spec"] for f in queues.resource_flavors(VIEW)}
    assert set(flavors) == {queues.CPU_FLAVOR, "h100-sxm", "l40s"} == {queues.CPU_FLAVOR, *PLAN.cluster("local").gpus_by_flavor}
    for flavor in ("h100-sxm", "l40s"):
        assert flavors[flavor] == {"nodeLabels": flavor_selector(flavor), "tolerations": [GPU_TOLERATION]}
    assert flavors[queues.CPU_FLAVOR] == {}


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
    objects = queues.resource_flavors(VIEW) + queues.cohorts(VIEW) + queues.workload_priority_classes()
    objects += [o for pair in queues.queues_for(VIEW) for o in pair]
    for obj in objects:
        assert obj["apiVersion"] == "kueue.x-k8s.io/v1beta2"
        assert_valid_kueue(obj)
    for obj in queues.priority_classes():
        assert_valid(obj)


def test_memory_is_written_in_kubernetes_canonical_form():
    """Kueue's webhook rewrites a quantity to its canonical form: anything else is a change on every preview."""
    assert [binary_quantity(gib) for gib in (2048, 1024, 1536, 3, 1024 * 1024)] == ["2Ti", "1Ti", "1536Gi", "3Gi", "1Pi"]


def test_a_tenant_preempts_another_only_to_reclaim_its_own_quota_never_while_borrowing():
    for tenant in SPEC.tenants:
        cluster_queue = queue_of(tenant.name)
        assert cluster_queue["spec"]["preemption"] == {
            "reclaimWithinCohort": "Any",  # its own nominal quota back, whatever the borrower's priority
            "borrowWithinCohort": {"policy": "Never"},
            "withinClusterQueue": "LowerPriority",  # priority counts among its own workloads only
        }  # valid by Kueue's CRD: test_every_kueue_object_matches_kueues_v1beta2_crds
