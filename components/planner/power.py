"""Power: what each node and pool draws, rolled up the power tree."""

from __future__ import annotations

import math

from ..catalog import Catalog
from ..errors import Problem
from ..spec import SYSTEM_POOL, Cluster, GpuPool, Site, Tenant
from .model import LevelPlan, PoolPlan


def node_power_w(catalog: Catalog, node_type: str, gpu_power_cap_w: int | None = None) -> float:
    """The node's max power; a per-GPU cap takes GPUs x (GPU max - cap) off it."""
    power = catalog.node_max_power_w(node_type)
    if gpu_power_cap_w is None or node_type not in catalog.gpu_node_types:
        return power
    node = catalog.gpu_node_types[node_type]
    model = catalog.gpu_models[node.gpu_model]
    return power - node.gpus * (model.max_power_w - gpu_power_cap_w)


def level_of(site: Site, cluster: Cluster, row: str | None = None, rack: str | None = None) -> str:
    """The power-tree path a pool draws from: its rack in its row, else its row, else the cluster's, else the hall."""
    row = row or cluster.row
    return "/".join(p for p in (site.name, cluster.hall, row, rack if row else None) if p)


def gpu_pool_plan(site: Site, cluster: Cluster, pool: GpuPool, catalog: Catalog) -> PoolPlan:
    node = catalog.gpu_node_types[pool.node_type]
    return PoolPlan(
        cluster=cluster.name,
        name=pool.name,
        node_type=pool.node_type,
        gpu_model=node.gpu_model,
        flavor=catalog.gpu_models[node.gpu_model].flavor,
        nodes=pool.rated_nodes,
        gpus_per_node=node.gpus,
        vcpus=node.vcpus,
        ram_gib=node.ram_gib,
        node_power_w=node_power_w(catalog, pool.node_type, pool.gpu_power_cap_w),
        level=level_of(site, cluster, pool.row, pool.rack),
        gpu_power_cap_w=pool.gpu_power_cap_w,
    )


def system_pool_plan(site: Site, cluster: Cluster, catalog: Catalog) -> PoolPlan:
    system = cluster.system_pool
    node = catalog.cpu_node_types[system.node_type]
    return PoolPlan(
        cluster=cluster.name,
        name=SYSTEM_POOL,
        node_type=system.node_type,
        gpu_model=None,
        flavor=None,
        nodes=system.size,
        gpus_per_node=0,
        vcpus=node.vcpus,
        ram_gib=node.ram_gib,
        node_power_w=node_power_w(catalog, system.node_type),
        level=level_of(site, cluster),
    )


def roll_up(site: Site, pools: list[PoolPlan]) -> list[LevelPlan]:
    """Budget and rated power of every level, parents first; a pool counts in all its ancestors."""
    rated: dict[str, float] = {}
    for pool in pools:
        parts = pool.level.split("/")
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            rated[path] = rated.get(path, 0.0) + pool.rated_kw
    levels = [LevelPlan(site.name, "site", site_it_budget_kw(site), site.oversubscription, rated.get(site.name, 0.0))]
    for hall in site.halls:
        hall_path = f"{site.name}/{hall.name}"
        levels.append(LevelPlan(hall_path, "hall", hall.it_power_kw, hall.oversubscription, rated.get(hall_path, 0.0)))
        for row in hall.rows:
            row_path = f"{hall_path}/{row.name}"
            levels.append(LevelPlan(row_path, "row", row.it_power_kw, row.oversubscription, rated.get(row_path, 0.0)))
            for rack in row.racks:
                rack_path = f"{row_path}/{rack.name}"
                levels.append(LevelPlan(rack_path, "rack", rack.it_power_kw, rack.oversubscription, rated.get(rack_path, 0.0)))
    return levels


def site_it_budget_kw(site: Site) -> float:
    return site.facility_power_mw * 1000 / site.pue


def budget_violations(levels: list[LevelPlan], pools: list[PoolPlan], catalog: Catalog) -> list[Problem]:
    """A level over its limit, what would bring it within, and every cluster that draws on it: in a
    site of many stacks, each stack that shares the level must change or leave it."""
    return [
        Problem(
            level.path,
            f"{level.kind} {level.path} draws {level.rated_kw:,.1f} kW rated, over its limit of "
            f"{level.limit_kw:,.1f} kW (budget {level.budget_kw:,.1f} kW x oversubscription "
            f"{level.oversubscription:g}) by {level.rated_kw - level.limit_kw:,.1f} kW; "
            f"to fit: {budget_fix(level, pools, catalog)}; "
            f"clusters drawing on it: {', '.join(clusters_drawing_on(level.path, pools))}",
            "violation",
        )
        for level in levels
        if not level.fits
    ]


