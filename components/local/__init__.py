"""The local target: a cluster on this machine (a bare control plane with KWOK, or kind).

GPU pools become simulated nodes that carry the pool's labels, taints and
`nvidia.com/gpu` capacity. The in-cluster platform runs on it unchanged.
`LocalTarget` is the adapter the program selects; `LocalCluster` its infrastructure.
"""

from __future__ import annotations

from .cluster import LocalCluster
from .target import LocalTarget

__all__ = ["LocalCluster", "LocalTarget"]
