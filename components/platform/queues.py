"""Power-aware GPU quotas as Kueue v1beta2 objects, derived from the plan.

Field names follow Kueue v0.17.0's CRDs (config/components/crd/bases): a
ClusterQueue names its cohort with `cohortName`, a Cohort its parent with
`parentName`, and a WorkloadPriorityClass carries `value` at the top level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..labels import GPU_RESOURCE, flavor_selector
from ..planner import Plan, TenantPlan
from ..spec import FactorySpec, Taint
from ..spec import Tenant as TenantSpec
from .tenancy import tenant_namespace, tenants_on

KUEUE_API = "kueue.x-k8s.io/v1beta2"
# cpu and memory have their own flavor on any node: Kueue refuses a workload that
# requests a resource its ClusterQueue does not cover.
CPU_FLAVOR = "default-flavor"
# Kueue (LocalQueueDefaulting, GA in v0.17) sends jobs without a queue-name label to the LocalQueue named `default`.
LOCAL_QUEUE = "default"


@dataclass(frozen=True)
class WorkloadClass:
    name: str
    value: int
    description: str
    preempts: bool = True


# One scale for kube-scheduler (PriorityClass) and Kueue (WorkloadPriorityClass):
# serving first, then training, then batch, which never preempts.
WORKLOAD_CLASSES = (
    WorkloadClass("inference", 1000, "Serving: latency-bound, preempts training and batch."),
    WorkloadClass("training", 500, "Training: checkpointed, preempts batch."),
    WorkloadClass("batch", 100, "Batch: runs on what is left and never preempts.", preempts=False),
)


def cohort_names(spec: FactorySpec, cluster: str) -> tuple[str, str]:
    """(site cohort, hall cohort) for the cluster's hall."""
    site = spec.site.name
    return site, f"{site}-{spec.cluster(cluster).hall}"


def gpu_flavors(plan: Plan, cluster: str) -> list[str]:
    return sorted(plan.cluster(cluster).gpus_by_flavor)


def resource_flavors(spec: FactorySpec, plan: Plan, cluster: str) -> list[dict[str, Any]]:
    pools = {p.name: p for p in spec.cluster(cluster).pools}
    flavors = [_kueue("ResourceFlavor", CPU_FLAVOR, {})]
    for flavor in gpu_flavors(plan, cluster):
        taints: dict[tuple[str, str, str], Taint] = {}
        for planned in plan.pools_of(cluster):
            if planned.flavor == flavor:
                taints.update({(t.key, t.value, t.effect): t for t in pools[planned.name].effective_taints})
        spec_: dict[str, Any] = {"nodeLabels": flavor_selector(flavor)}
        if taints:
            spec_["tolerations"] = [toleration(t) for _, t in sorted(taints.items())]
        flavors.append(_kueue("ResourceFlavor", flavor, spec_))
    return flavors


def cohorts(spec: FactorySpec, cluster: str) -> list[dict[str, Any]]:
    """The power tree down to the cluster's hall: tenants of one hall borrow the power they share."""
    site, hall = cohort_names(spec, cluster)
    return [_kueue("Cohort", site, {}), _kueue("Cohort", hall, {"parentName": site})]


def cluster_queue(spec: FactorySpec, plan: Plan, cluster: str, tenant: TenantSpec) -> dict[str, Any]:
    planned = plan.tenant(tenant.name)
    cpu_memory = {
        "coveredResources": ["cpu", "memory"],
        "flavors": [
            {
                "name": CPU_FLAVOR,
                # The namespace's ResourceQuota caps these anyway: borrowing them would only admit pods it refuses.
                "resources": [
                    {"name": "cpu", "nominalQuota": str(tenant.cpu_quota), "borrowingLimit": "0"},
                    {"name": "memory", "nominalQuota": f"{tenant.memory_quota_gib}Gi", "borrowingLimit": "0"},
                ],
            }
        ],
    }
    groups = [cpu_memory]
    flavors = gpu_flavors(plan, cluster)
    if flavors:
        groups.append({"coveredResources": [GPU_RESOURCE], "flavors": [_gpu_quota(f, planned, cluster) for f in flavors]})
    ns = tenant_namespace(tenant.name)
    return _kueue(
        "ClusterQueue",
        tenant.name,
        {
            "cohortName": cohort_names(spec, cluster)[1],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
            # A tenant gets its allotment back from borrowers when it needs it.
            "preemption": {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"},
            "resourceGroups": groups,
        },
    )


def local_queue(tenant: TenantSpec) -> dict[str, Any]:
    obj = _kueue("LocalQueue", LOCAL_QUEUE, {"clusterQueue": tenant.name})
    obj["metadata"]["namespace"] = tenant_namespace(tenant.name)
    return obj


def workload_priority_classes() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": KUEUE_API,
            "kind": "WorkloadPriorityClass",
            "metadata": {"name": c.name},
            "value": c.value,
            "description": c.description,
        }
        for c in WORKLOAD_CLASSES
    ]


def priority_classes() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": c.name},
            "value": c.value,
            "globalDefault": False,
            "preemptionPolicy": "PreemptLowerPriority" if c.preempts else "Never",
            "description": c.description,
        }
        for c in WORKLOAD_CLASSES
    ]


def queues_for(spec: FactorySpec, plan: Plan, cluster: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(ClusterQueue, LocalQueue) for each tenant on the cluster."""
    return [(cluster_queue(spec, plan, cluster, t), local_queue(t)) for t in tenants_on(spec, cluster)]


def toleration(taint: Taint) -> dict[str, str]:
    if taint.value:
        return {"key": taint.key, "operator": "Equal", "value": taint.value, "effect": taint.effect}
    return {"key": taint.key, "operator": "Exists", "effect": taint.effect}


def _gpu_quota(flavor: str, planned: TenantPlan, cluster: str) -> dict[str, Any]:
    """The planner's figures: nominal quota, what it may borrow, and what it may lend (when limited)."""
    resource: dict[str, Any] = {
        "name": GPU_RESOURCE,
        "nominalQuota": str(planned.quotas_by_cluster.get(cluster, {}).get(flavor, 0)),
        "borrowingLimit": str(planned.borrowing_by_cluster.get(cluster, {}).get(flavor, 0)),
    }
    if planned.lending_by_cluster is not None:
        resource["lendingLimit"] = str(planned.lending_by_cluster.get(cluster, {}).get(flavor, 0))
    return {"name": flavor, "resources": [resource]}


def _kueue(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": KUEUE_API, "kind": kind, "metadata": {"name": name}, "spec": spec}
