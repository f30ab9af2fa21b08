"""The Scaleway target: what `pulumi up` creates for a `target: scaleway` cluster.

`KapsuleClusterStack` is the entry point; the pieces it is made of can be
imported on their own. `credentials.require_credentials()` runs before any of it.
"""

from __future__ import annotations

from .credentials import require_credentials
from .network import NetworkArgs, ScalewayNetwork
from .pools import GpuNodePool, PoolArgs
from .stack import KapsuleClusterStack, ScalewayClusterArgs
from .storage import ClusterStorage, StorageArgs

__all__ = [
    "ClusterStorage",
    "GpuNodePool",
    "KapsuleClusterStack",
    "NetworkArgs",
    "PoolArgs",
    "ScalewayClusterArgs",
    "ScalewayNetwork",
    "StorageArgs",
    "require_credentials",
]
