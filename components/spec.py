"""The factory spec: what a stack's `aion:` config may say, as frozen pydantic models.

These models check shapes, types and ranges. Rules that need the catalog or
look across the spec (known node types, zones, halls, tenant clusters) live in
`checks.py`, so each message can name the exact key that is wrong.
Each field's docstring is its entry in the generated config reference (docs/CONFIG.md).
"""

from __future__ import annotations

import datetime
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Interval
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from .kube_names import DNS1123_LABEL

# Upper bounds, where the platform or physics gives them. Beyond them a figure is a typo (or an
# attack), and would cost the planner time and memory in proportion to it.
# Upstream Kubernetes' largest supported cluster: "No more than 5,000 nodes", "No more than
# 150,000 total pods" (https://kubernetes.io/docs/setup/best-practices/cluster-large/).
MAX_NODES = 5_000
MAX_PODS = 150_000
# The catalog's largest node type (B300-SXM-8-288G: 224 vCPUs, 3,840 GiB): no container is larger.
MAX_NODE_CPUS = 224
MAX_NODE_MEMORY_GIB = 3_840
# 5,000 nodes of it.
MAX_CPUS = MAX_NODES * MAX_NODE_CPUS
MAX_MEMORY_GIB = MAX_NODES * MAX_NODE_MEMORY_GIB
# Object counts of a namespace: as many as the pods a cluster may hold (each pod's config and secret).
MAX_OBJECTS = MAX_PODS
# sig-scalability's thresholds (kubernetes/community sig-scalability/configs-and-limits/thresholds.md):
# 10,000 Services per cluster.
MAX_SERVICES = 10_000
# Kubernetes' default NodePort range, 30000-32767: a cluster has no more node ports than these.
MAX_NODE_PORTS = 2_768
# 10 PiB: far beyond what a tenant's volumes reach on one cluster; beyond it a figure is a typo.
MAX_STORAGE_GIB = 10 * 1024**2
# 10 GW: no campus comes near (the largest announced are a few GW; DOMAIN.md: OpCore's largest
# grid connection is 700 MW). Every level and allotment is bounded by the same figure.
MAX_FACILITY_MW = 10_000.0
MAX_KW = MAX_FACILITY_MW * 1_000
MAX_DAYS = 36_500  # a century: object lifecycle rules count whole days, with no documented maximum
# Every string of the spec: the longest name Kubernetes takes, a qualified label or taint key
# (a 253-character DNS subdomain prefix, '/', a 63-character name). Fields say tighter ones.
MAX_STRING = 317
# A reason a reviewer reads whole (a tenant's Pod Security exception): a few sentences.
REASON_CHARS = 500


def _not_a_bool(value: Any) -> Any:
    """YAML reads `true`, `yes` and `on` as booleans, and pydantic would take them as 1: refuse them as numbers.
    A number in a string ("1.15") is taken: `pulumi config set --path` stores non-integers that way."""
    if isinstance(value, bool):
        raise PydanticCustomError("bool_as_number", "a boolean is not a number")
    return value


NotABool = BeforeValidator(_not_a_bool)
Kw = Annotated[float, Interval(gt=0, le=MAX_KW), NotABool]
Nodes = Annotated[int, Interval(ge=0, le=MAX_NODES), NotABool]
Days = Annotated[int, Interval(ge=1, le=MAX_DAYS), NotABool]
GLACIER_MIN_DAYS = 90
Flag = Annotated[bool, Field(strict=True)]  # true or false: not 1, "yes" or "on"

# Names end up in Kubernetes and Scaleway resource names: DNS labels, kept short.
Name = Annotated[str, Field(pattern=rf"^{DNS1123_LABEL}$", max_length=40)]
# A phase: when power (and the hardware it feeds) arrives, `2027-06` or `2027-06-15` (YAML reads the
# second as a date: taken as written).
PHASE_DATE_HELP = "a date as YYYY-MM or YYYY-MM-DD"


def _date_text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else value