def budget_fix(level: LevelPlan, pools: list[PoolPlan], catalog: Catalog) -> str:
    """The fewest nodes to take off the pools drawing most on an over-limit level (largest first),
    or the per-GPU power cap on its largest GPU pool that would bring it within its limit alone."""
    drawing = sorted(
        (p for p in pools if p.rated_kw > 0 and (p.level == level.path or p.level.startswith(f"{level.path}/"))),
        key=lambda p: -p.rated_kw,
    )
    excess_w = (level.rated_kw - level.limit_kw) * 1000 - 1e-6  # `fits` tolerates a rounding error
    shrinks, left_w = [], excess_w
    for pool in drawing:
        nodes = min(pool.nodes, math.ceil(left_w / pool.node_power_w))
        shrinks.append(f"shrink pool {pool.cluster}/{pool.name} by {nodes} node{'s' if nodes != 1 else ''} (to {pool.nodes - nodes})")
        left_w -= nodes * pool.node_power_w
        if left_w <= 0:
            break
    fix = " and ".join(shrinks) if left_w <= 0 else "move clusters off it: its pools alone cannot shed enough"
    cap = _fitting_cap_w(drawing[0], excess_w, catalog) if drawing else None
    return fix if cap is None else f"{fix}, or gpu_power_cap_w {cap} on pool {drawing[0].cluster}/{drawing[0].name}"


def _fitting_cap_w(pool: PoolPlan, excess_w: float, catalog: Catalog) -> int | None:
    """The highest whole-watt per-GPU cap on `pool` that sheds `excess_w`, if the driver takes it."""
    if pool.gpu_model is None or pool.gpus == 0:
        return None
    model = catalog.gpu_models[pool.gpu_model]
    cap = math.floor((pool.gpu_power_cap_w or model.max_power_w) - excess_w / pool.gpus)
    return cap if cap >= model.min_power_limit_w else None


def clusters_drawing_on(level: str, pools: list[PoolPlan]) -> list[str]:
    """The clusters with a pool at `level` or below it, in the spec's order."""
    return list(dict.fromkeys(p.cluster for p in pools if p.level == level or p.level.startswith(f"{level}/")))


def placeable_headroom_kw(levels: list[LevelPlan]) -> dict[str, float]:
    """Unused IT budget each hall can actually host (oversubscription not counted): its own
    unused budget, all scaled down alike when the site's headroom is smaller than their sum."""
    site, halls = levels[0], [lv for lv in levels if lv.kind == "hall"]
    unused = {hall.path.split("/")[-1]: max(0.0, hall.budget_kw - hall.rated_kw) for hall in halls}
    total = sum(unused.values())
    scale = min(1.0, max(0.0, site.budget_kw - site.rated_kw) / total) if total else 0.0
    return {hall: kw * scale for hall, kw in unused.items()}


def allotment_violations(levels: list[LevelPlan], tenants: tuple[Tenant, ...], gpu_pools: list[PoolPlan]) -> list[Problem]:
    """Power enforced at admission: Kueue admits no more than the tenants' quotas, and a tenant's
    quotas draw at most its allotted kW, spread over the GPU pools of its clusters by their rated
    power. So the work admitted under a level stays within its *budget* when the kW allotted under
    it do; hardware rated above the budget (oversubscription) is in no quota and stays idle."""
    by_cluster = pools_by_cluster(gpu_pools)
    allotted = tenant_kw_by_level(levels[0].path, tenants, by_cluster)
    over = [level for level in levels if allotted.get(level.path, 0.0) > level.budget_kw + 1e-9]
    drawing = {level.path: [t.name for t in tenants if level.path in allotted_levels(t, by_cluster)] for level in over}
    return [
        Problem(
            level.path,
            f"tenants are allotted {allotted[level.path]:,.1f} kW of {level.kind} {level.path}, over its budget of "
            f"{level.budget_kw:,.1f} kW: Kueue admits work up to their quotas, which could then draw more than the "
            f"{level.kind} may; tenants drawing on it: {', '.join(drawing[level.path]) or 'none with GPUs'}",
            "violation",
        )
        for level in over
    ]


def pools_by_cluster(gpu_pools: list[PoolPlan]) -> dict[str, list[PoolPlan]]:
    """GPU pools with power, by cluster: looked up once per tenant, not scanned."""
    found: dict[str, list[PoolPlan]] = {}
    for pool in gpu_pools:
        if pool.rated_kw > 0:
            found.setdefault(pool.cluster, []).append(pool)
    return found


def tenant_kw_by_level(site: str, tenants: tuple[Tenant, ...], by_cluster: dict[str, list[PoolPlan]]) -> dict[str, float]:
    """kW allotted under each level: every tenant's whole allotment at the site, and its share of
    it (by the rated power of its clusters' GPU pools) in each hall and row."""
    allotted: dict[str, float] = {site: sum(tenant.power_kw for tenant in tenants)}
    for tenant in tenants:
        pools = [p for cluster in tenant.clusters for p in by_cluster.get(cluster, [])]
        rated = sum(p.rated_kw for p in pools)
        for pool in pools:
            for path in _ancestors(pool.level)[1:]:
                allotted[path] = allotted.get(path, 0.0) + tenant.power_kw * pool.rated_kw / rated
    return allotted


def allotted_levels(tenant: Tenant, by_cluster: dict[str, list[PoolPlan]]) -> set[str]:
    return {path for cluster in tenant.clusters for p in by_cluster.get(cluster, []) for path in _ancestors(p.level)}


def _ancestors(level: str) -> list[str]:
    """`site/hall/row/rack` -> [`site`, `site/hall`, `site/hall/row`, `site/hall/row/rack`]."""
    parts = level.split("/")
    return ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
