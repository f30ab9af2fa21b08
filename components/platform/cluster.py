"""ClusterPlatform: everything inside one cluster, on any target."""

from __future__ import annotations

import pulumi

from .args import PlatformArgs
from .components import TYPE_PREFIX, GpuPowerCaps, PowerAwareQuotas, Tenant
from .manifest import platform_manifest
from .resources import create, install_kueue, resource_name


class ClusterPlatform(pulumi.ComponentResource):
    """Kueue, tenants, power-aware quotas, GPU power caps and the default StorageClass of the
    cluster `args.view`: the objects of `platform_manifest`, and nothing else. Children inherit
    the Kubernetes provider given in `opts`."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:ClusterPlatform", name, None, opts)
        manifest = platform_manifest(args.view, args.choices.storage)
        child = pulumi.ResourceOptions(parent=self)
        kueue = install_kueue(name, args.choices.kueue, child)
        # Kueue's CRDs (and on Helm its webhooks) first. Each tenant's namespace after its
        # ClusterQueue, and its LocalQueue after both: a dependency on the namespace, not on the
        # Tenant component (one on a component is one on all its children, about ten per tenant).
        quotas = PowerAwareQuotas(
            f"{name}-quotas",
            manifest.priority_classes,
            manifest.flavors_and_cohorts,
            [cluster_queue for cluster_queue, _ in manifest.queues],
            pulumi.ResourceOptions(parent=self, depends_on=kueue),
        )
        self.tenants = [
            Tenant(f"{name}-{tenant}", objects, quotas.cluster_queues.get(tenant), child) for tenant, objects in manifest.tenants.items()
        ]
        if manifest.tenant_policies:
            policy, binding = manifest.tenant_policies
            policy_resource = create(resource_name(name, policy), policy, child)
            create(resource_name(name, binding), binding, pulumi.ResourceOptions(parent=self, depends_on=[policy_resource]))
        quotas.add_local_queues([local_queue for _, local_queue in manifest.queues], {t.namespace_name: t.namespace for t in self.tenants})
        GpuPowerCaps(f"{name}-power-caps", manifest.power_caps, manifest.time_slicing, child)
        if manifest.storage_class is not None:
            create(resource_name(name, manifest.storage_class), manifest.storage_class, child)
        self.register_outputs({"tenant_namespaces": [t.namespace for t in args.view.tenants], "kueue": args.choices.kueue.mode})