PhaseDate = Annotated[str, BeforeValidator(_date_text), Field(pattern=r"^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$", max_length=10)]
MAX_PHASES = 64  # a phase a quarter for sixteen years
# A catalog key (node type, zone, version, CNI, control plane): the checks name what is allowed.
CatalogName = Annotated[str, Field(max_length=64)]
FacilityMw = Annotated[float, Interval(gt=0, le=MAX_FACILITY_MW), NotABool]
Oversubscription = Annotated[float, Interval(ge=1.0, le=3.0), NotABool]
Ratio = Annotated[float, Interval(ge=0.0, le=1.0), NotABool]
Target = Literal["scaleway", "local"]
# The PriorityClasses the platform creates (platform/queues.WORKLOAD_CLASSES), highest first.
PriorityClassName = Literal["inference", "training", "batch"]
# Names the platform takes for itself, so a spec may not: the CPU system pool of every cluster, the
# namespace of the platform's own workloads (the power-cap DaemonSets) and Kueue's.
SYSTEM_POOL = "system"
SYSTEM_NAMESPACE = "aion-system"
KUEUE_NAMESPACE = "kueue-system"
# Pod Security Admission's levels (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
PodSecurityLevel = Literal["restricted", "baseline", "privileged"]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False, str_max_length=MAX_STRING)


class Rack(_Spec):
    """A rack of a row, with a power budget of its own (its PDUs')."""

    name: Name
    """Unique within its row."""
    it_power_kw: Kw
    """IT power budget of the rack, kW."""
    oversubscription: Oversubscription = 1.0
    """Rated power may reach budget x this (1.0 to 3.0)."""


class Row(_Spec):
    """A row of racks in a hall."""

    name: Name
    """Unique within its hall."""
    it_power_kw: Kw
    """IT power budget of the row, kW (from its first phase, when the site has phases)."""
    by_phase: Annotated[dict[Name, Kw], Field(max_length=MAX_PHASES)] = {}
    """Phase name -> the row's IT budget from that phase on, kW."""
    from_phase: Name | None = None
    """The phase from which the row is powered (default: the first phase)."""
    oversubscription: Oversubscription = 1.0
    """Rated power may reach budget x this (1.0 to 3.0)."""
    racks: tuple[Rack, ...] = ()
    """Racks with budgets of their own; pools not placed in a rack draw from the row."""


class Hall(_Spec):
    """A data hall of the site."""

    name: Name
    """Unique within the site."""
    it_power_kw: Kw
    """IT power budget of the hall, kW (from its first phase, when the site has phases)."""
    by_phase: Annotated[dict[Name, Kw], Field(max_length=MAX_PHASES)] = {}
    """Phase name -> the hall's IT budget from that phase on, kW."""
    from_phase: Name | None = None
    """The phase from which the hall is powered (default: the first phase)."""
    oversubscription: Oversubscription = 1.0
    """Rated power may reach budget x this (1.0 to 3.0)."""
    rows: tuple[Row, ...] = ()
    """Rows with budgets of their own; pools not placed in a row draw from the hall."""


class Site(_Spec):
    """The site and its power tree: site -> halls -> rows -> racks."""

    name: Name
    """The site's name (first part of every level path)."""
    facility_power_mw: FacilityMw
    """Facility power budget, MW; the IT budget is this / PUE (from the first phase, when the site has phases)."""
    by_phase: Annotated[dict[Name, FacilityMw], Field(max_length=MAX_PHASES)] = {}
    """Phase name -> the facility budget from that phase on, MW (a grid connection's tranches)."""
    from_phase: Name | None = None
    """The phase from which the site is powered (default: the first phase)."""
    pue: Annotated[float, Interval(ge=1.0, le=3.0), NotABool]
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

    time_slicing_replicas: Annotated[int, Interval(ge=2, le=48), NotABool] | None = None
    """Advertise each GPU this many times (NVIDIA device plugin time-slicing)."""
    mig_profile: str | None = Field(default=None, pattern=r"^[a-z0-9.-]+$", max_length=64)
    """MIG configuration label for the pool's nodes (H100 types only), e.g. all-1g.10gb."""


