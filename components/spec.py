"""The factory spec: what a stack's `aion:` config may say, as frozen pydantic models.

These models check shapes, types and ranges. Rules that need the catalog or
look across the spec (known node types, zones, halls, tenant clusters) live in
`checks.py`, so each message can name the exact key that is wrong.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, PositiveInt

# Names end up in Kubernetes and Scaleway resource names: DNS labels, kept short.
Name = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=40)]
Oversubscription = Annotated[float, Field(ge=1.0, le=3.0)]
Ratio = Annotated[float, Field(ge=0.0, le=1.0)]
Target = Literal["scaleway", "local"]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Row(_Spec):
    name: Name
    it_power_kw: PositiveFloat
    oversubscription: Oversubscription = 1.0


class Hall(_Spec):
    name: Name
    it_power_kw: PositiveFloat
    oversubscription: Oversubscription = 1.0
    rows: tuple[Row, ...] = ()


class Site(_Spec):
    name: Name
    facility_power_mw: PositiveFloat
    pue: Annotated[float, Field(ge=1.0, le=3.0)]
    oversubscription: Oversubscription = 1.0
    halls: Annotated[tuple[Hall, ...], Field(min_length=1)]


class Taint(_Spec):
    key: str = Field(min_length=1)
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


GPU_TAINT = Taint(key="nvidia.com/gpu", value="present", effect="NoSchedule")


class GpuSharing(_Spec):
    """Optional sharing of a pool's GPUs: time-slicing replicas, or a MIG profile label."""

    time_slicing_replicas: Annotated[int, Field(ge=2, le=48)] | None = None
    mig_profile: str | None = Field(default=None, pattern=r"^[a-z0-9.-]+$")


class GpuPool(_Spec):
    name: Name
    node_type: str
    size: NonNegativeInt
    min_size: NonNegativeInt = 0
    max_size: NonNegativeInt | None = None
    autoscaling: bool = False
    autohealing: bool = True
    # None means the default GPU taint; an empty list means no taint at all.
    taints: tuple[Taint, ...] | None = None
    labels: dict[str, str] = {}
    gpu_power_cap_w: PositiveInt | None = None
    row: Name | None = None
    multi_node_training: bool = False
    root_volume_type: Literal["sbs_5k", "sbs_15k", "l_ssd"] = "sbs_5k"
    root_volume_size_gib: Annotated[int, Field(ge=20, le=10_000)] = 100
    sharing: GpuSharing = GpuSharing()

    @property
    def rated_nodes(self) -> int:
        """Nodes the pool can reach: its max when it autoscales, else its size."""
        if self.autoscaling:
            return self.max_size if self.max_size is not None else self.size
        return self.size

    @property
    def effective_taints(self) -> tuple[Taint, ...]:
        return (GPU_TAINT,) if self.taints is None else self.taints


class SystemPool(_Spec):
    node_type: str = "POP2-4C-16G"
    size: PositiveInt = 2


class MaintenanceWindow(_Spec):
    day: Literal["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "sunday"
    start_hour: Annotated[int, Field(ge=0, le=23)] = 3


class Bucket(_Spec):
    enabled: bool = True
    versioning: bool = True
    # Objects under `checkpoints/` older than this go to cold storage; None keeps them.
    checkpoint_glacier_after_days: PositiveInt | None = 30
    expire_noncurrent_after_days: PositiveInt | None = 14


class Storage(_Spec):
    default_class: Literal["sbs-5k", "sbs-15k"] = "sbs-5k"
    bucket: Bucket = Bucket()
    # A shared file system for the cluster, in GB; None for none.
    filesystem_size_gb: Annotated[int, Field(ge=100, le=100_000)] | None = None


class Cluster(_Spec):
    name: Name
    target: Target
    zone: str = "fr-par-2"
    hall: Name
    row: Name | None = None
    kubernetes_version: str = "1.35"
    control_plane: str = "auto"
    cni: str = "cilium"
    subnet: str = Field(default="172.16.0.0/22", pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")
    auto_upgrade: bool = True
    maintenance: MaintenanceWindow = MaintenanceWindow()
    delete_additional_resources: bool = False
    system_pool: SystemPool = SystemPool()
    pools: tuple[GpuPool, ...] = ()
    storage: Storage = Storage()


class Tenant(_Spec):
    name: Name
    power_kw: PositiveFloat
    clusters: Annotated[tuple[Name, ...], Field(min_length=1)]
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    # Fractions of the tenant's nominal quota: None means no limit.
    borrowing_limit: Ratio | None = None
    lending_limit: Ratio | None = None
    # The identity group given edit rights in the tenant's namespace.
    group: str | None = None
    pod_security: Literal["restricted", "baseline", "privileged"] = "restricted"
    cpu_quota: PositiveInt = 256
    memory_quota_gib: PositiveInt = 2048
    pods_quota: PositiveInt = 1000


class FactorySpec(_Spec):
    """Everything under the `aion:` namespace of one stack's config."""

    site: Site
    clusters: tuple[Cluster, ...] = ()
    tenants: tuple[Tenant, ...] = ()

    def cluster(self, name: str) -> Cluster:
        return next(c for c in self.clusters if c.name == name)
