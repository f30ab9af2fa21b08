"""The factory spec: what a stack's `aion:` config may say, as frozen pydantic models.

These models check shapes, types and ranges. Rules that need the catalog or
look across the spec (known node types, zones, halls, tenant clusters) live in
`checks.py`, so each message can name the exact key that is wrong.
Each field's docstring is its entry in the generated config reference (docs/CONFIG.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, PositiveInt

from .kube_names import DNS1123_LABEL

# Names end up in Kubernetes and Scaleway resource names: DNS labels, kept short.
Name = Annotated[str, Field(pattern=rf"^{DNS1123_LABEL}$", max_length=40)]
Oversubscription = Annotated[float, Field(ge=1.0, le=3.0)]
Ratio = Annotated[float, Field(ge=0.0, le=1.0)]
Target = Literal["scaleway", "local"]
# The PriorityClasses the platform creates (platform/queues.WORKLOAD_CLASSES), highest first.
PriorityClassName = Literal["inference", "training", "batch"]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Row(_Spec):
    """A row of racks in a hall."""

    name: Name
    """Unique within its hall."""
    it_power_kw: PositiveFloat
    """IT power budget of the row, kW."""
    oversubscription: Oversubscription = 1.0
    """Rated power may reach budget x this (1.0 to 3.0)."""


class Hall(_Spec):
    """A data hall of the site."""

    name: Name
    """Unique within the site."""
    it_power_kw: PositiveFloat
    """IT power budget of the hall, kW."""
    oversubscription: Oversubscription = 1.0
    """Rated power may reach budget x this (1.0 to 3.0)."""
    rows: tuple[Row, ...] = ()
    """Rows with budgets of their own; pools not placed in a row draw from the hall."""


class Site(_Spec):
    """The site and its power tree: site -> halls -> rows."""

    name: Name
    """The site's name (first part of every level path)."""
    facility_power_mw: PositiveFloat
    """Facility power budget, MW; the IT budget is this / PUE."""
    pue: Annotated[float, Field(ge=1.0, le=3.0)]
    """Power usage effectiveness: facility energy / IT energy."""
    oversubscription: Oversubscription = 1.0
    """Site-level rated power may reach the IT budget x this."""
    halls: Annotated[tuple[Hall, ...], Field(min_length=1)]
    """At least one hall."""


class Taint(_Spec):
    """A node taint."""

    key: str = Field(min_length=1)
    """Taint key."""
    value: str = ""
    """Taint value."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
    """Taint effect."""


class GpuSharing(_Spec):
    """Optional sharing of a pool's GPUs."""

    time_slicing_replicas: Annotated[int, Field(ge=2, le=48)] | None = None
    """Advertise each GPU this many times (NVIDIA device plugin time-slicing)."""
    mig_profile: str | None = Field(default=None, pattern=r"^[a-z0-9.-]+$")
    """MIG configuration label for the pool's nodes (H100 types only), e.g. all-1g.10gb."""


class GpuPool(_Spec):
    """A GPU node pool."""

    name: Name
    """Unique within the cluster; `system` is taken by the CPU system pool."""
    node_type: str
    """A Scaleway GPU node type from the catalog, offered in the cluster's zone."""
    size: NonNegativeInt
    """Nodes now."""
    min_size: NonNegativeInt = 0
    """Autoscaling floor."""
    max_size: NonNegativeInt | None = None
    """Autoscaling ceiling; the planner counts this many nodes when autoscaling."""
    autoscaling: bool = False
    """Let the Kapsule autoscaler move between min_size and max_size."""
    autohealing: bool = True
    """Replace nodes that fail their health checks."""
    taints: tuple[Taint, ...] | None = None
    """Node taints; unset means nvidia.com/gpu=present:NoSchedule, [] means none."""
    labels: dict[str, str] = {}
    """Extra node labels (the toolkit's own aion-factory.io/* labels are added)."""
    gpu_power_cap_w: PositiveInt | None = None
    """Per-GPU power limit, W, set with nvidia-smi -pl and counted by the planner."""
    row: Name | None = None
    """The row the pool draws power from (default: the cluster's row, else the hall)."""
    multi_node_training: bool = False
    """Place nodes in a low-latency placement group for multi-node jobs."""
    root_volume_type: Literal["sbs_5k", "sbs_15k", "l_ssd"] = "sbs_5k"
    """Root volume type of the nodes."""
    root_volume_size_gb: Annotated[int, Field(ge=20, le=10_000)] = 100
    """Root volume size, GB (Kapsule counts in decimal GB)."""
    sharing: GpuSharing = GpuSharing()
    """GPU sharing: time-slicing or MIG."""

    @property
    def rated_nodes(self) -> int:
        """Nodes the pool can reach: its max when it autoscales, else its size."""
        if self.autoscaling:
            return self.max_size if self.max_size is not None else self.size
        return self.size


