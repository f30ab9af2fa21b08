"""The in-cluster platform: tenants, power-aware GPU quotas with Kueue, GPU power caps.

The same components run on Kapsule and on the local stack: they only see a
Kubernetes provider. `platform_manifest` builds every object from the cluster
view (pure builders: `tenancy`, `queues`, `power_caps`, `storage`); the
components register that list.
"""

from .args import PlatformArgs, PlatformChoices
from .cluster import ClusterPlatform
from .components import GpuPowerCaps, PowerAwareQuotas, Tenant
from .install import KueueInstall
from .manifest import PlatformManifest, platform_manifest
from .storage import StorageClassChoice

__all__ = [
    "ClusterPlatform",
    "GpuPowerCaps",
    "KueueInstall",
    "PlatformArgs",
    "PlatformChoices",
    "PlatformManifest",
    "PowerAwareQuotas",
    "StorageClassChoice",
    "Tenant",
    "platform_manifest",
]
