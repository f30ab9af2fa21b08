"""The in-cluster components: thin shells that register a group of the platform manifest.

They see only a Kubernetes provider (inherited from their parent) and never ask
which target the cluster runs on.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from ..labels import POOL
from .manifest import Object
from .resources import create, create_all, resource_name

TYPE_PREFIX = "aion:platform"


class TenantAdmission(pulumi.ComponentResource):
    """The ValidatingAdmissionPolicies of the tenant namespaces, each binding after its policy."""

    def __init__(self, name: str, objects: list[Object], opts: pulumi.ResourceOptions) -> None:
        super().__init__(f"{TYPE_PREFIX}:TenantAdmission", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        policies = {
            obj["metadata"]["name"]: create(resource_name(name, obj), obj, child)
            for obj in objects
            if obj["kind"] == "ValidatingAdmissionPolicy"
        }
        bindings = [
            create(resource_name(name, obj), obj, pulumi.ResourceOptions(parent=self, depends_on=[policies[obj["spec"]["policyName"]]]))
            for obj in objects
            if obj["kind"] == "ValidatingAdmissionPolicyBinding"
        ]
        self.resources: list[pulumi.Resource] = [*policies.values(), *bindings]
        self.register_outputs({})


class Tenant(pulumi.ComponentResource):
    """A tenant's namespace, access, network fence, quota and request defaults (`objects`, namespace first).
    The namespace comes after `after`: the tenant's ClusterQueue, so a destroy deletes it first (Kueue
    keeps a ClusterQueue while work it admitted runs, and that work goes with the namespace), and the
    admission policies, so no tenant namespace exists unfenced."""

    def __init__(self, name: str, objects: list[Object], after: list[pulumi.Resource], opts: pulumi.ResourceOptions) -> None:
        super().__init__(f"{TYPE_PREFIX}:Tenant", name, None, opts)
        namespace, *rest = objects
        self.namespace_name: str = namespace["metadata"]["name"]
        self.namespace = create(resource_name(name, namespace), namespace, pulumi.ResourceOptions(parent=self, depends_on=after))
        create_all(name, rest, pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]))
        self.register_outputs({"namespace": namespace["metadata"]["name"]})


class PowerAwareQuotas(pulumi.ComponentResource):
    """Kueue flavors, cohorts and ClusterQueues, plus the priority classes workloads pick from;
    `add_local_queues` adds each tenant's LocalQueue once its namespace exists."""

    def __init__(
        self,
        name: str,
        priority_classes: list[Object],
        flavors_and_cohorts: list[Object],
        cluster_queues: list[Object],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:PowerAwareQuotas", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        create_all(name, priority_classes, child)
        # Queues after what they name, so a destroy removes them first.
        named = create_all(name, flavors_and_cohorts, child)
        self.cluster_queues = {
            cq["metadata"]["name"]: create(resource_name(name, cq), cq, pulumi.ResourceOptions(parent=self, depends_on=named))
            for cq in cluster_queues
        }
        self.register_outputs({})

    def add_local_queues(self, local_queues: list[Object], namespaces: Mapping[str, pulumi.Resource]) -> None:
        """Each LocalQueue after its ClusterQueue and its tenant's namespace, where it lives."""
        for lq in local_queues:
            after = [self.cluster_queues[lq["spec"]["clusterQueue"]], namespaces[lq["metadata"]["namespace"]]]
            create(resource_name(self._name, lq), lq, pulumi.ResourceOptions(parent=self, depends_on=after))


class GpuPowerCaps(pulumi.ComponentResource):
    """The per-GPU power caps the planner counted (`power_caps`: their namespace, then a ConfigMap and a DaemonSet
    per GPU pool), and the device plugin's time-slicing config."""

    def __init__(
        self, name: str, power_caps: list[Object], time_slicing: Object | None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:GpuPowerCaps", name, None, opts)
        objects: list[Object] = []
        if power_caps:
            namespace, *objects = power_caps
            ns = create(resource_name(name, namespace), namespace, pulumi.ResourceOptions(parent=self))
            create_all(name, objects, pulumi.ResourceOptions(parent=self, depends_on=[ns]))
        daemonsets = [obj for obj in objects if obj["kind"] == "DaemonSet"]
        if time_slicing is not None:
            create(resource_name(name, time_slicing), time_slicing, pulumi.ResourceOptions(parent=self))
        self.register_outputs({"capped_pools": [d["metadata"]["labels"][POOL] for d in daemonsets if _capped(d)]})


def _capped(daemonset: Object) -> bool:
    """A pool held under a cap, not at its GPUs' default limit."""
    return bool(daemonset["metadata"].get("annotations", {}).get("aion-factory.io/gpu-power-cap-w", "default") != "default")
