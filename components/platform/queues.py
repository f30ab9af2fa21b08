"""Power-aware GPU quotas as Kueue v1beta2 objects, derived from the plan.

Field names follow Kueue v0.17.0's CRDs (config/components/crd/bases): a
ClusterQueue names its cohort with `cohortName`, a Cohort its parent with
`parentName`, a WorkloadPriorityClass carries `value` at the top level, and a
ResourceFlavor names its Topology with `topologyName`.

With Topology Aware Scheduling (TAS, beta and on by default in Kueue v0.17), a
Topology lists the levels of the power tree as node labels and every flavor of a
ClusterQueue references one: Kueue assigns a workload's pods to nodes itself, and a
job may ask for one row or rack (`kueue.x-k8s.io/podset-required-topology`). Kueue
then wants each pod's resources from a single TAS flavor, and a ClusterQueue whose
flavors are all TAS ones, or a job without that annotation could not use them
(pkg/scheduler/flavorassigner/tas_flavorassigner.go): so cpu, memory and GPUs go
in one resource group, each flavor with the tenant's cpu and memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..labels import CLUSTER, GPU_RESOURCE, NODE_TOPOLOGY_LEVELS
from ..planner import FlavorQuota
from ..spec import Taint
from ..view import ClusterView, TenantView
from .quantities import binary_quantity, count_quantity

KUEUE_API = "kueue.x-k8s.io/v1beta2"
# cpu and memory have their own flavor on any node: Kueue refuses a workload that
# requests a resource its ClusterQueue does not cover.
CPU_FLAVOR = "default-flavor"
# Kueue (LocalQueueDefaulting, GA in v0.17) sends jobs without a queue-name label to the LocalQueue named `default`.
LOCAL_QUEUE = "default"
# The Topologies: the power tree the GPU flavors stand in, and the nodes cpu and memory's flavor spans.
TOPOLOGY = "power-tree"
NODE_TOPOLOGY = "nodes"


@dataclass(frozen=True)
class WorkloadClass:
    name: str
    value: int
    description: str
    preempts: bool = True


# One scale for kube-scheduler (PriorityClass) and Kueue (WorkloadPriorityClass): serving first, then
# training, then batch, which never preempts. kube-scheduler preempts across namespaces on a full node,
# so a tenant uses a class only when granted it (`Tenant.priority_classes`; `inference` never by default).
WORKLOAD_CLASSES = (
    WorkloadClass("inference", 1000, "Serving: latency-bound, preempts training and batch."),
    WorkloadClass("training", 500, "Training: checkpointed, preempts batch."),
    WorkloadClass("batch", 100, "Batch: runs on what is left and never preempts.", preempts=False),
)


def topologies(view: ClusterView) -> list[dict[str, Any]]:
    """With TAS: the GPU flavors' Topology (the power tree's levels, then the node), and cpu and memory's."""
    if not view.topology_levels:
        return []
    return [
        _kueue("Topology", TOPOLOGY, {"levels": [{"nodeLabel": label} for label in view.topology_levels]}),
        _kueue("Topology", NODE_TOPOLOGY, {"levels": [{"nodeLabel": label} for label in NODE_TOPOLOGY_LEVELS]}),
    ]


def resource_flavors(view: ClusterView) -> list[dict[str, Any]]:
    """cpu and memory's flavor, then one per Kueue GPU flavor: its nodes, the taints its pods must
    tolerate, and with TAS its Topology. A TAS flavor selects at least one label (Kueue refuses
    one without): cpu and memory's then selects the cluster's nodes."""
    tas = bool(view.topology_levels)
    flavors = [_kueue("ResourceFlavor", CPU_FLAVOR, {"nodeLabels": {CLUSTER: view.name}, "topologyName": NODE_TOPOLOGY} if tas else {})]
    for flavor in view.flavors:
        spec: dict[str, Any] = {"nodeLabels": dict(flavor.node_labels)}
        if flavor.taints:
            spec["tolerations"] = [toleration(t) for t in flavor.taints]
        if tas:
            spec["topologyName"] = TOPOLOGY
        flavors.append(_kueue("ResourceFlavor", flavor.name, spec))
    return flavors


def cohorts(view: ClusterView) -> list[dict[str, Any]]:
    """The power tree down to the cluster's hall: tenants of one hall borrow the power they share."""
    return [_kueue("Cohort", view.site_cohort, {}), _kueue("Cohort", view.hall_cohort, {"parentName": view.site_cohort})]


# Kueue v0.17 evicts nothing when a nominal quota is lowered (kubernetes-sigs/kueue#5176 asks for it): a queue a
# power event stops is held and drained, its admitted workloads evicted to wait; None again readmits them.
STOP_POLICY = "HoldAndDrain"


