"""Node pool settings, from the spec and the plan. Pure, no Pulumi at run time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import labels
from ..planner import Plan, PoolPlan
from ..spec import Cluster, GpuPool, Site, Taint
from .naming import SYSTEM_POOL

if TYPE_CHECKING:
    from pulumiverse_scaleway.kubernetes import PoolTaintArgsDict, PoolUpgradePolicyArgsDict

# Kapsule's placement policy: `optional` still creates the node when the hypervisors
# close together are full; GPU capacity matters more than the last microsecond.
PLACEMENT_POLICY_TYPE = "low_latency"
PLACEMENT_POLICY_MODE = "optional"


@dataclass(frozen=True)
class PoolSizes:
    size: int
    min_size: int
    max_size: int


def sizes(pool: GpuPool) -> PoolSizes:
    """Always explicit: the provider's default `min_size` is 1, above a pool of size 0."""
    return PoolSizes(pool.size, pool.min_size, pool.max_size if pool.max_size is not None else pool.size)


def taints(pool_taints: tuple[Taint, ...]) -> list[PoolTaintArgsDict]:
    return [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool_taints]


def gpu_upgrade_policy() -> PoolUpgradePolicyArgsDict:
    """One GPU node at a time, and no extra one: a surge node is a whole GPU server."""
    return {"max_surge": 0, "max_unavailable": 1}


def system_upgrade_policy() -> PoolUpgradePolicyArgsDict:
    """Add-ons keep running during upgrades: a new CPU node first, then drain an old one."""
    return {"max_surge": 1, "max_unavailable": 0}


def planned_pool(plan: Plan, cluster: Cluster, pool: GpuPool) -> PoolPlan:
    return next(p for p in plan.pools_of(cluster.name) if p.name == pool.name)


def gpu_pool_labels(site: Site, cluster: Cluster, pool: GpuPool, plan: Plan) -> dict[str, str]:
    return labels.pool_labels(site, cluster, pool, planned_pool(plan, cluster, pool))


def system_pool_labels(cluster: Cluster) -> dict[str, str]:
    """Add-ons select these; no GPU labels, so nothing GPU-bound lands here."""
    found = {labels.POOL: SYSTEM_POOL, labels.CLUSTER: cluster.name, labels.HALL: cluster.hall}
    if cluster.row:
        found[labels.ROW] = cluster.row
    return found
