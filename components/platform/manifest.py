"""Everything the platform puts in one cluster, as plain Kubernetes objects: a pure function of the view.

`ClusterPlatform` registers exactly these objects (Kueue's own install aside);
the golden test and the engine benchmark call the same function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..labels import pod_security_version_pins, recommended_labels
from ..view import ClusterView
from . import power_caps, queues, tenancy, tenant_admission
from .storage import StorageClassChoice, storage_class

Object = dict[str, Any]

# The `app.kubernetes.io/component` of each group: what the object is there for.
TENANT = "tenant"
QUOTAS = "quotas"
POWER_CAP = "power-cap"
GPU_SHARING = "gpu-sharing"
STORAGE = "storage"
ADMISSION = "admission"


@dataclass(frozen=True)
class PlatformManifest:
    """The objects grouped as the components register them, so each group gets its ordering."""

    admission_policies: list[Object]  # each ValidatingAdmissionPolicy, then its binding: in force before any tenant namespace
    tenants: dict[str, list[Object]]  # tenant -> its objects, namespace first
    tenant_policies: list[Object]  # cluster-wide admission policies over every tenant namespace: policy, then binding
    priority_classes: list[Object]  # kube-scheduler's and Kueue's
    flavors_and_cohorts: list[Object]  # what the ClusterQueues name: Topologies, flavors, cohorts
    queues: list[tuple[Object, Object]]  # (ClusterQueue, LocalQueue) per tenant
    power_caps: list[Object]  # the privileged namespace first, then each GPU pool's cap ConfigMap and DaemonSet
    time_slicing: Object | None
    storage_class: Object | None

    def objects(self) -> list[Object]:
        """Every object, in the order the components register them."""
        found = list(self.admission_policies)
        found += [obj for objects in self.tenants.values() for obj in objects] + self.tenant_policies
        found += self.priority_classes + self.flavors_and_cohorts
        found += [obj for pair in self.queues for obj in pair]
        found += self.power_caps
        found += [obj for obj in (self.time_slicing, self.storage_class) if obj is not None]
        return found


def platform_manifest(view: ClusterView, storage: StorageClassChoice | None) -> PlatformManifest:
    """The platform of the cluster `view` describes; `storage` None leaves the cluster's default StorageClass alone.
    Every object carries the recommended labels (`with_platform_labels`), added here and nowhere else."""

    def label(component: str, objects: list[Object]) -> list[Object]:
        return [with_platform_labels(obj, view, component) for obj in objects]

    cap_objects = power_caps.power_cap_objects(view)
    time_slicing = power_caps.time_slicing_config(view)
    return PlatformManifest(
        admission_policies=label(ADMISSION, tenant_admission.admission_policies(view)),
        tenants={tenant.name: label(TENANT, tenancy.tenant_objects(tenant)) for tenant in view.tenants},
        tenant_policies=label(TENANT, tenancy.service_account_token_policy()) if view.tenants else [],
        priority_classes=label(QUOTAS, queues.priority_classes() + queues.workload_priority_classes()),
        flavors_and_cohorts=label(QUOTAS, queues.topologies(view) + queues.resource_flavors(view) + queues.cohorts(view)),
        queues=[(with_platform_labels(cq, view, QUOTAS), with_platform_labels(lq, view, QUOTAS)) for cq, lq in queues.queues_for(view)],
        power_caps=label(POWER_CAP, [power_caps.system_namespace(), *cap_objects]) if cap_objects else [],
        time_slicing=None if time_slicing is None else with_platform_labels(time_slicing, view, GPU_SHARING),
        storage_class=None if storage is None else with_platform_labels(storage_class(storage), view, STORAGE),
    )


def with_platform_labels(obj: Object, view: ClusterView, component: str) -> Object:
    """`obj` (a copy) with Kubernetes' recommended labels, and on a namespace the version of each Pod
    Security level it sets, pinned to the cluster's minor. The object's own labels win (the power-cap
    DaemonSet names its own app). Only `metadata.labels`: a workload's selector and pod template stay
    as built, a selector being immutable."""
    meta = obj["metadata"]
    own: dict[str, str] = meta.get("labels", {})
    labels = dict(own)
    if obj["kind"] == "Namespace":
        labels.update(pod_security_version_pins(own, view.settings.kubernetes_version))
    for key, value in recommended_labels(view.name, component, __version__).items():
        labels.setdefault(key, value)
    return {**obj, "metadata": {**meta, "labels": labels}}