def cluster_queue(view: ClusterView, tenant: TenantView) -> dict[str, Any]:
    if view.topology_levels and tenant.gpu_quotas:
        # One group, cpu and memory's flavor first (no GPUs: a GPU pod moves on to a GPU flavor); each
        # GPU flavor gives the tenant's cpu and memory with its GPUs, the ResourceQuota capping their sum.
        no_gpus = {"name": GPU_RESOURCE, "nominalQuota": "0", "borrowingLimit": "0"}
        flavors = [{"name": CPU_FLAVOR, "resources": [*_cpu_memory(tenant), no_gpus]}]
        flavors += [{**entry, "resources": [*_cpu_memory(tenant), *entry["resources"]]} for entry in map(_gpu_quota, tenant.gpu_quotas)]
        groups = [{"coveredResources": ["cpu", "memory", GPU_RESOURCE], "flavors": flavors}]
    else:
        groups = [{"coveredResources": ["cpu", "memory"], "flavors": [{"name": CPU_FLAVOR, "resources": _cpu_memory(tenant)}]}]
        if tenant.gpu_quotas:
            groups.append({"coveredResources": [GPU_RESOURCE], "flavors": [_gpu_quota(q) for q in tenant.gpu_quotas]})
    spec: dict[str, Any] = {
        "cohortName": view.hall_cohort,
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": tenant.namespace}},
        "preemption": preemption(),
        "resourceGroups": groups,
    }
    if tenant.stopped:
        spec["stopPolicy"] = STOP_POLICY
    return _kueue("ClusterQueue", tenant.name, spec)


def preemption() -> dict[str, Any]:
    """Whom a tenant's workloads may preempt in Kueue (v1beta2 ClusterQueuePreemption, Kueue v0.17).

    Another tenant's only to take back the tenant's own nominal quota from a borrower (`reclaimWithinCohort:
    Any`: whatever the borrower's priority, so no priority a tenant picks reaches past its quota; with fair
    sharing, what its strategies allow). Never to borrow (`borrowWithinCohort: Never`, Kueue's default,
    written out: a borrower preempting others' workloads is the escalation it would be). Within its own
    ClusterQueue, by priority. So a WorkloadPriorityClass orders a tenant's own work, and nobody else's.
    """
    return {"reclaimWithinCohort": "Any", "borrowWithinCohort": {"policy": "Never"}, "withinClusterQueue": "LowerPriority"}


def local_queue(tenant: TenantView) -> dict[str, Any]:
    obj = _kueue("LocalQueue", LOCAL_QUEUE, {"clusterQueue": tenant.name})
    obj["metadata"]["namespace"] = tenant.namespace
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


def queues_for(view: ClusterView) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(ClusterQueue, LocalQueue) for each tenant on the cluster."""
    return [(cluster_queue(view, t), local_queue(t)) for t in view.tenants]


def local_queue_names(view: ClusterView) -> dict[str, str]:
    """Each tenant namespace's LocalQueue, read from the objects the platform creates: where a
    job names its queue (`kueue.x-k8s.io/queue-name`), or lands without one."""
    return {local["metadata"]["namespace"]: local["metadata"]["name"] for _, local in queues_for(view)}


def toleration(taint: Taint) -> dict[str, str]:
    if taint.value:
        return {"key": taint.key, "operator": "Equal", "value": taint.value, "effect": taint.effect}
    return {"key": taint.key, "operator": "Exists", "effect": taint.effect}


def _cpu_memory(tenant: TenantView) -> list[dict[str, str]]:
    """The namespace's cpu and memory, not borrowed: its ResourceQuota caps them anyway, and borrowing
    them would only admit pods it refuses."""
    return [
        {"name": "cpu", "nominalQuota": count_quantity(tenant.cpu_quota), "borrowingLimit": "0"},
        {"name": "memory", "nominalQuota": binary_quantity(tenant.memory_quota_gib), "borrowingLimit": "0"},
    ]


def _gpu_quota(quota: FlavorQuota) -> dict[str, Any]:
    """The planner's figures: nominal quota, what it may borrow, and what it may lend (when limited)."""
    resource: dict[str, Any] = {
        "name": GPU_RESOURCE,
        "nominalQuota": count_quantity(quota.nominal),
        "borrowingLimit": count_quantity(quota.borrowing),
    }
    if quota.lending is not None:
        resource["lendingLimit"] = count_quantity(quota.lending)
    return {"name": quota.flavor, "resources": [resource]}


def _kueue(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": KUEUE_API, "kind": kind, "metadata": {"name": name}, "spec": spec}
