"""A demand for GPU nodes in one hall, turned into cluster entries of the site document.

Each cluster holds at most the largest Kapsule control plane's nodes, system nodes
counted; the nodes are spread evenly. "Fill" asks for what the hall's share of the
site's headroom holds. Pure: the entries are printed for the user to review.
"""

from __future__ import annotations

import ipaddress
from itertools import islice
from typing import Any

from ..catalog import Catalog, load_catalog
from ..errors import ConfigError, Problem, shown
from ..planner import make_plan, placeable_headroom_kw, split_fleet
from ..planner.capacity import largest_node_limit
from ..planner.equivalence import headroom_buys
from ..spec import FactorySpec, SystemPool

SUBNET_POOL = ipaddress.ip_network("172.16.0.0/12")  # private, and what Kapsule's default subnet sits in
SUBNET_PREFIX = 22  # 1,021 nodes: room for the largest control plane's 500


def fill_nodes(spec: FactorySpec, hall: str, node_type: str, catalog: Catalog | None = None) -> int:
    """How many `node_type` nodes the hall's share of the site's headroom holds, with the
    system nodes of the clusters they need counted."""
    catalog = catalog or load_catalog()
    _check(spec, hall, node_type, catalog)
    kw = placeable_headroom_kw(list(make_plan(spec, catalog).levels)).get(hall, 0.0)
    node_w, system = catalog.node_max_power_w(node_type), SystemPool()
    system_w = system.size * catalog.node_max_power_w(system.node_type)
    limit = largest_node_limit(catalog, "scaleway")
    nodes = headroom_buys(catalog, {hall: kw}, system.size, node_type).nodes
    while nodes > 0 and nodes * node_w + len(split_fleet(nodes, limit, system.size)) * system_w > kw * 1000:
        nodes -= 1
    return nodes


def cluster_entries(
    spec: FactorySpec,
    hall: str,
    node_type: str,
    nodes: int,
    prefix: str | None = None,
    zone: str = "fr-par-2",
    catalog: Catalog | None = None,
) -> list[dict[str, Any]]:
    """Clusters of `hall` that hold `nodes` nodes of `node_type`, as entries of the site's `clusters:`."""
    catalog = catalog or load_catalog()
    _check(spec, hall, node_type, catalog)
    system = SystemPool()
    per_cluster = largest_node_limit(catalog, "scaleway") - system.size
    needed = -(-nodes // per_cluster)
    free = list(islice(_free_subnets(spec), needed))  # counted before a list of clusters is built
    if len(free) < needed:
        raise ConfigError(
            [
                Problem(
                    "--nodes",
                    f"{nodes:,} nodes need {needed:,} clusters, and {SUBNET_POOL} has free /{SUBNET_PREFIX} subnets for "
                    f"{len(free):,}; allowed: at most {len(free) * per_cluster:,} nodes",
                )
            ]
        )
    sizes = split_fleet(nodes, per_cluster + system.size, system.size)
    prefix = prefix or hall
    taken = {c.name for c in spec.clusters}
    names = (f"{prefix}-c{i:02d}" for i in range(1, 10_000))
    subnets = iter(free)
    entries = []
    for size in sizes:
        name = next(n for n in names if n not in taken)
        entries.append(
            {
                "name": name,
                "target": "scaleway",
                "zone": zone,
                "hall": hall,
                "subnet": str(next(subnets)),
                "system_pool": {"node_type": system.node_type, "size": system.size},
                "pools": [{"name": catalog.gpu_model_of(node_type).flavor, "node_type": node_type, "size": size}],
            }
        )
    return entries


def _free_subnets(spec: FactorySpec) -> Any:
    used = [ipaddress.ip_network(c.subnet, strict=False) for c in spec.clusters]
    for subnet in SUBNET_POOL.subnets(new_prefix=SUBNET_PREFIX):
        if not any(subnet.overlaps(u) for u in used):
            yield subnet


def _check(spec: FactorySpec, hall: str, node_type: str, catalog: Catalog) -> None:
    problems = []
    halls = [h.name for h in spec.site.halls]
    if hall not in halls:
        problems.append(Problem("--hall", f"{shown(hall)} is not a hall of site {spec.site.name}; its halls: {', '.join(halls)}"))
    if node_type not in catalog.gpu_node_types:
        problems.append(Problem("--node-type", f"{shown(node_type)} is not a GPU node type; allowed: {', '.join(catalog.gpu_node_types)}"))
    if problems:
        raise ConfigError(problems)