class SystemPool(_Spec):
    """The CPU pool for cluster add-ons."""

    node_type: str = "POP2-4C-16G"
    """A CPU node type from the catalog."""
    size: PositiveInt = 2
    """Nodes."""


class MaintenanceWindow(_Spec):
    """When Kapsule may auto-upgrade the control plane and nodes."""

    day: Literal["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "sunday"
    """Day of the week."""
    start_hour: Annotated[int, Field(ge=0, le=23)] = 3
    """Start hour, UTC."""


class Bucket(_Spec):
    """Object storage for datasets and checkpoints."""

    enabled: bool = True
    """Create the bucket."""
    versioning: bool = True
    """Keep object versions."""
    checkpoint_glacier_after_days: PositiveInt | None = 30
    """Move objects under checkpoints/ to cold storage after this many days; unset keeps them."""
    expire_noncurrent_after_days: PositiveInt | None = 14
    """Delete non-current versions after this many days; unset keeps them."""


class Storage(_Spec):
    """Storage for the cluster."""

    default_class: Literal["sbs-5k", "sbs-15k"] = "sbs-5k"
    """The cluster's default StorageClass (Scaleway Block Storage, 5k or 15k IOPS)."""
    bucket: Bucket = Bucket()
    """Object storage bucket."""
    filesystem_size_gb: Annotated[int, Field(ge=100, le=100_000)] | None = None
    """A shared file system of this size, GB; unset for none."""


class Cluster(_Spec):
    """A Kubernetes cluster of the site: one Pulumi stack deploys it."""

    name: Name
    """Unique within the site."""
    target: Target
    """Where it lives: `scaleway` (Kapsule) or `local` (this machine)."""
    zone: str = "fr-par-2"
    """Scaleway zone; must offer every pool's node type (ignored for local)."""
    hall: Name
    """The hall the cluster draws power from."""
    row: Name | None = None
    """The row, when the whole cluster sits in one."""
    kubernetes_version: str = "1.35"
    """A Kapsule version from the catalog."""
    control_plane: str = "auto"
    """A control-plane type from the catalog, or `auto`: the smallest that holds the nodes."""
    cni: str = "cilium"
    """A Kapsule CNI from the catalog."""
    subnet: str = Field(default="172.16.0.0/22", pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")
    """IPv4 subnet of the cluster's private network."""
    auto_upgrade: bool = True
    """Let Kapsule apply patch upgrades in the maintenance window."""
    maintenance: MaintenanceWindow = MaintenanceWindow()
    """Maintenance window."""
    delete_additional_resources: bool = False
    """On destroy, also delete volumes and load balancers the cluster created."""
    system_pool: SystemPool = SystemPool()
    """CPU pool for add-ons."""
    pools: tuple[GpuPool, ...] = ()
    """GPU pools."""
    storage: Storage = Storage()
    """Storage."""


class Tenant(_Spec):
    """A tenant: a namespace per cluster, and GPU quotas from its power allotment."""

    name: Name
    """Unique; also the tenant's namespace."""
    power_kw: PositiveFloat
    """IT power allotted to the tenant, kW; the planner turns it into GPUs per flavor."""
    clusters: Annotated[tuple[Name, ...], Field(min_length=1)]
    """Clusters of the site the tenant runs on."""
    borrowing_limit: Ratio | None = None
    """How much more than its quota it may borrow, as a fraction of its quota; unset: no limit."""
    lending_limit: Ratio | None = None
    """How much of its quota it may lend, as a fraction; unset: all of it."""
    group: str | None = None
    """The identity group given edit rights in the tenant's namespace (default: the name); not a `system:` group."""
    priority_classes: tuple[PriorityClassName, ...] = ("inference", "training", "batch")
    """The PriorityClasses the tenant's pods may use (a namespace ResourceQuota refuses any other)."""
    pod_security: Literal["restricted", "baseline", "privileged"] = "restricted"
    """Pod Security Admission level of the namespace."""
    cpu_quota: PositiveInt = 256
    """CPU cores the namespace may request."""
    memory_quota_gib: PositiveInt = 2048
    """Memory the namespace may request, GiB."""
    pods_quota: PositiveInt = 1000
    """Pods the namespace may hold."""


class FactorySpec(_Spec):
    """A site: its power tree, its clusters, its tenants (a site document, or a stack's inline `aion:` config)."""

    site: Site
    """The site and its power tree."""
    clusters: tuple[Cluster, ...] = ()
    """Every cluster of the site (a stack that names a site document deploys one of them)."""
    tenants: tuple[Tenant, ...] = ()
    """Tenants and their power allotments."""

    def cluster(self, name: str) -> Cluster:
        return next(c for c in self.clusters if c.name == name)
