"""The cluster view: one cluster's spec and plan, joined once.

Every builder and component of a cluster reads a `ClusterView` and nothing
else: pools with their labels, taints, counts, power and caps; tenants with
their quota, borrowing, lending and GPU ceiling per flavor; the control plane.
Pure: no Pulumi, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import labels
from .errors import AionError
from .planner import FlavorQuota, Plan, PoolPlan
from .spec import SYSTEM_POOL, Cluster, FactorySpec, GpuPool, ObjectQuotas, Taint, Tenant


@dataclass(frozen=True)
class PoolView:
    """A node pool as every target builds it: the GPU pools and the CPU system pool alike."""

    name: str
    node_type: str
    gpu_model: str | None  # None for the system pool
    flavor: str | None  # the Kueue flavor its GPUs are admitted under (PoolPlan.queue_flavor)
    size: int  # nodes now
    min_size: int
    max_size: int  # explicit: `size` where the spec leaves it unset
    rated_nodes: int  # what the planner counts: max_size when autoscaling, else size
    autoscaling: bool
    gpus_per_node: int
    vcpus: int
    ram_gib: int
    node_power_w: float  # after the per-GPU cap
    gpu_power_cap_w: int | None
    labels: Mapping[str, str]
    taints: tuple[Taint, ...]
    time_slicing_replicas: int | None
    settings: GpuPool | None  # the spec's own pool settings that only the target reads; None for the system pool

    @property
    def is_gpu(self) -> bool:
        return self.flavor is not None

    @property
    def rated_kw(self) -> float:
        return self.rated_nodes * self.node_power_w / 1000


@dataclass(frozen=True)
class FlavorView:
    """A Kueue GPU flavor of the cluster: its GPUs at rated size, their pools' rated kW, the labels that
    select its nodes, and the taints of the pools that have it."""

    name: str
    gpus: int
    taints: tuple[Taint, ...]
    rated_kw: float
    node_labels: Mapping[str, str]

    @property
    def kw_per_gpu(self) -> float:
        """What one GPU of the flavor is counted at: its pools' rated kW (whole nodes, after caps) over
        their GPUs. The planner's quotas give a tenant GPUs in proportion to the rated kW of its clusters'
        GPU pools, so at this figure a tenant's quotas add up to its allotted kW (planner/quotas.py)."""
        return self.rated_kw / self.gpus if self.gpus else 0.0


@dataclass(frozen=True)
class TenantView:
    """A tenant on this cluster: its namespace, who may use it, and its GPUs per flavor."""

    name: str
    index: int  # position in aion:tenants, for key paths in messages
    namespace: str
    group: str  # the identity group with edit rights in the namespace
    pod_security: str
    cpu_quota: int
    memory_quota_gib: int
    pods_quota: int
    gpu_quotas: tuple[FlavorQuota, ...]  # one per flavor of the cluster, by name
    priority_classes: tuple[str, ...]  # the PriorityClasses (and Kueue WorkloadPriorityClasses) its workloads may use; no other
    storage_quota_gib: int
    object_quotas: ObjectQuotas
    container_max_cpu: int  # the spec's, else the cluster's largest node's: no container is larger
    container_max_memory_gib: int
    stopped: bool = False  # a power event drains its ClusterQueue here (planner/derate.py)

    @property
    def gpu_ceiling(self) -> int:
        """The namespace's hard GPU cap (its ResourceQuota): quota plus what it may borrow, every flavor."""
        return sum(quota.ceiling for quota in self.gpu_quotas)


@dataclass(frozen=True)
class ClusterView:
    site: str
    name: str
    index: int  # position in aion:clusters, for key paths in messages
    target: str
    hall: str
    row: str | None
    level: str  # the power-tree path the cluster draws from
    control_plane: str | None  # None when none holds its nodes (the plan is then violated)
    node_limit: int
    rated_nodes: int
    gpu_pools: tuple[PoolView, ...]
    system_pool: PoolView
    flavors: tuple[FlavorView, ...]
    tenants: tuple[TenantView, ...]
    site_cohort: str  # Kueue cohorts follow the power tree: the site, then the hall
    hall_cohort: str
    # The node labels of the GPU flavors' Kueue Topology, outermost first; empty without
    # Topology Aware Scheduling (off in the spec, or no GPU pool).
    topology_levels: tuple[str, ...]
    settings: Cluster  # the spec's own cluster settings that only the target reads (zone, subnet, versions, storage)

    @property
    def pools(self) -> tuple[PoolView, ...]:
        return (*self.gpu_pools, self.system_pool)


class UnknownCluster(AionError):
    pass