class GpuPool(_Spec):
    """A GPU node pool."""

    name: Name
    """Unique within the cluster; `system` is taken by the CPU system pool."""
    node_type: CatalogName
    """A Scaleway GPU node type from the catalog, offered in the cluster's zone."""
    size: Nodes
    """Nodes now (from the pool's first phase, when the site has phases)."""
    by_phase: Annotated[dict[Name, Nodes], Field(max_length=MAX_PHASES)] = {}
    """Phase name -> the pool's size from that phase on (a delivery); an autoscaling pool's ceiling rises with it."""
    from_phase: Name | None = None
    """The phase from which the pool exists (default: the first phase)."""
    min_size: Nodes = 0
    """Autoscaling floor."""
    max_size: Nodes | None = None
    """Autoscaling ceiling; the planner counts this many nodes when autoscaling."""
    autoscaling: Flag = False
    """Let the Kapsule autoscaler move between min_size and max_size."""
    autohealing: Flag = True
    """Replace nodes that fail their health checks."""
    taints: tuple[Taint, ...] | None = None
    """Node taints; unset means nvidia.com/gpu=present:NoSchedule, [] means none."""
    labels: dict[str, str] = {}
    """Extra node labels (the toolkit's own aion-factory.io/* labels are added)."""
    gpu_power_cap_w: Annotated[int, Interval(gt=0), NotABool] | None = None
    """Per-GPU power limit, W, set with nvidia-smi -pl and counted by the planner."""
    row: Name | None = None
    """The row the pool draws power from (default: the cluster's row, else the hall)."""
    rack: Name | None = None
    """The rack of that row the pool draws power from (default: the row itself)."""
    multi_node_training: Flag = False
    """Place nodes in a low-latency placement group for multi-node jobs."""
    root_volume_type: Literal["sbs_5k", "sbs_15k", "l_ssd"] = "sbs_5k"
    """Root volume type of the nodes."""
    root_volume_size_gb: Annotated[int, Interval(ge=20, le=10_000), NotABool] = 100
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

    node_type: CatalogName = "POP2-4C-16G"
    """A CPU node type from the catalog."""
    size: Annotated[int, Interval(ge=1, le=MAX_NODES), NotABool] = 2
    """Nodes."""


