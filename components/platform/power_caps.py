"""Per-GPU power caps and GPU sharing, as plain Kubernetes objects rendered from templates/."""

from __future__ import annotations

from typing import Any

from .. import labels
from ..labels import APP_NAME, APP_PART_OF, GPU_RESOURCE, PART_OF, POOL, pod_security_levels, pool_selector
from ..rendering import render_manifests
from ..spec import SYSTEM_NAMESPACE
from ..view import ClusterView
from .images import POWER_CAP
from .queues import toleration

# Privileged pods (nvidia-smi -pl needs root on the driver) live apart from tenants.
# Kapsule installs the GPU operator, and so reads its device plugin config, in kube-system (Scaleway docs).
GPU_OPERATOR_NAMESPACE = "kube-system"
TIME_SLICING_CONFIG = "aion-time-slicing"
# How often the loop reads its cap and the driver's limit: a derate's cap applies within this (README:
# "what happens on a derate"); nvidia-smi's queries cost far less than a second.
CHECK_INTERVAL_S = 15
DEFAULT_CAP = "default"  # the GPU's own default limit, read on the node


def system_namespace() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE, "labels": pod_security_levels("privileged")}}


def power_cap_daemonsets(view: ClusterView) -> list[dict[str, Any]]:
    """The DaemonSet of each GPU pool."""
    return [obj for obj in power_cap_objects(view) if obj["kind"] == "DaemonSet"]


def power_cap_objects(view: ClusterView) -> list[dict[str, Any]]:
    """A ConfigMap and a DaemonSet per GPU pool, applying the cap the planner counted (a power event's
    included), or the GPU's default limit where there is none: a pool a derate capped is set back when it ends."""
    objects = []
    for pool in view.gpu_pools:
        cap = DEFAULT_CAP if pool.gpu_power_cap_w is None else pool.gpu_power_cap_w
        objects += render_manifests(
            "gpu-power-cap.yaml.j2",
            daemonset_name=f"gpu-power-cap-{pool.name}",
            namespace=SYSTEM_NAMESPACE,
            # Its selector too, so they never change (a selector is immutable): the recommended labels that
            # vary (instance, version) go on the DaemonSet's own metadata only (platform_manifest).
            labels={APP_NAME: "gpu-power-cap", APP_PART_OF: PART_OF, POOL: pool.name},
            config_labels={APP_PART_OF: PART_OF, POOL: pool.name},
            node_selector=pool_selector(view.name, pool.name),
            tolerations=[toleration(t) for t in pool.taints],
            cap=cap,
            # The cap on the DaemonSet too, under the label key the nodes carry it by: what a reader of the cluster sees.
            annotations={labels.POWER_CAP: str(cap)},
            check_interval_s=CHECK_INTERVAL_S,
            image=POWER_CAP.reference(view.settings.image_registry),
        )
    return objects


def time_slicing_config(view: ClusterView) -> dict[str, Any] | None:
    """The device plugin's time-slicing config, keyed by pool; None when no pool shares its GPUs."""
    pools = [{"name": p.name, "replicas": p.time_slicing_replicas} for p in view.gpu_pools if p.time_slicing_replicas]
    if not pools:
        return None
    context = {"config_name": TIME_SLICING_CONFIG, "namespace": GPU_OPERATOR_NAMESPACE, "gpu_resource": GPU_RESOURCE}
    [config_map] = render_manifests("gpu-time-slicing.yaml.j2", pools=pools, **context)
    return config_map
