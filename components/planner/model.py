"""What a plan says, as plain frozen dataclasses: no Pulumi, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..errors import Problem
from ..phases import PhaseView
from ..spec import Phase


@dataclass(frozen=True)
class PoolPlan:
    cluster: str
    name: str
    node_type: str
    gpu_model: str | None  # None for the CPU system pool
    flavor: str | None
    nodes: int  # rated nodes: max_size when autoscaling, else size
    gpus_per_node: int
    vcpus: int  # per node, from the catalog: what a node offers the scheduler
    ram_gib: int
    node_power_w: float  # after the per-GPU cap, if any
    level: str  # the power-tree level it draws from
    gpu_power_cap_w: int | None = None
    # The Kueue flavor its GPUs are admitted under: `flavor`, or that flavor in its level where the
    # cluster's pools of the flavor draw from several (planner/flavors.py); None for the system pool.
    queue_flavor: str | None = None

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node

    @property
    def rated_kw(self) -> float:
        return self.nodes * self.node_power_w / 1000


@dataclass(frozen=True)
class LevelPlan:
    path: str  # site/hall/row/rack
    kind: str  # site, hall, row or rack
    budget_kw: float
    oversubscription: float
    rated_kw: float

    @property
    def limit_kw(self) -> float:
        return self.budget_kw * self.oversubscription

    @property
    def fits(self) -> bool:
        return self.rated_kw <= self.limit_kw + 1e-9

    @property
    def percent_of_budget(self) -> float | None:
        """Rated power as a share of the budget (not of the oversubscribed limit): the one
        percentage the table, the chart and `--json` show; above 100 on an oversubscribed level.
        None where the budget is 0 kW: a level not yet powered in a phase."""
        return 100 * self.rated_kw / self.budget_kw if self.budget_kw else None


@dataclass(frozen=True)
class ClusterPlan:
    name: str
    target: str
    level: str
    control_plane: str | None  # None when no control plane holds its nodes
    node_limit: int
    max_nodes: int
    gpus_by_flavor: dict[str, int]  # by Kueue flavor (PoolPlan.queue_flavor)
    rated_kw: float

    @property
    def gpus(self) -> int:
        return sum(self.gpus_by_flavor.values())


@dataclass(frozen=True)
class FlavorQuota:
    """A tenant's GPUs of one flavor on one cluster: what Kueue and the ResourceQuota are given."""

    flavor: str
    nominal: int  # Kueue's nominalQuota: the tenant's power turned into GPUs
    borrowing: int  # Kueue's borrowingLimit
    lending: int | None  # Kueue's lendingLimit; None: it may lend all of its nominal quota

    @property
    def ceiling(self) -> int:
        """The most GPUs of this flavor the tenant may hold: its quota plus what it may borrow."""
        return self.nominal + self.borrowing


