"""Node labels every target puts on a GPU pool's nodes, and that selectors match.

Kapsule pools, simulated local nodes, Kueue flavors and the power-cap DaemonSet
all take their labels from here, so they cannot drift apart.
"""

from __future__ import annotations

from .planner import PoolPlan
from .spec import Cluster, GpuPool, Site

PREFIX = "aion-factory.io"
POOL = f"{PREFIX}/pool"
CLUSTER = f"{PREFIX}/cluster"
GPU_MODEL = f"{PREFIX}/gpu-model"
FLAVOR = f"{PREFIX}/gpu-flavor"
HALL = f"{PREFIX}/hall"
ROW = f"{PREFIX}/row"
POWER_CAP = f"{PREFIX}/gpu-power-cap-w"
MIG_PROFILE = "nvidia.com/mig.config"
# The device plugin picks its time-slicing config by this node label (value: a key of its ConfigMap).
DEVICE_PLUGIN_CONFIG = "nvidia.com/device-plugin.config"
# Set by the NVIDIA GPU operator once drivers are up (DOMAIN.md); simulated nodes carry it too.
GPU_PRESENT = "nvidia.com/gpu.present"
GPU_RESOURCE = "nvidia.com/gpu"


def pool_labels(site: Site, cluster: Cluster, pool: GpuPool, planned: PoolPlan) -> dict[str, str]:
    """The labels of a GPU pool's nodes: the user's own, then ours (ours win)."""
    row = pool.row or cluster.row
    labels = dict(pool.labels)
    labels.update(
        {
            POOL: pool.name,
            CLUSTER: cluster.name,
            GPU_MODEL: planned.gpu_model or "",
            FLAVOR: planned.flavor or "",
            HALL: cluster.hall,
        }
    )
    if row:
        labels[ROW] = row
    if pool.gpu_power_cap_w is not None:
        labels[POWER_CAP] = str(pool.gpu_power_cap_w)
    if pool.sharing.mig_profile:
        labels[MIG_PROFILE] = pool.sharing.mig_profile
    if pool.sharing.time_slicing_replicas:
        labels[DEVICE_PLUGIN_CONFIG] = pool.name
    return labels


def flavor_selector(flavor: str) -> dict[str, str]:
    """What a Kueue ResourceFlavor selects: every pool of that GPU flavor."""
    return {FLAVOR: flavor}


def pool_selector(cluster: str, pool: str) -> dict[str, str]:
    """The nodes of exactly one pool (for the power-cap DaemonSet)."""
    return {CLUSTER: cluster, POOL: pool}