class MaintenanceWindow(_Spec):
    """When Kapsule may auto-upgrade the control plane and nodes."""

    day: Literal["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "sunday"
    """Day of the week."""
    start_hour: Annotated[int, Interval(ge=0, le=23), NotABool] = 3
    """Start hour, UTC."""


class Bucket(_Spec):
    """Object storage for datasets and checkpoints."""

    enabled: Flag = True
    """Create the bucket."""
    versioning: Flag = True
    """Keep object versions."""
    # Scaleway refuses transition rules to Glacier under 90 days (rules made from April 2026:
    # https://www.scaleway.com/en/docs/object-storage/api-cli/lifecycle-rules-api/).
    checkpoint_glacier_after_days: Annotated[int, Interval(ge=GLACIER_MIN_DAYS, le=MAX_DAYS), NotABool] | None = GLACIER_MIN_DAYS
    """Move objects under checkpoints/ to cold storage after this many days; unset keeps them."""
    expire_noncurrent_after_days: Days | None = 14
    """Delete non-current versions after this many days; unset keeps them."""


class Storage(_Spec):
    """Storage for the cluster."""

    default_class: Literal["sbs-5k", "sbs-15k"] = "sbs-5k"
    """The cluster's default StorageClass (Scaleway Block Storage, 5k or 15k IOPS)."""
    bucket: Bucket = Bucket()
    """Object storage bucket."""
    filesystem_size_gb: Annotated[int, Interval(ge=100, le=100_000), NotABool] | None = None
    """A shared file system of this size, GB; unset for none."""


# Kueue's job integrations a cluster may enable. `pod`, `deployment` and `statefulset` are not
# a choice: they are always on, in tenant namespaces only (`platform/kueue_config.SERVING_INTEGRATIONS`),
# so no GPU pod of a tenant runs without Kueue's admission.
KueueIntegration = Literal[
    "batch/job",
    "jobset.x-k8s.io/jobset",
    "kubeflow.org/pytorchjob",
    "kubeflow.org/mpijob",
    "kubeflow.org/tfjob",
    "kubeflow.org/jaxjob",
    "kubeflow.org/xgboostjob",
    "kubeflow.org/paddlejob",
    "trainer.kubeflow.org/trainjob",
    "ray.io/rayjob",
    "ray.io/raycluster",
    "leaderworkerset.x-k8s.io/leaderworkerset",
    "workload.codeflare.dev/appwrapper",
]


class Kueue(_Spec):
    """Kueue's configuration, the same on every target: the local control plane runs its manager
    with it, Kapsule and kind get it through the pinned Helm chart's values."""

    integrations: Annotated[tuple[KueueIntegration, ...], Field(min_length=1)] = (
        "batch/job",
        "jobset.x-k8s.io/jobset",
        "kubeflow.org/pytorchjob",
    )
    """Job kinds Kueue admits, besides pods, Deployments, StatefulSets (always on); one without its CRD is set up once it is."""
    fair_sharing: bool = False
    """Share a cohort's idle GPUs between its queues by Kueue's fair sharing, not first come first served."""
    manager_cpu_millicores: Annotated[int, Field(ge=100, le=16_000)] = 500
    """CPU request of Kueue's manager, millicores (no CPU limit: a throttled manager admits late)."""
    manager_memory_mib: Annotated[int, Field(ge=256, le=65_536)] = 512
    """Memory request and limit of Kueue's manager, MiB (it grows with the workloads it tracks)."""
    topology_aware_scheduling: Flag = False
    """Give Kueue the power tree as a Topology (hall, row, rack, node) for the GPU flavors: a job may ask for one row or rack.
    Kueue then admits work only onto nodes that exist, so not with autoscaling GPU pools."""


class Cluster(_Spec):
    """A Kubernetes cluster of the site: one Pulumi stack deploys it."""

    name: Name
    """Unique within the site."""
    target: Target
    """Where it lives: `scaleway` (Kapsule) or `local` (this machine)."""
    zone: CatalogName = "fr-par-2"
    """Scaleway zone; must offer every pool's node type (ignored for local)."""
    hall: Name
    """The hall the cluster draws power from."""
    row: Name | None = None
    """The row, when the whole cluster sits in one."""
    kubernetes_version: CatalogName = "1.35"
    """A Kapsule version from the catalog."""
    control_plane: CatalogName = "auto"
    """A control-plane type from the catalog, or `auto`: the smallest that holds the nodes."""
    cni: CatalogName = "cilium"
    """A Kapsule CNI from the catalog."""
    subnet: str = Field(default="172.16.0.0/22", pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$", max_length=18)
    """IPv4 subnet of the cluster's private network."""
    auto_upgrade: Flag = True
    """Let Kapsule apply patch upgrades in the maintenance window."""
    maintenance: MaintenanceWindow = MaintenanceWindow()
    """Maintenance window."""
    delete_additional_resources: Flag = False
    """On destroy, also delete volumes and load balancers the cluster created."""
    system_pool: SystemPool = SystemPool()
    """CPU pool for add-ons."""
    pools: tuple[GpuPool, ...] = ()
    """GPU pools."""
    storage: Storage = Storage()
    """Storage."""
    kueue: Kueue = Kueue()
    """Kueue: job integrations, fair sharing, the manager's resources."""
    image_registry: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9][-a-z0-9._]*)*$")
    """A private registry (host[:port][/path]) with the platform's images and Kueue's chart, mirrored path for path; unset: public ones."""
    from_phase: Name | None = None
    """The phase from which the cluster exists (its hall's power must be there) (default: the first phase)."""


class ObjectQuotas(_Spec):
    """How many objects of each kind a tenant's namespace may hold (its ResourceQuota's object counts)."""

    loadbalancers: Annotated[int, Interval(ge=0, le=MAX_SERVICES), NotABool] = 0
    """Services of type LoadBalancer: each a cloud load balancer with a public address, billed (default: none)."""
    nodeports: Annotated[int, Interval(ge=0, le=MAX_NODE_PORTS), NotABool] = 0
    """Node ports of Services (NodePort, and LoadBalancer ones that allocate them): each opens a port on every node (default: none)."""
    services: Annotated[int, Interval(ge=0, le=MAX_SERVICES), NotABool] = 100
    """Services of any type."""
    persistentvolumeclaims: Annotated[int, Interval(ge=0, le=MAX_OBJECTS), NotABool] = 100
    """PersistentVolumeClaims: each a volume, billed."""
    configmaps: Annotated[int, Interval(ge=1, le=MAX_OBJECTS), NotABool] = 1000
    """ConfigMaps (every namespace holds one already: kube-root-ca.crt)."""
    secrets: Annotated[int, Interval(ge=0, le=MAX_OBJECTS), NotABool] = 1000
    """Secrets."""


