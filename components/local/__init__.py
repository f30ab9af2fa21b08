"""The local target: a cluster on this machine (a bare control plane with KWOK, or kind).

GPU pools become simulated nodes that carry the pool's labels, taints and
`nvidia.com/gpu` capacity. The in-cluster platform runs on it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..catalog import load_catalog
from ..planner import Plan
from ..spec import FactorySpec
from .nodes import SimulatedNodes
from .simulated import node_groups

__all__ = ["LocalCluster", "LocalClusterArgs"]


@dataclass(frozen=True)
class LocalClusterArgs:
    spec: FactorySpec
    plan: Plan
    cluster: str
    kubeconfig_path: str


class LocalCluster(pulumi.ComponentResource):
    """A Kubernetes provider for the local cluster, and the simulated nodes of every pool."""

    provider: k8s.Provider

    def __init__(self, name: str, args: LocalClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aion:local:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # The path, not the file's content: a restarted control plane (new port) is not a new provider.
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=args.kubeconfig_path, opts=child)
        nodes = {
            group.pool: SimulatedNodes(f"{name}-{group.pool}-nodes", group, args.kubeconfig_path, opts=child).node_names
            for group in node_groups(args.spec, args.plan, args.cluster, load_catalog())
        }
        self.register_outputs({"kubeconfig_path": args.kubeconfig_path, "nodes": nodes})
