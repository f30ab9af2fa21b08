"""A preview warning before a GPU pool is replaced, and the GPU jobs on it die.

Kapsule cannot change a pool's node type (nor its zone, root volume, public IPs
or placement group) in place: the provider deletes the pool and creates a new
one. Pulumi's diff shows that as a `replace` among many lines; this module adds a
warning that names the pool and says what to do instead.

How it knows: during a preview only, once the cluster's ID is known (the
cluster already exists), it reads the pool of the same name from the Scaleway
API and compares what cannot change in place with what the spec now asks.

What it does not see: a cluster that does not exist yet or is itself being
replaced (its ID is unknown in the preview: nothing to compare with); a pool
renamed or removed from the spec (it looks pools up by their new names; Pulumi
shows the deletion). A pool the API does not know (the provider's "no pool found with the
name") is new: no warning is right. Any other failed read (credentials, an API that does not
answer) is a warning of its own: the check could not run, so the preview cannot say whether a
pool is replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.runtime
from pulumiverse_scaleway import _utilities as scaleway_utilities
from pulumiverse_scaleway.kubernetes import GetPoolResult

GET_POOL = "scaleway:kubernetes/getPool:getPool"
# How the SDK reports a failed invoke: a bare Exception saying so (pulumi/runtime/invoke.py).
INVOKE_FAILED = f"invoke of {GET_POOL} failed"
# The provider's answer for a pool name the cluster does not have (terraform-provider-scaleway,
# its k8s pool data source): a pool new to the cluster.
NO_SUCH_POOL = "no pool found with the name"


@dataclass(frozen=True)
class PoolIdentity:
    """What a Scaleway pool cannot change in place: any change here replaces the pool."""

    node_type: str
    zone: str
    root_volume_type: str | None
    root_volume_size_gb: int | None
    public_ip_disabled: bool
    placement_group: bool


def same_node_type(a: str, b: str) -> bool:
    """The provider ignores case and hyphens in node types (`H100-SXM-8-80G` = `h100_sxm_8_80g`)."""

    def plain(node_type: str) -> str:
        return node_type.lower().replace("-", "").replace("_", "")

    return plain(a) == plain(b)


def replacement_reasons(live: PoolIdentity, desired: PoolIdentity) -> list[str]:
    """Why the live pool cannot become the desired one in place; empty when it can.

    A live value the API did not report (None) is not a difference.
    """
    reasons = []
    if not same_node_type(live.node_type, desired.node_type):
        reasons.append(f"node type {live.node_type} -> {desired.node_type}")
    if live.zone != desired.zone:
        reasons.append(f"zone {live.zone} -> {desired.zone}")
    if live.root_volume_type is not None and live.root_volume_type != desired.root_volume_type:
        reasons.append(f"root volume type {live.root_volume_type} -> {desired.root_volume_type}")
    if live.root_volume_size_gb is not None and live.root_volume_size_gb != desired.root_volume_size_gb:
        reasons.append(f"root volume {live.root_volume_size_gb} GB -> {desired.root_volume_size_gb} GB")
    if live.public_ip_disabled != desired.public_ip_disabled:
        reasons.append(f"public IPs disabled {live.public_ip_disabled} -> {desired.public_ip_disabled}")
    if live.placement_group != desired.placement_group:
        reasons.append("placement group added" if desired.placement_group else "placement group removed")
    return reasons


def warning(pool: str, reasons: list[str]) -> str:
    return (
        f"GPU pool {pool!r} will be REPLACED ({'; '.join(reasons)}): Scaleway deletes every node of the pool and "
        "the jobs running on them die. To move without losing jobs, keep this pool as it is, add a pool under a new "
        "name with the new settings, drain the old pool's nodes, then remove it from the spec."
    )


def check_failed(pool: str, error: Exception) -> str:
    return (
        f"could not check whether GPU pool {pool!r} would be REPLACED (the read of the live pool failed: {error}). "
        "A change of its node type, zone, root volume, public IPs or placement group deletes every node of the pool: "
        "compare them with the live pool before `pulumi up`."
    )


def live_identity(result: Any) -> PoolIdentity | None:
    """The identity of a pool as the API reports it; None when it reports no pool."""
    node_type = getattr(result, "node_type", None)
    if not node_type:
        return None
    size = getattr(result, "root_volume_size_in_gb", None)
    return PoolIdentity(
        node_type=node_type,
        zone=getattr(result, "zone", None) or "",
        root_volume_type=getattr(result, "root_volume_type", None) or None,
        root_volume_size_gb=size or None,
        public_ip_disabled=bool(getattr(result, "public_ip_disabled", False)),
        placement_group=bool(getattr(result, "placement_group_id", None)),
    )


def warn_before_replacement(owner: pulumi.Resource, cluster_id: pulumi.Output[str], region: str, pool: str, desired: PoolIdentity) -> None:
    """In a preview, warn on `owner` when the existing pool named `pool` would be replaced."""
    if not pulumi.runtime.is_dry_run():
        return

    async def check(known_cluster_id: str) -> list[str]:
        live = await _read_live_pool(owner, known_cluster_id, region, pool)
        reasons = replacement_reasons(live, desired) if live else []
        if reasons:
            pulumi.log.warn(warning(pool, reasons), resource=owner)
        return reasons

    # Runs only once the cluster's ID is known, i.e. when the cluster already exists.
    # The runtime awaits every output before the program ends, so the check finishes.
    _: pulumi.Output[list[str]] = cluster_id.apply(check)


async def _read_live_pool(owner: pulumi.Resource, cluster_id: str, region: str, pool: str) -> PoolIdentity | None:
    # Same defaults as the generated `get_pool` (provider version), with our parent's provider.
    opts = pulumi.InvokeOptions.merge(scaleway_utilities.get_invoke_opts_defaults(), pulumi.InvokeOptions(parent=owner))
    try:
        result = await pulumi.runtime.invoke_async(GET_POOL, {"clusterId": cluster_id, "name": pool, "region": region}, opts, GetPoolResult)
    except Exception as error:  # the SDK raises no narrower type for a failed invoke
        if INVOKE_FAILED not in str(error):
            raise  # not a failed read: a fault of ours, never hidden
        if NO_SUCH_POOL not in str(error):
            pulumi.log.warn(check_failed(pool, error), resource=owner)
        return None
    return live_identity(result)