class Tenant(_Spec):
    """A tenant: a namespace per cluster, and GPU quotas from its power allotment."""

    name: Name
    """Unique; also the tenant's namespace."""
    power_kw: Kw
    """IT power allotted to the tenant, kW; the planner turns it into GPUs per flavor."""
    clusters: Annotated[tuple[Name, ...], Field(min_length=1)]
    """Clusters of the site the tenant runs on."""
    borrowing_limit: Ratio | None = None
    """How much more than its quota it may borrow, as a fraction of its quota; unset: no limit."""
    lending_limit: Ratio | None = None
    """How much of its quota it may lend, as a fraction; unset: all of it."""
    group: str | None = None
    """The identity group given edit rights in the tenant's namespace (default: the name); not a `system:` group."""
    priority_classes: tuple[PriorityClassName, ...] = ("training", "batch")
    """PriorityClasses and Kueue WorkloadPriorityClasses its workloads may use; `inference` (it preempts on a full node) only by name."""
    pod_security: PodSecurityLevel = "restricted"
    """Pod Security Admission level of the namespace; `baseline` or `privileged` only with `pod_security_exception`."""
    pod_security_exception: str | None = Field(default=None, max_length=REASON_CHARS)
    """Why its pods need `baseline` or `privileged` (required with either): `aion plan` warns with it, the policy pack needs it allowed."""
    cpu_quota: Annotated[int, Interval(ge=1, le=MAX_CPUS), NotABool] = 256
    """CPU cores the namespace may request."""
    memory_quota_gib: Annotated[int, Interval(ge=1, le=MAX_MEMORY_GIB), NotABool] = 2048
    """Memory the namespace may request, GiB."""
    pods_quota: Annotated[int, Interval(ge=1, le=MAX_PODS), NotABool] = 1000
    """Pods the namespace may hold."""
    storage_quota_gib: Annotated[int, Interval(ge=0, le=MAX_STORAGE_GIB), NotABool] = 10_240
    """Storage the namespace's PersistentVolumeClaims may request in all, GiB."""
    object_quotas: ObjectQuotas = ObjectQuotas()
    """Object counts: LoadBalancer and NodePort Services (none by default), Services, volume claims, ConfigMaps, Secrets."""
    container_max_cpu: Annotated[int, Interval(ge=1, le=MAX_NODE_CPUS), NotABool] | None = None
    """Largest CPU limit of one container, cores (containers that set none get it); unset: the cluster's largest node's."""
    container_max_memory_gib: Annotated[int, Interval(ge=1, le=MAX_NODE_MEMORY_GIB), NotABool] | None = None
    """Largest memory limit of one container, GiB (containers that set none get it); unset: the cluster's largest node's."""
    by_phase: Annotated[dict[Name, Kw], Field(max_length=MAX_PHASES)] = {}
    """Phase name -> the tenant's allotment from that phase on, kW."""
    from_phase: Name | None = None
    """The phase from which the tenant runs (default: the first phase in which one of its clusters exists)."""


class Phase(_Spec):
    """A phase of the site: from its date, the power (and hardware) it brings is there."""

    name: Name
    """Unique; `from_phase` and `by_phase` keys name it."""
    date: PhaseDate
    """When it comes, YYYY-MM or YYYY-MM-DD; each phase after the one before."""

    @property
    def day(self) -> datetime.date:
        """Its first day: YYYY-MM is the first of the month."""
        return datetime.date.fromisoformat(self.date if len(self.date) == 10 else f"{self.date}-01")


# An Organization quota's figure: far above any fleet (a billion: Block Storage counts GB), so a typo is refused.
QuotaFigure = Annotated[int, Interval(ge=0, le=1_000_000_000), NotABool]
# A Scaleway Organization or Project ID: a UUID.
ScalewayId = Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]


class AccountFigures(_Spec):
    """Figures of a Scaleway Organization's quotas; an unset one is not said."""

    kapsule_clusters: QuotaFigure | None = None
    """Kapsule clusters."""
    dedicated_control_planes_4_8: QuotaFigure | None = None
    """Kapsule clusters with a dedicated control plane 4 or 8."""
    dedicated_control_planes_16: QuotaFigure | None = None
    """Kapsule clusters with a dedicated control plane 16."""
    placement_groups: QuotaFigure | None = None
    """Placement groups (a multi-node training pool has one per 20 nodes)."""
    object_storage_buckets: QuotaFigure | None = None
    """Object Storage buckets (one per Kapsule cluster whose bucket is enabled)."""
    block_volumes: QuotaFigure | None = None
    """Block Storage volumes (a GPU node's `sbs_*` root volume is one)."""
    block_storage_gb: QuotaFigure | None = None
    """Block Storage total size, GB (GPU nodes' `sbs_*` root volumes)."""
    instances: dict[CatalogName, dict[CatalogName, QuotaFigure]] = Field(default_factory=dict)
    """Instances per node type and zone, e.g. `B300-SXM-8-288G: {fr-par-2: 12000}`."""


