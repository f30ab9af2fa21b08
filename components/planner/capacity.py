"""Control planes: which one a cluster needs, and how many clusters a demand needs."""

from __future__ import annotations

import math

from ..catalog import Catalog
from ..spec import Cluster


def choose_control_plane(catalog: Catalog, cluster: Cluster, max_nodes: int) -> tuple[str | None, int]:
    """The named plane, or for `auto` the smallest that holds `max_nodes`.

    Returns (name, node limit); the name is None when no plane of the target holds them,
    and the limit is then the largest plane's.
    """
    planes = catalog.control_planes_for(cluster.target)
    if cluster.control_plane != "auto":
        return cluster.control_plane, catalog.control_planes[cluster.control_plane].max_nodes
    for name, plane in planes:
        if plane.max_nodes >= max_nodes:
            return name, plane.max_nodes
    return None, max(plane.max_nodes for _, plane in planes)


def largest_node_limit(catalog: Catalog, target: str) -> int:
    return max(plane.max_nodes for _, plane in catalog.control_planes_for(target))


def split_fleet(nodes: int, node_limit: int, reserved_per_cluster: int = 0) -> list[int]:
    """The fewest clusters for `nodes` GPU nodes, sizes as even as possible.

    Each cluster holds at most `node_limit` nodes, of which `reserved_per_cluster`
    go to its system pool.
    """
    per_cluster = node_limit - reserved_per_cluster
    if per_cluster <= 0:
        raise ValueError(f"a cluster of {node_limit} nodes has no room left after {reserved_per_cluster} system nodes")
    if nodes <= 0:
        return []
    count = math.ceil(nodes / per_cluster)
    base, extra = divmod(nodes, count)
    return [base + 1] * extra + [base] * (count - extra)
