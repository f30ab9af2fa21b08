"""The in-cluster components: thin shells that register a group of the platform manifest.

They see only a Kubernetes provider (inherited from their parent) and never ask
which target the cluster runs on.
"""

from __future__ import annotations

import pulumi

from ..labels import POOL
from .manifest import Object
from .resources import create, create_all, resource_name

TYPE_PREFIX = "aion:platform"


class Tenant(pulumi.ComponentResource):
    """A tenant's namespace, access, network fence, quota and request defaults (`objects`, namespace first)."""

    def __init__(self, name: str, objects: list[Object], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Tenant", name, None, opts)
        namespace, *rest = objects
        self.namespace = create(resource_name(name, namespace), namespace, pulumi.ResourceOptions(parent=self))
        create_all(name, rest, pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]))
        self.register_outputs({"namespace": namespace["metadata"]["name"]})


class PowerAwareQuotas(pulumi.ComponentResource):
    """Kueue flavors, cohorts and queues, plus the priority classes workloads pick from."""

    def __init__(
        self,
        name: str,
        priority_classes: list[Object],
        flavors_and_cohorts: list[Object],
        queues: list[tuple[Object, Object]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:PowerAwareQuotas", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        create_all(name, priority_classes, child)
        # Queues after what they name, so a destroy removes them first.
        named = create_all(name, flavors_and_cohorts, child)
        for cluster_queue, local_queue in queues:
            cq = create(resource_name(name, cluster_queue), cluster_queue, pulumi.ResourceOptions(parent=self, depends_on=named))
            create(resource_name(name, local_queue), local_queue, pulumi.ResourceOptions(parent=self, depends_on=[cq]))
        self.register_outputs({})


class GpuPowerCaps(pulumi.ComponentResource):
    """The per-GPU power caps the planner counted (`power_caps`: their namespace, then a DaemonSet per capped pool),
    and the device plugin's time-slicing config."""

    def __init__(
        self, name: str, power_caps: list[Object], time_slicing: Object | None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:GpuPowerCaps", name, None, opts)
        daemonsets: list[Object] = []
        if power_caps:
            namespace, *daemonsets = power_caps
            ns = create(resource_name(name, namespace), namespace, pulumi.ResourceOptions(parent=self))
            create_all(name, daemonsets, pulumi.ResourceOptions(parent=self, depends_on=[ns]))
        if time_slicing is not None:
            create(resource_name(name, time_slicing), time_slicing, pulumi.ResourceOptions(parent=self))
        self.register_outputs({"capped_pools": [d["metadata"]["labels"][POOL] for d in daemonsets]})
