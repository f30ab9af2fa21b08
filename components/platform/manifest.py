"""Everything the platform puts in one cluster, as plain Kubernetes objects: a pure function of the view.

`ClusterPlatform` registers exactly these objects (Kueue's own install aside);
the golden test and the engine benchmark call the same function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..view import ClusterView
from . import power_caps, queues, tenancy
from .storage import StorageClassChoice, storage_class

Object = dict[str, Any]


@dataclass(frozen=True)
class PlatformManifest:
    """The objects grouped as the components register them, so each group gets its ordering."""

    tenants: dict[str, list[Object]]  # tenant -> its objects, namespace first
    priority_classes: list[Object]  # kube-scheduler's and Kueue's
    flavors_and_cohorts: list[Object]  # what the ClusterQueues name
    queues: list[tuple[Object, Object]]  # (ClusterQueue, LocalQueue) per tenant
    power_caps: list[Object]  # the privileged namespace first, when any pool is capped
    time_slicing: Object | None
    storage_class: Object | None

    def objects(self) -> list[Object]:
        """Every object, in the order the components register them."""
        found = [obj for objects in self.tenants.values() for obj in objects]
        found += self.priority_classes + self.flavors_and_cohorts
        found += [obj for pair in self.queues for obj in pair]
        found += self.power_caps
        found += [obj for obj in (self.time_slicing, self.storage_class) if obj is not None]
        return found


def platform_manifest(view: ClusterView, storage: StorageClassChoice | None) -> PlatformManifest:
    """The platform of the cluster `view` describes; `storage` None leaves the cluster's default StorageClass alone."""
    daemonsets = power_caps.power_cap_daemonsets(view)
    return PlatformManifest(
        tenants={tenant.name: tenancy.tenant_objects(tenant) for tenant in view.tenants},
        priority_classes=queues.priority_classes() + queues.workload_priority_classes(),
        flavors_and_cohorts=queues.resource_flavors(view) + queues.cohorts(view),
        queues=queues.queues_for(view),
        power_caps=[power_caps.system_namespace(), *daemonsets] if daemonsets else [],
        time_slicing=power_caps.time_slicing_config(view),
        storage_class=None if storage is None else storage_class(storage),
    )
