"""What Kapsule would refuse mid-deployment, found before any resource. Pure, no Pulumi.

Each rule names the config key, like the spec's own checks (`aion_factory.checks`,
which already reserves the pool name `system`). These rules are Scaleway-specific,
so they live with the Scaleway components.
"""

from __future__ import annotations

import ipaddress

from ..errors import Problem
from ..keys import key_path
from ..planner import Plan
from ..spec import Cluster, FactorySpec

# A private network's subnet loses its network and broadcast addresses, and the
# public gateway takes one more; Kapsule's own load balancers take others later.
RESERVED_ADDRESSES = 3


def problems(spec: FactorySpec, plan: Plan) -> list[Problem]:
    """Every problem of every Scaleway cluster of the spec, one line each."""
    found: list[Problem] = []
    for index, cluster in enumerate(spec.clusters):
        if cluster.target == "scaleway":
            found += cluster_problems(index, cluster, plan)
    return found


def cluster_problems(index: int, cluster: Cluster, plan: Plan) -> list[Problem]:
    at: list[str | int] = ["clusters", index]
    found: list[Problem] = []
    # Kapsule takes `x.y` only with auto-upgrade on, and `x.y.z` only with it off.
    minor_only = cluster.kubernetes_version.count(".") == 1
    if minor_only and not cluster.auto_upgrade:
        found.append(
            Problem(
                key_path([*at, "auto_upgrade"]),
                f"false needs a full x.y.z kubernetes_version on Kapsule, not {cluster.kubernetes_version!r}; "
                "allowed: true (patch upgrades in the maintenance window)",
            )
        )
    nodes = plan.cluster(cluster.name).max_nodes
    hosts = ipaddress.ip_network(cluster.subnet, strict=False).num_addresses - RESERVED_ADDRESSES
    if nodes > hosts:
        found.append(
            Problem(
                key_path([*at, "subnet"]),
                f"{cluster.subnet} holds {max(hosts, 0)} nodes, but the cluster reaches {nodes} at rated size; "
                "allowed: a larger subnet (a /22 holds 1,021)",
            )
        )
    return found
