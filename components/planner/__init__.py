"""The power planner: pure functions from a validated spec to a plan.

No Pulumi and no I/O here (an import-linter contract keeps it so): the same
spec gives the same plan on every machine.
"""

from __future__ import annotations

from ..catalog import Catalog, load_catalog
from ..checks import privilege_warnings
from ..errors import Problem
from ..keys import key_path
from ..spec import Cluster, FactorySpec, Site, SystemPool
from . import equivalence
from .account import account_plan
from .capacity import choose_control_plane, split_fleet
from .derate import apply_derates
from .flavors import with_queue_flavors
from .model import (
    AccountPlan,
    CapStep,
    ClusterPlan,
    DeratePlan,
    FlavorQuota,
    H100Equivalents,
    HeadroomBuys,
    LevelDerate,
    LevelDeratePlan,
    LevelPlan,
    PhasePlan,
    Plan,
    PoolPlan,
    QuotaStep,
    QuotaUse,
    SitePlan,
    StopStep,
    TenantPlan,
)
from .power import (
    allotment_violations,
    budget_violations,
    gpu_pool_plan,
    level_of,
    node_power_w,
    placeable_headroom_kw,
    roll_up,
    site_it_budget_kw,
    system_pool_plan,
)
from .quotas import tenant_quotas

__all__ = [
    "AccountPlan",
    "CapStep",
    "ClusterPlan",
    "DeratePlan",
    "FlavorQuota",
    "H100Equivalents",
    "HeadroomBuys",
    "LevelDerate",
    "LevelDeratePlan",
    "LevelPlan",
    "PhasePlan",
    "Plan",
    "PoolPlan",
    "QuotaStep",
    "QuotaUse",
    "SitePlan",
    "StopStep",
    "TenantPlan",
    "make_plan",
    "node_power_w",
    "placeable_headroom_kw",
    "split_fleet",
]


def make_plan(spec: FactorySpec, catalog: Catalog | None = None, derates: tuple[LevelDerate, ...] = ()) -> Plan:
    """The site's plan; with `derates` (the power events in force), what the toolkit does about them too."""
    catalog = catalog or load_catalog()
    site = spec.site
    gpu_pools = with_queue_flavors([gpu_pool_plan(site, c, p, catalog) for c in spec.clusters for p in c.pools])
    system_pools = [system_pool_plan(site, c, catalog) for c in spec.clusters]
    levels = roll_up(site, gpu_pools + system_pools)
    violations = budget_violations(levels, gpu_pools + system_pools, catalog)

    clusters = []
    for index, cluster in enumerate(spec.clusters):
        pools = [p for p in gpu_pools + system_pools if p.cluster == cluster.name]
        plan, problem = _cluster_plan(site, cluster, index, pools, catalog)
        clusters.append(plan)
        violations += problem

    tenants, warnings = tenant_quotas(spec.tenants, gpu_pools)
    warnings += privilege_warnings(spec)
    violations += allotment_violations(levels, spec.tenants, gpu_pools)

    gpus_by_model: dict[str, int] = {}
    for pool in gpu_pools:
        assert pool.gpu_model is not None
        gpus_by_model[pool.gpu_model] = gpus_by_model.get(pool.gpu_model, 0) + pool.gpus
    it_budget_kw = site_it_budget_kw(site)
    rated_it_kw = levels[0].rated_kw
    site_plan = SitePlan(
        name=site.name,
        pue=site.pue,
        facility_budget_kw=site.facility_power_mw * 1000,
        it_budget_kw=it_budget_kw,
        rated_it_kw=rated_it_kw,
        gpus_by_model=dict(sorted(gpus_by_model.items())),
        h100_equivalents=equivalence.of_gpus(catalog, gpus_by_model),
        headroom_buys=equivalence.headroom_buys(catalog, placeable_headroom_kw(levels), SystemPool().size),
    )
    account, over_quota = account_plan(spec, clusters, gpu_pools + system_pools, site_plan.headroom_buys, catalog)
    violations += over_quota
    planned = Plan(
        site_plan,
        tuple(levels),
        tuple(clusters),
        tuple(gpu_pools + system_pools),
        tuple(tenants),
        tuple(violations),
        tuple(warnings),
        account,
    )
    return apply_derates(spec, planned, derates, catalog)


def _cluster_plan(site: Site, cluster: Cluster, index: int, pools: list[PoolPlan], catalog: Catalog) -> tuple[ClusterPlan, list[Problem]]:
    max_nodes = sum(p.nodes for p in pools)
    plane, limit = choose_control_plane(catalog, cluster, max_nodes)
    gpus_by_flavor: dict[str, int] = {}
    for pool in pools:
        if pool.queue_flavor:
            gpus_by_flavor[pool.queue_flavor] = gpus_by_flavor.get(pool.queue_flavor, 0) + pool.gpus
    plan = ClusterPlan(
        name=cluster.name,
        target=cluster.target,
        level=level_of(site, cluster),
        control_plane=plane,
        node_limit=limit,
        max_nodes=max_nodes,
        gpus_by_flavor=dict(sorted(gpus_by_flavor.items())),
        rated_kw=sum(p.rated_kw for p in pools),
    )
    if max_nodes <= limit:
        return plan, []
    needed = len(split_fleet(max_nodes - cluster.system_pool.size, limit, cluster.system_pool.size))
    where = plane or f"the largest control plane for target {cluster.target}"
    message = (
        f"cluster {cluster.name} needs {max_nodes} nodes at rated size, over the {limit}-node limit of {where}; "
        f"split it into {needed} clusters, or take {max_nodes - limit} nodes off it"
    )
    return plan, [Problem(key_path(["clusters", index, "control_plane"]), message, "violation")]
