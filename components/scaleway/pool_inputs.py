"""Node pool settings, from the cluster view. Pure, no Pulumi at run time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..planner.account import PLACEMENT_GROUP_MAX_NODES as PLACEMENT_GROUP_MAX_NODES  # what one part holds at most
from ..planner.account import placement_groups
from ..spec import Taint
from ..view import PoolView

if TYPE_CHECKING:
    from pulumiverse_scaleway.kubernetes import PoolTaintArgsDict, PoolUpgradePolicyArgsDict

# Kapsule's placement policy: `optional` still creates the node when the hypervisors
# close together are full; GPU capacity matters more than the last microsecond.
PLACEMENT_POLICY_TYPE = "low_latency"
PLACEMENT_POLICY_MODE = "optional"


@dataclass(frozen=True)
class KapsulePool:
    """One Kapsule pool of a GPU pool: the whole pool, or one placement-grouped part of it."""

    name: str
    size: int
    min_size: int
    max_size: int
    placement_group: bool


def kapsule_pools(pool: PoolView) -> tuple[KapsulePool, ...]:
    """The Kapsule pools a GPU pool becomes. A multi-node training pool that may reach more than
    20 nodes becomes the fewest pools of at most 20, each in a placement group of its own, named
    `<pool>-1`, `<pool>-2`...; size, min_size and max_size are split evenly (the first parts take
    the remainders, so each part keeps min <= size <= max). Every part carries the pool's labels
    and taints, so Kueue's flavor, the power-cap DaemonSet and the planner see one pool."""
    grouped = pool.settings is not None and pool.settings.multi_node_training
    reach = pool.max_size if pool.autoscaling else pool.size
    parts = placement_groups(reach, grouped)  # the planner counts the account's placement groups so too
    if parts <= 1:
        return (KapsulePool(pool.name, pool.size, pool.min_size, pool.max_size, grouped),)
    sizes, mins = _split(pool.size, parts), _split(pool.min_size, parts)
    # Kapsule reads max_size only when the pool autoscales; otherwise a part never grows past its size.
    maxes = _split(pool.max_size, parts) if pool.autoscaling else sizes
    return tuple(KapsulePool(f"{pool.name}-{i + 1}", sizes[i], mins[i], maxes[i], True) for i in range(parts))


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def taints(pool_taints: tuple[Taint, ...]) -> list[PoolTaintArgsDict]:
    return [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool_taints]


def gpu_upgrade_policy() -> PoolUpgradePolicyArgsDict:
    """One GPU node at a time, and no extra one: a surge node is a whole GPU server."""
    return {"max_surge": 0, "max_unavailable": 1}


def system_upgrade_policy() -> PoolUpgradePolicyArgsDict:
    """Add-ons keep running during upgrades: a new CPU node first, then drain an old one."""
    return {"max_surge": 1, "max_unavailable": 0}