class Account(_Spec):
    """The Scaleway Organization and Project the site deploys into, and the quotas it was granted."""

    organization: ScalewayId | None = None
    """The Organization's ID: its quotas hold every cluster of the site."""
    project: ScalewayId | None = None
    """The Project's ID the clusters are created in."""
    identity_validated: Flag = True
    """Whether the Organization's identity is validated: which of Scaleway's published defaults apply."""
    quotas: AccountFigures = AccountFigures()
    """Quotas raised by a support ticket; an unset one is Scaleway's published default (the catalog's)."""
    in_use: AccountFigures = AccountFigures()
    """What the Organization already runs outside this document (other sites, other Projects): it counts too."""


class FactorySpec(_Spec):
    """A site: its power tree, its clusters, its tenants (a site document, or a stack's inline `aion:` config)."""

    site: Site
    """The site and its power tree."""
    clusters: tuple[Cluster, ...] = ()
    """Every cluster of the site (a stack that names a site document deploys one of them)."""
    tenants: tuple[Tenant, ...] = ()
    """Tenants and their power allotments."""
    account: Account | None = None
    """The Scaleway Organization the site deploys into and its quotas: over one is a violation. Unset: the plan
    shows what Scaleway's published defaults would refuse, and refuses nothing (the raised figures are unknown)."""
    phases: Annotated[tuple[Phase, ...], Field(max_length=MAX_PHASES)] = ()
    """Phases, oldest first: power and hardware that arrive over time; every phase is planned. None: one moment."""
    current_phase: Name | None = None
    """The phase the stacks deploy; unset: the last phase whose date has come (none before the first)."""


def bounds_of(field: FieldInfo) -> str:
    """What a field allows, in words ("0 to 5,000", "at most 40 characters"): for the config
    reference and for the messages that refuse a value, from the constraints themselves."""
    found: dict[str, Any] = {}
    annotation = field.annotation
    if _optional(annotation):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) in (tuple, dict):  # a list or map's own bound counts its entries; its items say theirs
        entries = next((item.max_length for item in field.metadata if getattr(item, "max_length", None) is not None), None)
        if get_origin(annotation) is tuple or get_args(annotation)[1:] == (str,):  # a map of numbers: its keys are names
            _collect((), annotation, found)
        items = f"each at most {found['max_length']:,} characters" if "max_length" in found else ""
        return ", ".join(part for part in (f"at most {entries:,} entries" if entries is not None else "", items) if part)
    _collect(field.metadata, field.annotation, found)
    low = _figure(found["ge"]) if "ge" in found else f"more than {_figure(found['gt'])}" if "gt" in found else None
    high = _figure(found["le"]) if "le" in found else None
    parts = []
    if low is not None and high is not None:
        parts.append(f"{low} to {high}" if "ge" in found else f"{low}, at most {high}")
    elif low is not None or high is not None:
        parts.append(low or f"at most {high}")
    if "max_length" in found:
        parts.append(f"at most {found['max_length']:,} characters")
    return ", ".join(parts)


def _optional(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, UnionType) and type(None) in get_args(annotation)


def _figure(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def _collect(metadata: Any, annotation: Any, found: dict[str, Any]) -> None:
    """The constraints of a field, from its own metadata and the `Annotated` types inside its annotation."""
    for item in metadata:
        if isinstance(item, FieldInfo):
            _collect(item.metadata, None, found)
        for name in ("ge", "gt", "le", "max_length"):
            if getattr(item, name, None) is not None:
                found.setdefault(name, getattr(item, name))
    if annotation is str or get_origin(annotation) is dict:
        found.setdefault("max_length", MAX_STRING)  # the models' own bound on every string
    elif get_origin(annotation) is Annotated:
        _collect(get_args(annotation)[1:], get_args(annotation)[0], found)
    elif get_origin(annotation) in (Union, UnionType, tuple):
        for arg in get_args(annotation):
            if arg is not type(None) and arg is not Ellipsis:
                _collect((), arg, found)
