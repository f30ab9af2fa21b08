"""KapsuleClusterStack: everything one `target: scaleway` cluster needs on Scaleway."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumiverse_scaleway import kubernetes

from ..view import ClusterView
from . import cluster_inputs, naming
from .network import NetworkArgs, ScalewayNetwork
from .pools import GpuNodePool, PoolArgs, system_pool
from .storage import ClusterStorage, StorageArgs


class KapsuleClusterStack(pulumi.ComponentResource):
    """Network, Kapsule cluster, GPU and system pools, and storage of one cluster.

    `kubeconfig` (secret) and `provider` (a Kubernetes provider built from it) are
    what the in-cluster platform needs; it never asks which target it runs on.
    The Scaleway target's preflight has already checked what Kapsule would refuse.
    """

    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    network: ScalewayNetwork
    cluster: kubernetes.Cluster
    gpu_pools: dict[str, GpuNodePool]
    system_pool: kubernetes.Pool
    storage: ClusterStorage

    def __init__(self, name: str, view: ClusterView, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aion:scaleway:ClusterStack", name, None, opts)
        parented = pulumi.ResourceOptions(parent=self)
        cluster = view.settings
        region = naming.region_of(cluster.zone)
        tags = naming.tags(view)
        display_name = naming.scaleway_name(view)

        self.network = ScalewayNetwork(
            naming.child(name, "network"),
            NetworkArgs(display_name=display_name, zone=cluster.zone, region=region, subnet=cluster.subnet, tags=tags),
            opts=parented,
        )
        self.cluster = kubernetes.Cluster(
            naming.child(name, "cluster"),
            name=display_name,
            type=cluster_inputs.control_plane(view),
            version=cluster.kubernetes_version,
            cni=cluster.cni,
            region=region,
            private_network_id=self.network.private_network.id,
            auto_upgrade=cluster_inputs.auto_upgrade(view),
            autoscaler_config=cluster_inputs.autoscaler_config(),
            delete_additional_resources=cluster.delete_additional_resources,
            tags=tags,
            opts=parented,
        )
        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfigs.apply(first_kubeconfig))
        self.provider = k8s.Provider(naming.child(name, "k8s"), kubeconfig=self.kubeconfig, opts=parented)

        pool_args = PoolArgs(view=view, cluster_id=self.cluster.id, region=region, tags=tags, network_ready=self.network.gateway_network)
        self.system_pool = system_pool(naming.child(name, "system-pool"), pool_args, parent=self)
        self.gpu_pools = {pool.name: GpuNodePool(naming.child(name, pool.name), pool, pool_args, opts=parented) for pool in view.gpu_pools}
        self.storage = ClusterStorage(
            naming.child(name, "storage"),
            StorageArgs(
                storage=cluster.storage,
                display_name=display_name,
                region=region,
                tags=tags,
                bucket_tags=naming.bucket_tags(view),
            ),
            opts=parented,
        )
        self.register_outputs(
            {
                "cluster_id": self.cluster.id,
                "kubeconfig": self.kubeconfig,
                "private_network_id": self.network.private_network.id,
                "bucket_name": self.storage.bucket_name,
            }
        )


def first_kubeconfig(kubeconfigs: Sequence[Any] | None) -> str:
    """The kubeconfig file of a Kapsule cluster (the provider returns a one-item list)."""
    if not kubeconfigs:
        raise ValueError("the Kapsule cluster returned no kubeconfig")
    config_file: str = kubeconfigs[0].config_file
    return config_file
