"""Labels: of every pool's nodes (and their taints), and of every object the platform creates.

Kapsule pools, simulated local nodes, Kueue flavors and the power-cap DaemonSet
all take their node labels from here (through the cluster view), so they cannot drift apart.
The platform's objects take Kubernetes' recommended labels and their Pod Security
version pins from here too (`platform.manifest` applies them, in one place).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .spec import SYSTEM_POOL, Cluster, GpuPool, Taint

PREFIX = "aion-factory.io"
POOL = f"{PREFIX}/pool"
CLUSTER = f"{PREFIX}/cluster"
GPU_MODEL = f"{PREFIX}/gpu-model"
FLAVOR = f"{PREFIX}/gpu-flavor"
HALL = f"{PREFIX}/hall"
ROW = f"{PREFIX}/row"
RACK = f"{PREFIX}/rack"
# The kind of level of the power tree a node draws from (hall, row or rack): a Kueue flavor split by
# level selects it, since a node that draws from the hall itself carries no row label to tell it apart.
POWER_LEVEL = f"{PREFIX}/power-level"
# Set by the kubelet on every node: the lowest level of Kueue's Topology, so TAS picks the nodes.
HOSTNAME = "kubernetes.io/hostname"
POWER_CAP = f"{PREFIX}/gpu-power-cap-w"
MIG_PROFILE = "nvidia.com/mig.config"
# The device plugin picks its time-slicing config by this node label (value: a key of its ConfigMap).
DEVICE_PLUGIN_CONFIG = "nvidia.com/device-plugin.config"
# Set by the NVIDIA GPU operator once drivers are up (DOMAIN.md); simulated nodes carry it too.
GPU_PRESENT = "nvidia.com/gpu.present"
GPU_RESOURCE = "nvidia.com/gpu"
# A GPU pool's taint unless the spec says otherwise: only pods that tolerate it (that ask for GPUs) land there.
GPU_TAINT = Taint(key=GPU_RESOURCE, value="present", effect="NoSchedule")


def placement_labels(cluster: Cluster, pool: str, row: str | None, rack: str | None = None) -> dict[str, str]:
    """Where a node stands: its pool, cluster, the levels of the power tree it stands in (hall, and
    when it has them row and rack), and the kind of level it draws from."""
    labels = {POOL: pool, CLUSTER: cluster.name, HALL: cluster.hall, POWER_LEVEL: "hall"}
    if row:
        labels.update({ROW: row, POWER_LEVEL: "row"})
    if row and rack:
        labels.update({RACK: rack, POWER_LEVEL: "rack"})
    return labels


def gpu_pool_labels(cluster: Cluster, pool: GpuPool, gpu_model: str, flavor: str) -> dict[str, str]:
    """The labels of a GPU pool's nodes: the user's own, then ours (ours win)."""
    labels = dict(pool.labels)
    labels.update(placement_labels(cluster, pool.name, pool.row or cluster.row, pool.rack))
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


def flavor_selector(pool_labels: Mapping[str, str], by_level: bool) -> dict[str, str]:
    """What a Kueue ResourceFlavor selects, given the labels of one of its pools: every pool of that
    GPU flavor; `by_level` (a flavor per level of the power tree), those that draw from the same level."""
    keys = (FLAVOR, POWER_LEVEL, ROW, RACK) if by_level else (FLAVOR,)
    return {key: pool_labels[key] for key in keys if key in pool_labels}


def topology_levels(gpu_pool_labels: Iterable[Mapping[str, str]]) -> tuple[str, ...]:
    """The levels of the GPU pools' Kueue Topology, outermost first: the hall, the row and the rack
    where every GPU pool stands in one (TAS leaves out a node without a level's label), then the node."""
    found = list(gpu_pool_labels)
    inner = tuple(level for level in (ROW, RACK) if found and all(level in labels for labels in found))
    return (HALL, *inner, HOSTNAME)


# cpu and memory's flavor spans every node of the cluster, the system pool's too, which stands in no rack.
NODE_TOPOLOGY_LEVELS = (HALL, HOSTNAME)


def pool_selector(cluster: str, pool: str) -> dict[str, str]:
    """The nodes of exactly one pool (for the power-cap DaemonSet and the simulated nodes)."""
    return {CLUSTER: cluster, POOL: pool}


# Kubernetes' recommended labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/).
APP_NAME = "app.kubernetes.io/name"
APP_INSTANCE = "app.kubernetes.io/instance"
APP_VERSION = "app.kubernetes.io/version"
APP_COMPONENT = "app.kubernetes.io/component"
APP_PART_OF = "app.kubernetes.io/part-of"
APP_MANAGED_BY = "app.kubernetes.io/managed-by"
PLATFORM_APP = "aion-platform"  # the application: everything the platform puts in one cluster
PART_OF = "aion-factory"
MANAGED_BY = "pulumi"  # the tool that applies the objects: a stack owns them

# Pod Security Admission's namespace labels: a level per mode, and the policy version it is read at
# (https://kubernetes.io/docs/concepts/security/pod-security-admission/; version pins:
# https://kubernetes.io/docs/tasks/configure-pod-container/enforce-standards-namespace-labels/).
POD_SECURITY = "pod-security.kubernetes.io"
POD_SECURITY_MODES = ("enforce", "audit", "warn")

_KUBERNETES_MINOR = re.compile(r"^v?(\d+)\.(\d+)(\.\d+)?$")


def label_value(text: str) -> str:
    """`text` as a valid label value: other characters become `_` (a version's `+local`), at most 63."""
    return re.sub(r"[^-A-Za-z0-9_.]", "_", text)[:63].strip("-_.")


def recommended_labels(instance: str, component: str, version: str) -> dict[str, str]:
    """What every platform object says of itself: part of which instance (the cluster), which
    component, at which release of aion-factory, and who manages it."""
    return {
        APP_NAME: PLATFORM_APP,
        APP_INSTANCE: label_value(instance),
        APP_VERSION: label_value(version),
        APP_COMPONENT: component,
        APP_PART_OF: PART_OF,
        APP_MANAGED_BY: MANAGED_BY,
    }


def pod_security_levels(level: str) -> dict[str, str]:
    """The same level in every mode: enforced, audited and warned about."""
    return {f"{POD_SECURITY}/{mode}": level for mode in POD_SECURITY_MODES}


def pod_security_version(kubernetes_version: str) -> str:
    """The policy version a cluster of `kubernetes_version` (`1.35`, `1.35.4`, `v1.35.4`) pins: `v1.35`.
    Pinned rather than `latest`: a control-plane upgrade alone never changes the rules a tenant's pods
    are admitted under; the new minor's policy comes with the stack change that moves the cluster to it."""
    found = _KUBERNETES_MINOR.match(kubernetes_version)
    if found is None:
        raise ValueError(f"kubernetes version {kubernetes_version[:40]!r} is not major.minor[.patch]")
    return f"v{found[1]}.{found[2]}"


def pod_security_version_pins(namespace_labels: dict[str, str], kubernetes_version: str) -> dict[str, str]:
    """The version label of each Pod Security mode the namespace sets a level for."""
    version = pod_security_version(kubernetes_version)
    return {f"{POD_SECURITY}/{mode}-version": version for mode in POD_SECURITY_MODES if f"{POD_SECURITY}/{mode}" in namespace_labels}
