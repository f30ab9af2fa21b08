"""What Kapsule would refuse mid-deployment, found before any resource, and what it would deploy
but leave unsafe (warnings). Pure, no Pulumi.

Each rule names the config key, like the spec's own checks (`aion_factory.checks`,
which already reserves the pool name `system`). These rules are Scaleway-specific,
so they live with the Scaleway target; its adapter runs them with the credentials check,
and `target.config_refusals` / `target.config_warnings` run them for whoever asks.
"""

from __future__ import annotations

import ipaddress
from collections import Counter

from ..catalog import Catalog
from ..errors import Problem
from ..keys import key_path
from ..spec import FactorySpec
from ..view import ClusterView
from .pool_inputs import kapsule_pools

# A private network's CIDR block loses its first two and last two addresses (Scaleway IPAM
# concepts: "Four IP addresses from each CIDR block are unavailable"), and the public gateway
# takes one more; Kapsule's own load balancers take others later.
RESERVED_ADDRESSES = 5
# Scaleway VPC, "How to create a Private Network" (pages/vpc/how-to/create-private-network.mdx):
# a custom IPv4 CIDR block's size ranges from /20 to /28.
SUBNET_PREFIXES = range(20, 29)
# Scaleway's product availability page (validated 2025-12-04): Public Gateways in PAR1, PAR2, AMS1-3,
# WAW1-3. Nodes without public IPs reach the internet through the cluster's gateway, in its zone.
PUBLIC_GATEWAY_ZONES = ("fr-par-1", "fr-par-2", "nl-ams-1", "nl-ams-2", "nl-ams-3", "pl-waw-1", "pl-waw-2", "pl-waw-3")
# Kapsule API, CNI enum (scaleway-sdk-go api/k8s/v1): "Kilo CNI ... is only available for Kosmos clusters".
KOSMOS_ONLY_CNIS = ("kilo",)


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
    network = ipaddress.ip_network(cluster.subnet, strict=False)
    hosts = network.num_addresses - RESERVED_ADDRESSES
    if network.prefixlen not in SUBNET_PREFIXES:
        found.append(
            Problem(key_path([*at, "subnet"]), f"{cluster.subnet} is a /{network.prefixlen}; allowed: a private network of /20 to /28")
        )
    elif view.rated_nodes > hosts:
        found.append(
            Problem(
                key_path([*at, "subnet"]),
                f"{cluster.subnet} holds {max(hosts, 0)} nodes, but the cluster reaches {view.rated_nodes} at rated size; "
                f"allowed: a larger subnet (a /22 holds {1024 - RESERVED_ADDRESSES:,})",
            )
        )
    if cluster.zone not in PUBLIC_GATEWAY_ZONES:
        found.append(
            Problem(
                key_path([*at, "zone"]),
                f"{cluster.zone!r} has no Public Gateway, which the cluster's nodes (no public IPs) need; "
                f"allowed: {', '.join(PUBLIC_GATEWAY_ZONES)}",
            )
        )
    if cluster.cni in KOSMOS_ONLY_CNIS:
        found.append(
            Problem(
                key_path([*at, "cni"]),
                f"{cluster.cni!r} is only available on Kosmos clusters, not Kapsule; allowed: cilium, cilium_native, calico",
            )
        )
    found += _kapsule_pool_names(view, at)
    return found


def cluster_warnings(spec: FactorySpec, index: int, catalog: Catalog) -> list[Problem]:
    """Tenants on a Kapsule cluster whose CNI does not enforce NetworkPolicy: their fences are paper.
    Warnings, not errors: a cluster may run a policy engine of its own beside the CNI."""
    cluster = spec.clusters[index]
    tenants = [t.name for t in spec.tenants if cluster.name in t.clusters]
    if not tenants or cluster.cni in catalog.network_policy_cnis:
        return []
    return [
        Problem(
            key_path(["clusters", index, "cni"]),
            f"{cluster.cni!r} does not enforce NetworkPolicy, so tenants {', '.join(tenants)} are not fenced "
            f"from each other's pods; CNIs that do: {', '.join(catalog.network_policy_cnis)}",
            "warning",
        )
    ]


def _kapsule_pool_names(view: ClusterView, at: list[str | int]) -> list[Problem]:
    """A pool name is unique within its Kapsule cluster, the parts of a split training pool included."""
    owners = {part.name: p for p, pool in enumerate(view.gpu_pools) for part in kapsule_pools(pool) if part.name != pool.name}
    taken = Counter([pool.name for pool in view.pools] + list(owners))
    return [
        Problem(
            key_path([*at, "pools", p, "name"]),
            f"a part of this multi-node training pool would be the Kapsule pool {name!r}, which another pool already is; "
            "allowed: pool names that do not end in -<number> of a split pool",
        )
        for name, p in owners.items()
        if taken[name] > 1
    ]
