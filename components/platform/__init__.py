"""The in-cluster platform: tenants, power-aware GPU quotas with Kueue, GPU power caps.

The same components run on Kapsule and on the local stack: they only see a
Kubernetes provider. Pure builders (`tenancy`, `queues`, `power_caps`,
`storage`) make the objects from the spec and plan; the components turn them
into resources.
"""

from .args import PlatformArgs
from .cluster import ClusterPlatform
from .components import GpuPowerCaps, PowerAwareQuotas, PowerCapArgs, QuotaArgs, Tenant, TenantArgs
from .errors import PlatformError
from .install import KueueInstall
from .storage import StorageClassChoice
from .tenancy import tenant_namespace, tenant_service_account

__all__ = [
    "ClusterPlatform",
    "GpuPowerCaps",
    "KueueInstall",
    "PlatformArgs",
    "PlatformError",
    "PowerAwareQuotas",
    "PowerCapArgs",
    "QuotaArgs",
    "StorageClassChoice",
    "Tenant",
    "TenantArgs",
    "tenant_namespace",
    "tenant_service_account",
]
