"""Tenant GPU quotas from power allotments.

A tenant allotted P kW, running on clusters C, gets in each cluster c and for
each GPU flavor m:  floor(P x G(c, m) / R(C))  GPUs, where G(c, m) is the
cluster's GPUs of that flavor at rated size and R(C) the rated kW of the GPU
pools of all its clusters. A tenant whose kW equals all that power gets every GPU.
Where the tenants of a cluster ask for more GPUs of a flavor than it has, each
share is scaled down by capacity / demand (rounded down), so the sum never
exceeds capacity.
"""

from __future__ import annotations

import math

from ..spec import Tenant
from .model import PoolPlan, TenantPlan

_EPSILON = 1e-9  # keeps 7.9999999 from flooring to 7


def tenant_quotas(tenants: tuple[Tenant, ...], gpu_pools: list[PoolPlan]) -> list[TenantPlan]:
    capacity: dict[str, dict[str, int]] = {}
    rated_kw: dict[str, float] = {}
    for pool in gpu_pools:
        assert pool.flavor is not None
        per_flavor = capacity.setdefault(pool.cluster, {})
        per_flavor[pool.flavor] = per_flavor.get(pool.flavor, 0) + pool.gpus
        rated_kw[pool.cluster] = rated_kw.get(pool.cluster, 0.0) + pool.rated_kw

    wanted = {t.name: _fair_shares(t, capacity, rated_kw) for t in tenants}
    for cluster, per_flavor in capacity.items():
        for flavor, available in per_flavor.items():
            demand = sum(w.get(cluster, {}).get(flavor, 0) for w in wanted.values())
            if demand <= available:
                continue
            for shares in wanted.values():
                if flavor in shares.get(cluster, {}):
                    shares[cluster][flavor] = shares[cluster][flavor] * available // demand
    return [TenantPlan(t.name, t.power_kw, wanted[t.name]) for t in tenants]


def _fair_shares(tenant: Tenant, capacity: dict[str, dict[str, int]], rated_kw: dict[str, float]) -> dict[str, dict[str, int]]:
    total_kw = sum(rated_kw.get(c, 0.0) for c in tenant.clusters)
    shares: dict[str, dict[str, int]] = {}
    for cluster in tenant.clusters:
        shares[cluster] = {
            flavor: math.floor(tenant.power_kw * gpus / total_kw + _EPSILON) if total_kw else 0
            for flavor, gpus in sorted(capacity.get(cluster, {}).items())
        }
    return shares
