"""The plan as a typed document: what `aion plan --json` prints, and its JSON Schema.

Everything the planner decides is in it, down to each tenant's Kueue quotas and
GPU ceiling per cluster and flavor. Regenerate the schema with
`python -m aion_factory.schema --plan > docs/plan.schema.json`; a test fails when it is stale.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from .errors import Level
from .planner import Plan, TenantPlan


def _kw(value: float) -> float:
    return round(value, 3)


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class HeadroomBuys(_Document):
    """What the site's unused IT budget buys in its most efficient node type."""

    node_type: str
    nodes: int
    gpus: int
    h100_equivalents_fp8: float
    h100_equivalents_bf16: float
    clusters_needed: int


class H100Equivalents(_Document):
    fp8: float
    bf16: float


class SiteDocument(_Document):
    name: str
    pue: float
    facility_budget_kw: float
    it_budget_kw: float
    """Facility budget / PUE."""
    rated_it_kw: float
    rated_facility_kw: float
    headroom_kw: float
    gpus_by_model: dict[str, int]
    h100_equivalents: H100Equivalents
    headroom_buys: HeadroomBuys


class LevelDocument(_Document):
    path: str
    """site, site/hall or site/hall/row."""
    kind: str
    budget_kw: float
    oversubscription: float
    rated_kw: float


class ClusterDocument(_Document):
    name: str
    target: str
    control_plane: str | None
    """None when no control plane of the target holds the cluster (a violation)."""
    node_limit: int
    max_nodes: int
    gpus: int
    gpus_by_flavor: dict[str, int]
    rated_kw: float


class PoolDocument(_Document):
    cluster: str
    name: str
    node_type: str
    flavor: str | None
    """None for the CPU system pool."""
    nodes: int
    """Rated nodes: max_size when autoscaling, else size."""
    gpus: int
    node_power_w: float
    rated_kw: float
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


def plan_document(plan: Plan) -> PlanDocument:
    site, buys, eq = plan.site, plan.site.headroom_buys, plan.site.h100_equivalents
    return PlanDocument(
        fits=plan.fits,
        site=SiteDocument(
            name=site.name,
            pue=site.pue,
            facility_budget_kw=_kw(site.facility_budget_kw),
            it_budget_kw=_kw(site.it_budget_kw),
            rated_it_kw=_kw(site.rated_it_kw),
            rated_facility_kw=_kw(site.rated_facility_kw),
            headroom_kw=_kw(site.headroom_kw),
            gpus_by_model=site.gpus_by_model,
            h100_equivalents=H100Equivalents(fp8=round(eq.fp8, 2), bf16=round(eq.bf16, 2)),
            headroom_buys=HeadroomBuys(
                node_type=buys.node_type,
                nodes=buys.nodes,
                gpus=buys.gpus,
                h100_equivalents_fp8=round(buys.h100_equivalents_fp8, 2),
                h100_equivalents_bf16=round(buys.h100_equivalents_bf16, 2),
                clusters_needed=buys.clusters_needed,
            ),
        ),
        levels=[
            LevelDocument(
                path=lv.path, kind=lv.kind, budget_kw=_kw(lv.budget_kw), oversubscription=lv.oversubscription, rated_kw=_kw(lv.rated_kw)
            )
            for lv in plan.levels
        ],
        clusters=[
            ClusterDocument(
                name=c.name,
                target=c.target,
                control_plane=c.control_plane,
                node_limit=c.node_limit,
                max_nodes=c.max_nodes,
                gpus=c.gpus,
                gpus_by_flavor=c.gpus_by_flavor,
                rated_kw=_kw(c.rated_kw),
            )
            for c in plan.clusters
        ],
        pools=[
            PoolDocument(
                cluster=p.cluster,
                name=p.name,
                node_type=p.node_type,
                flavor=p.flavor,
                nodes=p.nodes,
                gpus=p.gpus,
                node_power_w=round(p.node_power_w, 1),
                rated_kw=_kw(p.rated_kw),
                level=p.level,
            )
            for p in plan.pools
        ],
        tenants=[_tenant(t) for t in plan.tenants],
        violations=[ProblemDocument(path=v.path, message=v.message, level=v.level) for v in plan.violations],
    )


def _tenant(tenant: TenantPlan) -> TenantDocument:
    clusters = {}
    for cluster in tenant.quotas_by_cluster:
        quotas = tenant.flavor_quotas(cluster)
        flavors = {q.flavor: QuotaDocument(nominal=q.nominal, borrowing=q.borrowing, lending=q.lending, ceiling=q.ceiling) for q in quotas}
        clusters[cluster] = TenantClusterDocument(gpu_ceiling=tenant.gpu_ceiling(cluster), flavors=flavors)
    return TenantDocument(
        name=tenant.name,
        allotted_kw=tenant.allotted_kw,
        quotas=tenant.quotas,
        quotas_by_cluster=tenant.quotas_by_cluster,
        clusters=clusters,
    )


def plan_schema() -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **PlanDocument.model_json_schema()}
