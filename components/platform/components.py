"""The in-cluster components: thin shells that turn pure object builders into resources.

They see only a Kubernetes provider (inherited from their parent) and never ask
which target the cluster runs on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from ..labels import POOL
from ..planner import Plan
from ..spec import FactorySpec
from ..spec import Tenant as TenantSpec
from . import power_caps, queues, tenancy
from .resources import create, create_all, resource_name

TYPE_PREFIX = "aion:platform"


@dataclass(frozen=True)
class TenantArgs:
    tenant: TenantSpec
    gpus: int  # the tenant's GPUs on this cluster, every flavor, from the plan


class Tenant(pulumi.ComponentResource):
    """A tenant's namespace, access, network fence, quota and request defaults."""

    def __init__(self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Tenant", name, None, opts)
        namespace, *rest = tenancy.tenant_objects(args.tenant, args.gpus)
        self.namespace = create(resource_name(name, namespace), namespace, pulumi.ResourceOptions(parent=self))
        create_all(name, rest, pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]))
        self.register_outputs({"namespace": namespace["metadata"]["name"]})


@dataclass(frozen=True)
class QuotaArgs:
    spec: FactorySpec
    plan: Plan
    cluster: str


class PowerAwareQuotas(pulumi.ComponentResource):
    """Kueue flavors, cohorts and queues, plus the priority classes workloads pick from."""

    def __init__(self, name: str, args: QuotaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:PowerAwareQuotas", name, None, opts)
        spec, plan, cluster = args.spec, args.plan, args.cluster
        child = pulumi.ResourceOptions(parent=self)
        create_all(name, queues.priority_classes(), child)
        create_all(name, queues.workload_priority_classes(), child)
        # Queues after what they name, so a destroy removes them first.
        named = create_all(name, queues.resource_flavors(spec, plan, cluster) + queues.cohorts(spec, cluster), child)
        for cluster_queue, local_queue in queues.queues_for(spec, plan, cluster):
            cq = create(resource_name(name, cluster_queue), cluster_queue, pulumi.ResourceOptions(parent=self, depends_on=named))
            create(resource_name(name, local_queue), local_queue, pulumi.ResourceOptions(parent=self, depends_on=[cq]))
        self.register_outputs({})


@dataclass(frozen=True)
class PowerCapArgs:
    spec: FactorySpec
    plan: Plan
    cluster: str


class GpuPowerCaps(pulumi.ComponentResource):
    """The per-GPU power caps the planner counted, and the device plugin's time-slicing config."""

    def __init__(self, name: str, args: PowerCapArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:GpuPowerCaps", name, None, opts)
        daemonsets = power_caps.power_cap_daemonsets(args.spec, args.plan, args.cluster)
        if daemonsets:
            namespace = power_caps.system_namespace()
            ns = create(resource_name(name, namespace), namespace, pulumi.ResourceOptions(parent=self))
            create_all(name, daemonsets, pulumi.ResourceOptions(parent=self, depends_on=[ns]))
        config = power_caps.time_slicing_config(args.spec, args.cluster)
        if config is not None:
            create(resource_name(name, config), config, pulumi.ResourceOptions(parent=self))
        self.register_outputs({"capped_pools": [d["metadata"]["labels"][POOL] for d in daemonsets]})
