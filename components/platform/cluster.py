"""ClusterPlatform: everything inside one cluster, on any target."""

from __future__ import annotations

import pulumi

from .args import PlatformArgs
from .components import TYPE_PREFIX, GpuPowerCaps, PowerAwareQuotas, PowerCapArgs, QuotaArgs, Tenant, TenantArgs
from .resources import create, install_kueue, resource_name
from .storage import storage_class
from .tenancy import tenant_gpus, tenants_on


class ClusterPlatform(pulumi.ComponentResource):
    """Kueue, tenants, power-aware quotas, GPU power caps and the default StorageClass
    of the cluster `args.cluster`. Children inherit the Kubernetes provider given in `opts`."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:ClusterPlatform", name, None, opts)
        spec, plan, cluster = args.spec, args.plan, args.cluster
        child = pulumi.ResourceOptions(parent=self)
        kueue = install_kueue(name, args.kueue, child)
        self.tenants = [
            Tenant(f"{name}-{t.name}", TenantArgs(t, tenant_gpus(plan, t.name, cluster)), pulumi.ResourceOptions(parent=self))
            for t in tenants_on(spec, cluster)
        ]
        # Kueue's CRDs (and on Helm its webhooks) first; LocalQueues live in tenant namespaces.
        # The namespaces, not the Tenant components: a dependency on a component is one on all
        # its children, about ten per tenant, for the same ordering. (Measured side by side at
        # 500 tenants under mocks, the difference is within the spread: BENCHMARKS.md, section 2.)
        namespaces = [t.namespace for t in self.tenants]
        PowerAwareQuotas(
            f"{name}-quotas", QuotaArgs(spec, plan, cluster), pulumi.ResourceOptions(parent=self, depends_on=[*kueue, *namespaces])
        )
        GpuPowerCaps(f"{name}-power-caps", PowerCapArgs(spec, plan, cluster), child)
        if args.storage is not None:
            obj = storage_class(args.storage)
            create(resource_name(name, obj), obj, child)
        self.register_outputs(
            {"tenant_namespaces": [t.name for t in tenants_on(spec, cluster)], "kueue_controller": args.kueue.runs_controller}
        )
