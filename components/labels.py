"""Node labels and taints of every pool, the system pool included, on every target.

Kapsule pools, simulated local nodes, Kueue flavors and the power-cap DaemonSet
all take their labels from here (through the cluster view), so they cannot drift apart.
"""

from __future__ import annotations

from .spec import Cluster, GpuPool, Taint

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
SYSTEM_POOL = "system"
# A GPU pool's taint unless the spec says otherwise: only pods that tolerate it (that ask for GPUs) land there.
GPU_TAINT = Taint(key=GPU_RESOURCE, value="present", effect="NoSchedule")


def placement_labels(cluster: Cluster, pool: str, row: str | None) -> dict[str, str]:
    """Where a node stands: its pool, cluster, hall and (when it has one) row."""
    labels = {POOL: pool, CLUSTER: cluster.name, HALL: cluster.hall}
    if row:
        labels[ROW] = row
    return labels


def gpu_pool_labels(cluster: Cluster, pool: GpuPool, gpu_model: str, flavor: str) -> dict[str, str]:
    """The labels of a GPU pool's nodes: the user's own, then ours (ours win)."""
    labels = dict(pool.labels)
    labels.update(placement_labels(cluster, pool.name, pool.row or cluster.row))
    labels.update({GPU_MODEL: gpu_model, FLAVOR: flavor})
    if pool.gpu_power_cap_w is not None:
        labels[POWER_CAP] = str(pool.gpu_power_cap_w)
    if pool.sharing.mig_profile:
        labels[MIG_PROFILE] = pool.sharing.mig_profile
    if pool.sharing.time_slicing_replicas:
        labels[DEVICE_PLUGIN_CONFIG] = pool.name
    return labels


def system_pool_labels(cluster: Cluster) -> dict[str, str]:
    """Add-ons select these; no GPU labels, so nothing GPU-bound lands here."""
    return placement_labels(cluster, SYSTEM_POOL, cluster.row)


def gpu_pool_taints(pool: GpuPool) -> tuple[Taint, ...]:
    """The pool's own taints; unset means the GPU taint."""
    return (GPU_TAINT,) if pool.taints is None else pool.taints


def flavor_selector(flavor: str) -> dict[str, str]:
    """What a Kueue ResourceFlavor selects: every pool of that GPU flavor."""
    return {FLAVOR: flavor}


def pool_selector(cluster: str, pool: str) -> dict[str, str]:
    """The nodes of exactly one pool (for the power-cap DaemonSet and the simulated nodes)."""
    return {CLUSTER: cluster, POOL: pool}