def cluster_view(spec: FactorySpec, plan: Plan, name: str) -> ClusterView:
    """The view of cluster `name` of `spec`, whose plan is `plan`."""
    index = next((i for i, c in enumerate(spec.clusters) if c.name == name), None)
    if index is None:
        known = ", ".join(c.name for c in spec.clusters) or "none"
        raise UnknownCluster(f"cluster {name!r} is not in the spec; clusters: {known}")
    cluster = spec.clusters[index]
    planned = {p.name: p for p in plan.pools_of(name)}
    gpu_pools = tuple(_gpu_pool(cluster, pool, planned[pool.name]) for pool in cluster.pools)
    cluster_plan = plan.cluster(name)
    system_pool = _system_pool(cluster, planned[SYSTEM_POOL])
    return ClusterView(
        site=spec.site.name,
        name=name,
        index=index,
        target=cluster.target,
        hall=cluster.hall,
        row=cluster.row,
        level=cluster_plan.level,
        control_plane=cluster_plan.control_plane,
        node_limit=cluster_plan.node_limit,
        rated_nodes=cluster_plan.max_nodes,
        gpu_pools=gpu_pools,
        system_pool=system_pool,
        flavors=_flavors(gpu_pools),
        tenants=tuple(_tenant(i, t, plan, name, (*gpu_pools, system_pool)) for i, t in enumerate(spec.tenants) if name in t.clusters),
        site_cohort=spec.site.name,
        hall_cohort=f"{spec.site.name}-{cluster.hall}",
        topology_levels=labels.topology_levels(p.labels for p in gpu_pools)
        if gpu_pools and cluster.kueue.topology_aware_scheduling
        else (),
        settings=cluster,
    )


def cluster_views(spec: FactorySpec, plan: Plan) -> list[ClusterView]:
    return [cluster_view(spec, plan, cluster.name) for cluster in spec.clusters]


def _gpu_pool(cluster: Cluster, pool: GpuPool, planned: PoolPlan) -> PoolView:
    # A GPU pool's plan always has all three.
    assert planned.gpu_model is not None and planned.flavor is not None and planned.queue_flavor is not None
    return PoolView(
        name=pool.name,
        node_type=pool.node_type,
        gpu_model=planned.gpu_model,
        flavor=planned.queue_flavor,
        size=pool.size,
        min_size=pool.min_size,
        max_size=pool.size if pool.max_size is None else pool.max_size,
        rated_nodes=planned.nodes,
        autoscaling=pool.autoscaling,
        gpus_per_node=planned.gpus_per_node,
        vcpus=planned.vcpus,
        ram_gib=planned.ram_gib,
        node_power_w=planned.node_power_w,
        gpu_power_cap_w=planned.gpu_power_cap_w,  # the spec's, or a power event's
        labels=labels.gpu_pool_labels(cluster, pool, planned.gpu_model, planned.flavor),
        taints=labels.gpu_pool_taints(pool),
        time_slicing_replicas=pool.sharing.time_slicing_replicas,
        settings=pool,
    )


def _system_pool(cluster: Cluster, planned: PoolPlan) -> PoolView:
    size = cluster.system_pool.size
    return PoolView(
        name=SYSTEM_POOL,
        node_type=planned.node_type,
        gpu_model=None,
        flavor=None,
        size=size,
        min_size=size,
        max_size=size,
        rated_nodes=planned.nodes,
        autoscaling=False,
        gpus_per_node=0,
        vcpus=planned.vcpus,
        ram_gib=planned.ram_gib,
        node_power_w=planned.node_power_w,
        gpu_power_cap_w=None,
        labels=labels.system_pool_labels(cluster),
        taints=(),
        time_slicing_replicas=None,
        settings=None,
    )


def _flavors(gpu_pools: tuple[PoolView, ...]) -> tuple[FlavorView, ...]:
    gpus: dict[str, int] = {}
    rated_kw: dict[str, float] = {}
    taints: dict[str, dict[tuple[str, str, str], Taint]] = {}
    selectors: dict[str, dict[str, str]] = {}
    for pool in gpu_pools:
        assert pool.flavor is not None
        gpus[pool.flavor] = gpus.get(pool.flavor, 0) + pool.rated_nodes * pool.gpus_per_node
        rated_kw[pool.flavor] = rated_kw.get(pool.flavor, 0.0) + pool.rated_kw
        taints.setdefault(pool.flavor, {}).update({(t.key, t.value, t.effect): t for t in pool.taints})
        # A Kueue flavor named otherwise than its GPU flavor is one level's share of it (planner/flavors.py).
        selectors[pool.flavor] = labels.flavor_selector(pool.labels, by_level=pool.flavor != pool.labels[labels.FLAVOR])
    return tuple(
        FlavorView(name, gpus[name], tuple(t for _, t in sorted(taints[name].items())), rated_kw[name], selectors[name])
        for name in sorted(gpus)
    )


def _tenant(index: int, tenant: Tenant, plan: Plan, cluster: str, pools: tuple[PoolView, ...]) -> TenantView:
    return TenantView(
        name=tenant.name,
        index=index,
        namespace=tenant.name,
        group=tenant.group or tenant.name,
        pod_security=tenant.pod_security,
        cpu_quota=tenant.cpu_quota,
        memory_quota_gib=tenant.memory_quota_gib,
        pods_quota=tenant.pods_quota,
        gpu_quotas=plan.tenant(tenant.name).flavor_quotas(cluster),
        priority_classes=tenant.priority_classes,
        stopped=plan.derate is not None and (tenant.name, cluster) in plan.derate.stopped,
        storage_quota_gib=tenant.storage_quota_gib,
        object_quotas=tenant.object_quotas,
        container_max_cpu=tenant.container_max_cpu or max(p.vcpus for p in pools),
        container_max_memory_gib=tenant.container_max_memory_gib or max(p.ram_gib for p in pools),
    )
