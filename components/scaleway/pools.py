"""Node pools of a Kapsule cluster: one GpuNodePool per GPU pool of the spec, and the CPU system pool.

Changing a GPU pool's node type replaces it
-------------------------------------------
Kapsule cannot change a pool's node type (nor its zone, root volume, public IPs
or placement group) in place. Edit `node_type` of an existing pool and the next
`pulumi up` deletes the pool, with every node and every job on it, then creates
a new one (delete first: a pool's name is unique within its cluster). A preview
warns when that is about to happen (see `replacement.py`).

The safe path is a new pool under a new name, next to the old one::

    pools:
      - name: h100            # the old pool: leave it untouched for now
        node_type: H100-SXM-8-80G
        size: 64
      - name: b300            # the new pool, under a new name
        node_type: B300-SXM-8-288G
        size: 48

`pulumi up` adds `b300`; drain the `h100` nodes (`kubectl drain`), let the jobs
move (checkpoint and resubmit), then delete `h100` from the spec and run
`pulumi up` again. The planner checks the power budget with both pools at
their rated size, so it tells you whether the site can hold both at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumiverse_scaleway import instance, kubernetes

from ..view import ClusterView, PoolView
from . import pool_inputs
from .naming import child
from .replacement import PoolIdentity, warn_before_replacement


@dataclass(frozen=True)
class PoolArgs:
    view: ClusterView
    cluster_id: pulumi.Output[str]
    region: str
    tags: list[str]
    # Nodes without public IPs need the gateway's route before they boot.
    network_ready: pulumi.Resource


class GpuNodePool(pulumi.ComponentResource):
    """A GPU pool as Kapsule pools: labels, taints, no public IPs, one node upgraded at a time, and
    for multi-node training a low-latency placement group per Kapsule pool. A placement group holds at
    most 20 nodes, so a larger training pool is split into parts of at most 20 (`pool_inputs.kapsule_pools`)."""

    pools: list[kubernetes.Pool]
    placement_groups: list[instance.PlacementGroup]

    def __init__(self, name: str, gpu_pool: PoolView, args: PoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aion:scaleway:GpuNodePool", name, None, opts)
        parts = pool_inputs.kapsule_pools(gpu_pool)
        self.pools, self.placement_groups = [], []
        for index, part in enumerate(parts):
            # A pool of one part keeps the names it always had: a stack deployed before is not replaced.
            suffix = (str(index + 1),) if len(parts) > 1 else ()
            self.pools.append(self._kapsule_pool(name, suffix, gpu_pool, part, args))
        self.register_outputs({"pool_ids": [pool.id for pool in self.pools]})

    def _kapsule_pool(
        self, name: str, suffix: tuple[str, ...], gpu_pool: PoolView, part: pool_inputs.KapsulePool, args: PoolArgs
    ) -> kubernetes.Pool:
        zone = args.view.settings.zone
        settings = gpu_pool.settings
        assert settings is not None  # a GPU pool always carries its spec
        group = None
        if part.placement_group:
            group = instance.PlacementGroup(
                child(name, "placement", *suffix),
                name=f"{args.view.site}-{args.view.name}-{part.name}",
                policy_type=pool_inputs.PLACEMENT_POLICY_TYPE,
                policy_mode=pool_inputs.PLACEMENT_POLICY_MODE,
                zone=zone,
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.placement_groups.append(group)
        pool = kubernetes.Pool(
            child(name, "pool", *suffix),
            cluster_id=args.cluster_id,
            name=part.name,
            node_type=gpu_pool.node_type,
            # Always explicit: the provider's default `min_size` is 1, above a pool of size 0.
            size=part.size,
            min_size=part.min_size,
            max_size=part.max_size,
            autoscaling=gpu_pool.autoscaling,
            autohealing=settings.autohealing,
            zone=zone,
            region=args.region,
            labels=dict(gpu_pool.labels),
            taints=pool_inputs.taints(gpu_pool.taints),
            public_ip_disabled=True,
            root_volume_type=settings.root_volume_type,
            root_volume_size_in_gb=settings.root_volume_size_gb,
            upgrade_policy=pool_inputs.gpu_upgrade_policy(),
            placement_group_id=group.id if group else None,
            # GPU capacity arrives when it arrives; Kubernetes schedules onto nodes as they join.
            wait_for_pool_ready=False,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.network_ready], delete_before_replace=True),
        )
        desired = PoolIdentity(
            node_type=gpu_pool.node_type,
            zone=zone,
            root_volume_type=settings.root_volume_type,
            root_volume_size_gb=settings.root_volume_size_gb,
            public_ip_disabled=True,
            placement_group=group is not None,
        )
        warn_before_replacement(self, args.cluster_id, args.region, part.name, desired)
        return pool


def system_pool(name: str, args: PoolArgs, parent: pulumi.Resource) -> kubernetes.Pool:
    """The CPU pool for cluster add-ons (CoreDNS, the GPU operator's controllers, Kueue)."""
    pool = args.view.system_pool
    return kubernetes.Pool(
        name,
        cluster_id=args.cluster_id,
        name=pool.name,
        node_type=pool.node_type,
        size=pool.size,
        min_size=pool.min_size,
        max_size=pool.max_size,
        autoscaling=False,
        autohealing=True,
        zone=args.view.settings.zone,
        region=args.region,
        labels=dict(pool.labels),
        public_ip_disabled=True,
        upgrade_policy=pool_inputs.system_upgrade_policy(),
        # The in-cluster platform installs right after: it needs somewhere to run.
        wait_for_pool_ready=True,
        tags=args.tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[args.network_ready], delete_before_replace=True),
    )
