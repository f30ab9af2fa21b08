"""The plan as a typed document: what `aion plan --json` prints, and its JSON Schema.

Everything the planner decides is in it, down to each tenant's Kueue quotas and
GPU ceiling per cluster and flavor. Regenerate the schema with
`python -m aion_factory.schema --plan > docs/plan.schema.json`; a test fails when it is stale.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, TypeAdapter

from .errors import Level
from .planner import Plan, TenantPlan

# Figures as people read them: kW to the watt, H100-equivalents to two decimals, node power to 0.1 W.
Kw = Annotated[float, AfterValidator(lambda value: round(value, 3))]
Equivalents = Annotated[float, AfterValidator(lambda value: round(value, 2))]
Watts = Annotated[float, AfterValidator(lambda value: round(value, 1))]
Percent = Annotated[float, AfterValidator(lambda value: round(value, 2))]


class _Document(BaseModel):
    # Read from the planner's dataclasses by attribute, properties included.
    model_config = ConfigDict(frozen=True, extra="ignore", from_attributes=True, use_attribute_docstrings=True)


class HeadroomBuys(_Document):
    """What the site's unused IT budget buys in its most efficient node type."""

    node_type: str
    nodes: int
    gpus: int
    h100_equivalents_fp8: Equivalents
    h100_equivalents_bf16: Equivalents
    clusters_needed: int
    """Clusters of the largest Kapsule control plane, counted hall by hall."""
    nodes_by_hall: dict[str, int]
    clusters_by_hall: dict[str, int]


class H100Equivalents(_Document):
    fp8: Equivalents
    bf16: Equivalents


class SiteDocument(_Document):
    name: str
    pue: float
    facility_budget_kw: Kw
    it_budget_kw: Kw
    """Facility budget / PUE."""
    rated_it_kw: Kw
    rated_facility_kw: Kw
    headroom_kw: Kw
    gpus_by_model: dict[str, int]
    h100_equivalents: H100Equivalents
    headroom_buys: HeadroomBuys


class LevelDocument(_Document):
    path: str
    """site, site/hall or site/hall/row."""
    kind: str
    budget_kw: Kw
    oversubscription: float
    limit_kw: Kw
    """budget_kw x oversubscription: what rated power may reach."""
    rated_kw: Kw
    percent_of_budget: Percent | None
    """rated_kw as a share of budget_kw (not of limit_kw), as the table and the report show it; None
    where the budget is 0 kW (a level not yet powered in a phase)."""


class ClusterDocument(_Document):
    name: str
    target: str
    control_plane: str | None
    """None when no control plane of the target holds the cluster (a violation)."""
    node_limit: int
    max_nodes: int
    gpus: int
    gpus_by_flavor: dict[str, int]
    rated_kw: Kw


class PoolDocument(_Document):
    cluster: str
    name: str
    node_type: str
    flavor: str | None
    """None for the CPU system pool."""
    nodes: int
    """Rated nodes: max_size when autoscaling, else size."""
    gpus: int
    node_power_w: Watts
    rated_kw: Kw
    level: str


class QuotaDocument(_Document):
    """A tenant's GPUs of one flavor on one cluster."""

    nominal: int
    """Kueue's nominalQuota."""
    borrowing: int
    """Kueue's borrowingLimit."""
    lending: int | None
    """Kueue's lendingLimit; None: it may lend all its nominal quota."""
    ceiling: int
    """nominal + borrowing: the most GPUs of this flavor it may hold."""


class TenantClusterDocument(_Document):
    gpu_ceiling: int
    """The namespace's ResourceQuota of requests.nvidia.com/gpu: the ceilings of every flavor."""
    flavors: dict[str, QuotaDocument]


class TenantDocument(_Document):
    name: str
    allotted_kw: float
    quotas: dict[str, int]
    """Nominal GPUs per flavor, every cluster added up."""
    quotas_by_cluster: dict[str, dict[str, int]]
    clusters: dict[str, TenantClusterDocument]
    """Per cluster it runs on: its quotas and its GPU ceiling."""


class ProblemDocument(_Document):
    path: str
    """A config key path or a level of the power tree."""
    message: str
    level: Level


class PlanDocument(_Document):
    """What `aion plan --json` prints."""

    fits: bool
    site: SiteDocument
    levels: list[LevelDocument]
    clusters: list[ClusterDocument]
    pools: list[PoolDocument]
    tenants: list[TenantDocument]
    violations: list[ProblemDocument]
    warnings: list[ProblemDocument] = []
    """What does not stop a deploy but a user should hear: tenants whose quotas are scaled down to fit."""
    stacks: dict[str, str]
    """Cluster -> the stack that deploys it, where the stack files are known."""


class SitesDocument(_Document):
    """What `aion plan --json` prints for a folder whose stacks deploy several sites: one plan each."""

    fits: bool
    """Every site fits."""
    sites: list[PlanDocument]


class ProblemsDocument(_Document):
    """What `aion ... --json` prints for bad input (exit 2): every problem, nothing planned."""

    problems: list[ProblemDocument]


# Every document `aion plan --json` prints is one of these: docs/plan.schema.json accepts exactly them.
PlanOutput = PlanDocument | SitesDocument | ProblemsDocument


def plan_document(plan: Plan, stacks: dict[str, str] | None = None) -> PlanDocument:
    return PlanDocument(
        fits=plan.fits,
        stacks=stacks or {},
        site=SiteDocument.model_validate(plan.site),
        levels=[LevelDocument.model_validate(level) for level in plan.levels],
        clusters=[ClusterDocument.model_validate(cluster) for cluster in plan.clusters],
        pools=[PoolDocument.model_validate(pool) for pool in plan.pools],
        tenants=[_tenant(t) for t in plan.tenants],
        violations=[ProblemDocument.model_validate(v) for v in plan.violations],
        warnings=[ProblemDocument.model_validate(w) for w in plan.warnings],
    )


def _tenant(tenant: TenantPlan) -> TenantDocument:
    clusters = {}
    for cluster in tenant.quotas_by_cluster:
        quotas = tenant.flavor_quotas(cluster)
        flavors = {q.flavor: QuotaDocument.model_validate(q) for q in quotas}
        clusters[cluster] = TenantClusterDocument(gpu_ceiling=tenant.gpu_ceiling(cluster), flavors=flavors)
    return TenantDocument(
        name=tenant.name,
        allotted_kw=tenant.allotted_kw,
        quotas=tenant.quotas,
        quotas_by_cluster=tenant.quotas_by_cluster,
        clusters=clusters,
    )


def sites_document(documents: list[PlanDocument]) -> SitesDocument:
    return SitesDocument(fits=all(document.fits for document in documents), sites=documents)


def plan_schema() -> dict[str, Any]:
    schema = TypeAdapter(PlanOutput).json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "aion plan --json", **schema}
