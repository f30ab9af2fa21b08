"""Node pool settings, from the cluster view. Pure, no Pulumi at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..spec import Taint

if TYPE_CHECKING:
    from pulumiverse_scaleway.kubernetes import PoolTaintArgsDict, PoolUpgradePolicyArgsDict

# Kapsule's placement policy: `optional` still creates the node when the hypervisors
# close together are full; GPU capacity matters more than the last microsecond.
PLACEMENT_POLICY_TYPE = "low_latency"
PLACEMENT_POLICY_MODE = "optional"


def taints(pool_taints: tuple[Taint, ...]) -> list[PoolTaintArgsDict]:
    return [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool_taints]


def gpu_upgrade_policy() -> PoolUpgradePolicyArgsDict:
    """One GPU node at a time, and no extra one: a surge node is a whole GPU server."""
    return {"max_surge": 0, "max_unavailable": 1}


def system_upgrade_policy() -> PoolUpgradePolicyArgsDict:
    """Add-ons keep running during upgrades: a new CPU node first, then drain an old one."""
    return {"max_surge": 1, "max_unavailable": 0}
