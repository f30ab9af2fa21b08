"""Tenant GPU quotas from power allotments.

A tenant allotted P kW, running on clusters C, gets in each cluster c and for
each Kueue flavor m:  floor(P x G(c, m) / R(C))  GPUs, where G(c, m) is the
cluster's GPUs of that flavor at rated size and R(C) the rated kW of the GPU
pools of all its clusters. A Kueue flavor is a GPU flavor, or a GPU flavor in
one level of the power tree where its pools draw from several (flavors.py): its
quotas then draw at most the tenant's kW allotted in that level. A tenant whose kW equals all that power gets every GPU.
Where the tenants of a cluster ask for more GPUs of a flavor than it has, each
share is scaled down by capacity / demand (rounded down), so the sum never
exceeds capacity.

Borrowing and lending limits are fractions of that quota, rounded down. A tenant
may borrow up to its limit, and never past the cluster's capacity; without a
limit, up to capacity. Its quota plus what it may borrow is its GPU ceiling.
"""

from __future__ import annotations

import math

from ..errors import Problem
from ..keys import key_path
from ..spec import Tenant
from .model import PoolPlan, TenantPlan

_EPSILON = 1e-9  # keeps 7.9999999 from flooring to 7


def tenant_quotas(tenants: tuple[Tenant, ...], gpu_pools: list[PoolPlan]) -> tuple[list[TenantPlan], list[Problem]]:
    """Each tenant's quotas, and a warning for each tenant whose quotas are scaled down to fit."""
    capacity, rated_kw = _capacity(gpu_pools)
    wanted = {t.name: _fair_shares(t, capacity, rated_kw) for t in tenants}
    demand = _demand(wanted)
    warnings = [w for index, t in enumerate(tenants) if (w := _cut(index, t, wanted[t.name], demand, capacity, rated_kw))]
    for shares in wanted.values():
        for cluster, per_flavor in shares.items():
            for flavor, gpus in per_flavor.items():
                available = capacity.get(cluster, {}).get(flavor, 0)
                if demand[cluster, flavor] > available:
                    per_flavor[flavor] = gpus * available // demand[cluster, flavor]
    plans = [
        TenantPlan(
            name=t.name,
            allotted_kw=t.power_kw,
            quotas_by_cluster=wanted[t.name],
            borrowing_by_cluster=_borrowing(t, wanted[t.name], capacity),
            lending_by_cluster=None if t.lending_limit is None else _scaled(t.lending_limit, wanted[t.name]),
        )
        for t in tenants
    ]
    return plans, warnings


def _cut(
    index: int,
    tenant: Tenant,
    wanted: dict[str, dict[str, int]],
    demand: dict[tuple[str, str], int],
    capacity: dict[str, dict[str, int]],
    rated_kw: dict[str, float],
) -> Problem | None:
    """A warning when the tenants of a cluster ask for more GPUs of a flavor than it has, so this
    tenant's quota there is scaled down: the budgets still hold, its kW are not all turned into GPUs."""
    cuts = [
        f"{flavor} in {cluster}: {demand[cluster, flavor]} asked for, {capacity[cluster][flavor]} there"
        for cluster, per_flavor in wanted.items()
        for flavor in per_flavor
        if demand[cluster, flavor] > capacity[cluster][flavor]
    ]
    if not cuts:
        return None
    rated = sum(rated_kw.get(c, 0.0) for c in tenant.clusters)
    return Problem(
        key_path(["tenants", index, "power_kw"]),
        f"{tenant.power_kw:,.1f} kW buy more GPUs than its clusters' tenants can share ({'; '.join(cuts)}): its quotas "
        f"there are scaled down to fit, every budget still holds; allowed without a cut: allotments whose GPUs "
        f"the clusters hold (its clusters' GPU pools are rated {rated:,.1f} kW)",
        "warning",
    )


def _capacity(gpu_pools: list[PoolPlan]) -> tuple[dict[str, dict[str, int]], dict[str, float]]:
    """GPUs per cluster and flavor, and the rated kW of each cluster's GPU pools."""
    capacity: dict[str, dict[str, int]] = {}
    rated_kw: dict[str, float] = {}
    for pool in gpu_pools:
        assert pool.queue_flavor is not None  # set by flavors.with_queue_flavors
        per_flavor = capacity.setdefault(pool.cluster, {})
        per_flavor[pool.queue_flavor] = per_flavor.get(pool.queue_flavor, 0) + pool.gpus
        rated_kw[pool.cluster] = rated_kw.get(pool.cluster, 0.0) + pool.rated_kw
    return capacity, rated_kw


def _demand(wanted: dict[str, dict[str, dict[str, int]]]) -> dict[tuple[str, str], int]:
    """GPUs asked for per (cluster, flavor), in one pass over the shares, not one pass over every
    tenant per cluster and flavor: that grew as clusters x tenants (bench/planner.py)."""
    demand: dict[tuple[str, str], int] = {}
    for shares in wanted.values():
        for cluster, per_flavor in shares.items():
            for flavor, gpus in per_flavor.items():
                demand[cluster, flavor] = demand.get((cluster, flavor), 0) + gpus
    return demand


def ratio_of(ratio: float, nominal: int) -> int:
    """ratio x nominal GPUs, rounded down."""
    return math.floor(ratio * nominal + _EPSILON)


def _scaled(ratio: float, quotas: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {cluster: {flavor: ratio_of(ratio, n) for flavor, n in per.items()} for cluster, per in quotas.items()}


def _borrowing(tenant: Tenant, quotas: dict[str, dict[str, int]], capacity: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Its borrowing limit; without one, whatever of the cluster's GPUs is not its own. Never past capacity."""
    return {
        cluster: {
            flavor: min(
                capacity[cluster][flavor] - nominal,
                capacity[cluster][flavor] if tenant.borrowing_limit is None else ratio_of(tenant.borrowing_limit, nominal),
            )
            for flavor, nominal in per.items()
        }
        for cluster, per in quotas.items()
    }


def _fair_shares(tenant: Tenant, capacity: dict[str, dict[str, int]], rated_kw: dict[str, float]) -> dict[str, dict[str, int]]:
    total_kw = sum(rated_kw.get(c, 0.0) for c in tenant.clusters)
    shares: dict[str, dict[str, int]] = {}
    for cluster in tenant.clusters:
        shares[cluster] = {
            flavor: math.floor(tenant.power_kw * gpus / total_kw + _EPSILON) if total_kw else 0
            for flavor, gpus in sorted(capacity.get(cluster, {}).items())
        }
    return shares