@dataclass(frozen=True)
class TenantPlan:
    name: str
    allotted_kw: float
    quotas_by_cluster: dict[str, dict[str, int]]  # cluster -> Kueue flavor -> GPUs (Kueue nominal quota)
    # cluster -> flavor -> GPUs it may borrow above its quota (its limit, else what the cluster has left)
    borrowing_by_cluster: dict[str, dict[str, int]] = field(default_factory=dict)
    # cluster -> flavor -> GPUs it may lend; None where the spec sets no limit (it may lend all)
    lending_by_cluster: dict[str, dict[str, int]] | None = None

    def flavor_quotas(self, cluster: str) -> tuple[FlavorQuota, ...]:
        """Its quota of each GPU flavor on `cluster`, by flavor name."""
        lending = None if self.lending_by_cluster is None else self.lending_by_cluster.get(cluster, {})
        return tuple(
            FlavorQuota(
                flavor=flavor,
                nominal=nominal,
                borrowing=self.borrowing_by_cluster.get(cluster, {}).get(flavor, 0),
                lending=None if lending is None else lending.get(flavor, 0),
            )
            for flavor, nominal in sorted(self.quotas_by_cluster.get(cluster, {}).items())
        )

    def gpu_ceiling(self, cluster: str) -> int:
        """The most GPUs the tenant may hold on `cluster`, every flavor: the namespace's hard cap.
        Borrowing idle GPUs draws no extra power from the site, so the cap is the ceiling, not the quota."""
        return sum(quota.ceiling for quota in self.flavor_quotas(cluster))

    @property
    def quotas(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for per_flavor in self.quotas_by_cluster.values():
            for flavor, gpus in per_flavor.items():
                total[flavor] = total.get(flavor, 0) + gpus
        return total


@dataclass(frozen=True)
class H100Equivalents:
    fp8: float
    bf16: float


@dataclass(frozen=True)
class HeadroomBuys:
    """What the site's unused IT budget buys in its most efficient node type, hall by hall:
    a cluster sits in one hall, so each hall's nodes are split into clusters of their own."""

    node_type: str
    nodes: int
    gpus: int
    h100_equivalents_fp8: float
    h100_equivalents_bf16: float
    clusters_needed: int
    nodes_by_hall: dict[str, int] = field(default_factory=dict)
    clusters_by_hall: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SitePlan:
    name: str
    pue: float
    facility_budget_kw: float
    it_budget_kw: float
    rated_it_kw: float
    gpus_by_model: dict[str, int]
    h100_equivalents: H100Equivalents
    headroom_buys: HeadroomBuys

    @property
    def rated_facility_kw(self) -> float:
        return self.rated_it_kw * self.pue

    @property
    def headroom_kw(self) -> float:
        return self.it_budget_kw - self.rated_it_kw


# A quota's key under `account.quotas`: ("kapsule_clusters",) or ("instances", node type, zone).
QuotaKey = tuple[str, ...]
INSTANCES = "instances"


@dataclass(frozen=True)
class QuotaUse:
    """One quota: what the plan asks, what runs elsewhere, and the figure it is checked against."""

    key: QuotaKey
    needed: int
    in_use: int
    limit: int
    raised: bool  # the figure is the document's (`account.quotas`), not Scaleway's published default
    clusters: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.needed + self.in_use

    @property
    def fits(self) -> bool:
        return self.total <= self.limit

    @property
    def name(self) -> str:
        """`kapsule_clusters`, or `B300-SXM-8-288G Instances in fr-par-2`."""
        return f"{self.key[1]} Instances in {self.key[2]}" if self.key[0] == INSTANCES else self.key[0]


@dataclass(frozen=True)
class AccountPlan:
    organization: str | None
    project: str | None
    quotas: tuple[QuotaUse, ...]  # what the declared clusters ask, every quota they touch
    # The same quotas if the headroom were bought too (as `headroom buys` says), only where that passes one.
    headroom: tuple[QuotaUse, ...] = ()
    declared: bool = False  # the document says its account: over a quota is a violation, else a warning

    @property
    def fits(self) -> bool:
        return all(q.fits for q in self.quotas)


@dataclass(frozen=True)
class LevelDerate:
    """A level's budget lowered by a power event in force: the planner's input (power_event.py reads the document)."""

    level: str  # site/hall/row
    budget_kw: float


@dataclass(frozen=True)
class CapStep:
    """A pool's per-GPU cap lowered: its admitted GPUs draw `shed_kw` less under the derated level."""

    cluster: str
    pool: str
    gpu_model: str
    priority: str  # the highest priority of the tenants whose work runs on the pool
    from_w: int
    to_w: int
    shed_kw: float


@dataclass(frozen=True)
class QuotaStep:
    """A tenant's Kueue nominal quota of one flavor on one cluster lowered."""

    tenant: str
    cluster: str
    flavor: str
    priority: str
    from_gpus: int
    to_gpus: int
    shed_kw: float


@dataclass(frozen=True)
class StopStep:
    """A tenant's ClusterQueue on a cluster held and drained (Kueue's stopPolicy HoldAndDrain): all
    its admitted work there stops until the event ends; `kw` is what that work may draw at most."""

    tenant: str
    cluster: str
    priority: str
    gpus: int  # its nominal quota under the level before the derate: the most it may have admitted there
    kw: float


@dataclass(frozen=True)
class LevelDeratePlan:
    """One derated level: what its work may draw before, each step in order, and after."""

    level: str
    kind: str
    budget_kw: float  # the plan's budget
    derated_kw: float  # the event's
    fixed_kw: float  # what no step sheds: the CPU system pools drawing on it, rated
    drawable_kw: float  # before: admissible GPU work (quotas x kW per GPU) + fixed
    caps: tuple[CapStep, ...]
    quotas: tuple[QuotaStep, ...]
    stops: tuple[StopStep, ...]
    drawable_after_kw: float  # what the work admitted from now on may draw, + fixed
    running_after_kw: float  # at most, right after the steps: work Kueue admitted before keeps running unless stopped

    @property
    def met(self) -> bool:
        return self.running_after_kw <= self.derated_kw + 1e-6 and self.drawable_after_kw <= self.derated_kw + 1e-6


@dataclass(frozen=True)
class DeratePlan:
    levels: tuple[LevelDeratePlan, ...]

    @property
    def stopped(self) -> frozenset[tuple[str, str]]:
        """(tenant, cluster) of every ClusterQueue held and drained."""
        return frozenset((s.tenant, s.cluster) for level in self.levels for s in level.stops)


@dataclass(frozen=True)
class Plan:
    site: SitePlan
    levels: tuple[LevelPlan, ...]
    clusters: tuple[ClusterPlan, ...]
    pools: tuple[PoolPlan, ...]
    tenants: tuple[TenantPlan, ...]
    violations: tuple[Problem, ...] = field(default=())  # every one has level `violation`
    # What the plan does not refuse but a user should hear: tenants whose quotas are scaled down to fit.
    warnings: tuple[Problem, ...] = field(default=())
    account: AccountPlan = field(default_factory=lambda: AccountPlan(None, None, ()))  # the Organization's quotas
    # The power events in force and what the toolkit does about them; None when none is.
    derate: DeratePlan | None = None

    @property
    def fits(self) -> bool:
        return not self.violations

    def cluster(self, name: str) -> ClusterPlan:
        return next(c for c in self.clusters if c.name == name)

    def pools_of(self, cluster: str) -> list[PoolPlan]:
        return [p for p in self.pools if p.cluster == cluster]

    def tenant(self, name: str) -> TenantPlan:
        return self._tenants_by_name[name]

    @cached_property
    def _tenants_by_name(self) -> dict[str, TenantPlan]:
        # Built once: a scan per lookup, called once per tenant, is quadratic in tenants.
        return {t.name: t for t in self.tenants}


@dataclass(frozen=True)
class PhasePlan:
    """The plan of a site in one phase (its view); a site without phases has one, of phase None."""

    view: PhaseView
    plan: Plan

    @property
    def phase(self) -> Phase | None:
        return self.view.phase
