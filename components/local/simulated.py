"""What a pool looks like as simulated nodes: names, labels, taints, capacity. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import labels as node_labels
from ..view import ClusterView

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


def node_groups(view: ClusterView) -> list[NodeGroup]:
    """A group per pool at its current size (not its rated max), the system pool last."""
    return [
        NodeGroup(
            cluster=view.name,
            pool=pool.name,
            count=pool.size,
            # The GPU operator labels a GPU node once its drivers are up; a simulated node has none to wait for.
            labels=dict(pool.labels) | ({node_labels.GPU_PRESENT: "true"} if pool.is_gpu else {}),
            taints=[t.model_dump() for t in pool.taints],
            capacity=_capacity(pool.vcpus, pool.ram_gib, pool.gpus_per_node),
        )
        for pool in view.pools
    ]


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


def pod_runtime(duration: str) -> dict[str, str]:
    """A pod's annotations to run `duration` (a Go duration: `4s`, `1h`) on a simulated node, then
    succeed: KWOK's general pod-complete stage reads them. The jitter bound goes with the delay: the
    stage's own default (5 s) would otherwise end a longer run early."""
    return {"pod-complete.stage.kwok.x-k8s.io/delay": duration, "pod-complete.stage.kwok.x-k8s.io/jitter-delay": duration}
