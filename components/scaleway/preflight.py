"""What Kapsule would refuse mid-deployment, found before any resource. Pure, no Pulumi.

Each rule names the config key, like the spec's own checks (`aion_factory.checks`,
which already reserves the pool name `system`). These rules are Scaleway-specific,
so they live with the Scaleway target; its adapter runs them with the credentials check.
"""

from __future__ import annotations

import ipaddress

from ..errors import Problem
from ..keys import key_path
from ..view import ClusterView

# A private network's subnet loses its network and broadcast addresses, and the
# public gateway takes one more; Kapsule's own load balancers take others later.
RESERVED_ADDRESSES = 3


def cluster_problems(view: ClusterView) -> list[Problem]:
    cluster = view.settings
    at: list[str | int] = ["clusters", view.index]
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
    hosts = ipaddress.ip_network(cluster.subnet, strict=False).num_addresses - RESERVED_ADDRESSES
    if view.rated_nodes > hosts:
        found.append(
            Problem(
                key_path([*at, "subnet"]),
                f"{cluster.subnet} holds {max(hosts, 0)} nodes, but the cluster reaches {view.rated_nodes} at rated size; "
                "allowed: a larger subnet (a /22 holds 1,021)",
            )
        )
    return found
