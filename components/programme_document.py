"""A programme's plan as a typed document: what `aion plan --json` prints for a programme (or a site
with phases), and its JSON Schema (`python -m aion_factory.schema --programme-plan > docs/programme-plan.schema.json`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .plan_document import AccountQuotaDocument, H100Equivalents, Kw, PlanDocument, ProblemDocument, _Document, plan_document
from .programme_plan import ProgrammePlan
from .spec import Phase


class PhaseDocument(_Document):
    name: str
    date: str
    """YYYY-MM or YYYY-MM-DD, as the document says."""


class TotalDocument(_Document):
    """The programme in one phase: every site added up."""

    phase: str | None
    """None: the sites have no phases."""
    facility_budget_kw: Kw
    it_budget_kw: Kw
    rated_it_kw: Kw
    rated_facility_kw: Kw
    gpus_by_model: dict[str, int]
    h100_equivalents: H100Equivalents
    clusters: int
    tenants: int
    """Distinct tenants: one on several sites counts once."""
    fits: bool


class SitePhaseDocument(_Document):
    phase: str | None
    plan: PlanDocument


class ProgrammeSiteDocument(_Document):
    name: str
    source: str
    """The site document's file, or the programme key that holds it inline."""
    organization: str | None
    project: str | None
    phases: list[SitePhaseDocument]


class OrganizationPhaseDocument(_Document):
    """An Organization of the programme's `accounts:` in one phase: every cluster its sites deploy then, against its quotas."""

    organization: str
    phase: str | None
    fits: bool
    """No quota to raise for this phase."""
    quotas: list[AccountQuotaDocument]
    """Each quota: `limit` the figure now, `needed` + `in_use` what the phase asks; raise it by the phase's date where it does not fit."""


class ProgrammePlanDocument(_Document):
    """What `aion plan --json` prints for a programme, or for a site with phases."""

    programme: str
    fits: bool
    """Every phase of every site fits."""
    phases: list[PhaseDocument]
    current_phase: str | None
    """The phase the stacks deploy today; None before the first phase's date, or without phases."""
    totals: list[TotalDocument]
    sites: list[ProgrammeSiteDocument]
    organizations: list[OrganizationPhaseDocument] = Field(default_factory=list)
    """Per Organization of `accounts:` and phase, its quotas: which to raise, to what, by when."""
    violations: list[ProblemDocument]
    warnings: list[ProblemDocument] = Field(default_factory=list)


def programme_document(plan: ProgrammePlan, current: Phase | None, only: int | None = None) -> ProgrammePlanDocument:
    """The programme's plan; `only`: that phase alone (its index), every other left out."""
    indices = [i for i in range(len(plan.phases)) if only is None or i == only]
    return ProgrammePlanDocument(
        programme=plan.name,
        fits=plan.fits,
        phases=[PhaseDocument(name=p.name, date=p.date) for p in plan.phases if p is not None],
        current_phase=None if current is None else current.name,
        totals=[TotalDocument.model_validate({**vars(plan.totals[i]), "phase": _name(plan.totals[i].phase)}) for i in indices],
        sites=[
            ProgrammeSiteDocument(
                name=site.name,
                source=site.label,
                organization=site.organization,
                project=site.project,
                phases=[SitePhaseDocument(phase=_name(site.plans[i].phase), plan=plan_document(site.plans[i].plan)) for i in indices],
            )
            for site in plan.sites
        ],
        organizations=[
            OrganizationPhaseDocument(
                organization=o.organization,
                phase=_name(o.phase),
                fits=not o.to_raise,
                quotas=[AccountQuotaDocument.model_validate(use) for use in o.uses],
            )
            for o in plan.organizations
            if only is None or o.phase == plan.phases[only]
        ],
        violations=[ProblemDocument.model_validate(v) for v in plan.violations],
        warnings=[ProblemDocument.model_validate(w) for w in plan.warnings],
    )


def _name(phase: Phase | None) -> str | None:
    return None if phase is None else phase.name


def programme_plan_schema() -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **ProgrammePlanDocument.model_json_schema()}
