"""LocalCluster: a Kubernetes provider for a cluster on this machine, and the simulated nodes of every pool."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ..view import ClusterView
from .nodes import SimulatedNodes
from .simulated import node_groups


class LocalCluster(pulumi.ComponentResource):
    """A Kubernetes provider for the local cluster at `kubeconfig_path`, and the simulated nodes of every pool."""

    provider: k8s.Provider

    def __init__(self, name: str, view: ClusterView, kubeconfig_path: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aion:local:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # The path, not the file's content: a restarted control plane (new port) is not a new provider.
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig_path, opts=child)
        nodes = {
            group.pool: SimulatedNodes(f"{name}-{group.pool}-nodes", group, kubeconfig_path, opts=child).node_names
            for group in node_groups(view)
        }
        self.register_outputs({"kubeconfig_path": kubeconfig_path, "nodes": nodes})
