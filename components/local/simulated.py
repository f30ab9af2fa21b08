"""What a pool looks like as simulated nodes: names, labels, taints, capacity. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import labels as node_labels
from ..catalog import Catalog
from ..planner import Plan
from ..spec import FactorySpec

FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"
SIMULATED = "aion-factory.io/simulated"
PODS_PER_NODE = "110"  # upstream default per node (DOMAIN.md)


@dataclass(frozen=True)
class NodeGroup:
    """One pool's simulated nodes: `count` nodes named `<prefix>-<i>`."""

    cluster: str
    pool: str
    count: int
    labels: dict[str, str]
    taints: list[dict[str, str]]
    capacity: dict[str, str]

    @property
    def prefix(self) -> str:
        return f"{self.cluster}-{self.pool}"

    def node_names(self) -> list[str]:
        return [f"{self.prefix}-{i}" for i in range(self.count)]


def node_groups(spec: FactorySpec, plan: Plan, cluster_name: str, catalog: Catalog) -> list[NodeGroup]:
    """A group per GPU pool at its current size (not its rated max), then the system pool."""
    cluster = spec.cluster(cluster_name)
    planned = {p.name: p for p in plan.pools_of(cluster_name)}
    groups = []
    for pool in cluster.pools:
        node = catalog.gpu_node_types[pool.node_type]
        groups.append(
            NodeGroup(
                cluster=cluster.name,
                pool=pool.name,
                count=pool.size,
                labels=node_labels.pool_labels(spec.site, cluster, pool, planned[pool.name]) | {node_labels.GPU_PRESENT: "true"},
                taints=[t.model_dump() for t in pool.effective_taints],
                capacity=_capacity(node.vcpus, node.ram_gib, node.gpus),
            )
        )
    system = catalog.cpu_node_types[cluster.system_pool.node_type]
    groups.append(
        NodeGroup(
            cluster=cluster.name,
            pool="system",
            count=cluster.system_pool.size,
            labels={node_labels.CLUSTER: cluster.name, node_labels.POOL: "system"},
            taints=[],
            capacity=_capacity(system.vcpus, system.ram_gib, 0),
        )
    )
    return groups


def _capacity(vcpus: int, ram_gib: int, gpus: int) -> dict[str, str]:
    capacity = {"cpu": str(vcpus), "memory": f"{ram_gib}Gi", "pods": PODS_PER_NODE}
    if gpus:
        capacity[node_labels.GPU_RESOURCE] = str(gpus)
    return capacity


def node_manifest(group: NodeGroup, name: str) -> dict[str, Any]:
    """A Node that KWOK adopts (by annotation) and keeps Ready; its status carries the GPUs."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": group.labels | {"kubernetes.io/hostname": name, SIMULATED: "true", "type": "kwok"},
            "annotations": {FAKE_NODE_ANNOTATION: "fake"},
        },
        "spec": {"taints": group.taints},
        "status": {"capacity": group.capacity, "allocatable": group.capacity},
    }
