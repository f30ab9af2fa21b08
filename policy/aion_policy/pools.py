"""GPU pools get no public IPs: their nodes reach out through the cluster's public gateway."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aion_factory import load_catalog

# The module name, and the legacy flat name pulumiverse_scaleway still accepts.
POOL_TYPES = frozenset({"scaleway:kubernetes/pool:Pool", "scaleway:index/kubernetesNodePool:KubernetesNodePool"})


def public_ip_finding(resource_type: str, props: Mapping[str, Any]) -> str | None:
    """A message when `props` (engine names: nodeType, publicIpDisabled) describe a GPU pool with public IPs."""
    if resource_type not in POOL_TYPES:
        return None
    node_type = props.get("nodeType")
    if node_type not in load_catalog().gpu_node_types:
        return None  # a CPU pool (the system pool) may be public
    if props.get("publicIpDisabled") is True:
        return None
    name = props.get("name") or "?"
    return (
        f"GPU pool {name} ({node_type}) would give its nodes public IPs: set public_ip_disabled=True "
        "(Kapsule then routes them through the private network's public gateway)"
    )
