"""The Kueue flavor each GPU pool's GPUs are admitted under.

Kueue counts quota per flavor, and places a flavor's work on whichever of its nodes are free.
A flavor whose pools draw from two levels of the power tree (two rows, two racks, a row and the
hall itself) would let Kueue fill one of them past its budget while the other stands idle. So
where a GPU flavor's pools of a cluster draw from more than one level, each level gets a flavor
of its own, named after the level below the site: `h100-sxm.hall-a.row-1` (the `.` cannot be in
a hall, row or rack name, so no two collide), with the tenants' quotas per flavor, each within
the level's allotted kW. Where they all draw from one level, the GPU flavor keeps its name.
"""

from __future__ import annotations

from dataclasses import replace

from .model import PoolPlan

SEPARATOR = "."


def with_queue_flavors(gpu_pools: list[PoolPlan]) -> list[PoolPlan]:
    """The GPU pools, each with the Kueue flavor it is admitted under (`PoolPlan.queue_flavor`)."""
    levels: dict[tuple[str, str | None], set[str]] = {}
    for pool in gpu_pools:
        levels.setdefault((pool.cluster, pool.flavor), set()).add(pool.level)
    return [replace(pool, queue_flavor=queue_flavor(pool, len(levels[pool.cluster, pool.flavor]) > 1)) for pool in gpu_pools]


def queue_flavor(pool: PoolPlan, split: bool) -> str:
    """`pool`'s GPU flavor, or with `split` that flavor in the level the pool draws from."""
    assert pool.flavor is not None  # a GPU pool
    return SEPARATOR.join([pool.flavor, *pool.level.split("/")[1:]]) if split else pool.flavor
