"""A programme planned: every site in every phase, and the programme's totals per phase. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .catalog import Catalog, load_catalog
from .errors import Problem
from .planner import H100Equivalents, PhasePlan, Plan, QuotaUse, make_plan
from .planner.account import AccountNeeds, check_account, site_needs
from .planner.equivalence import of_gpus
from .programme import Account as ProgrammeAccount
from .programme import Programme, site_views
from .spec import Account, FactorySpec, Phase


def phase_label(phase: Phase | None) -> str:
    """`p1 (2027-06)`, as every output names a phase."""
    return "-" if phase is None else f"{phase.name} ({phase.date})"


@dataclass(frozen=True)
class PhaseTotal:
    """The programme in one phase: every site added up."""

    phase: Phase | None
    facility_budget_kw: float
    it_budget_kw: float
    rated_it_kw: float
    rated_facility_kw: float
    gpus_by_model: dict[str, int]
    h100_equivalents: H100Equivalents
    clusters: int
    tenants: int  # distinct names: a tenant on several sites counts once
    fits: bool


@dataclass(frozen=True)
class SitePhases:
    """One site of the programme, planned in every phase."""

    label: str
    name: str
    plans: tuple[PhasePlan, ...]
    organization: str | None = None
    project: str | None = None


@dataclass(frozen=True)
class OrganizationPhase:
    """An Organization of the programme in one phase: every cluster its sites deploy then, against its quotas."""

    organization: str
    phase: Phase | None
    uses: tuple[QuotaUse, ...]

    @property
    def to_raise(self) -> tuple[QuotaUse, ...]:
        return tuple(use for use in self.uses if not use.fits)


@dataclass(frozen=True)
class ProgrammePlan:
    name: str
    phases: tuple[Phase | None, ...]  # (None,) without phases
    sites: tuple[SitePhases, ...]
    totals: tuple[PhaseTotal, ...]
    # The quotas each Organization of `accounts:` meets, phase by phase: what to raise, and by when.
    organizations: tuple[OrganizationPhase, ...] = ()

    @property
    def violations(self) -> list[Problem]:
        return [v for site in self.sites for p in site.plans for v in p.plan.violations]

    @property
    def warnings(self) -> list[Problem]:
        return [w for site in self.sites for p in site.plans for w in p.plan.warnings]

    @property
    def fits(self) -> bool:
        return not self.violations

    def phase_index(self, name: str) -> int | None:
        names = [p.name for p in self.phases if p is not None]
        return names.index(name) if name in names else None


def plan_programme(
    programme: Programme, catalog: Catalog | None = None, refine: Callable[[FactorySpec, Plan], Plan] | None = None
) -> ProgrammePlan:
    """Every site's plan in every phase (the spanning tenants' shares included); `refine` adds what a
    caller checks more of a plan (a target's config refusals) before problems are placed."""
    catalog = catalog or load_catalog()
    per_phase = site_views(programme, catalog)
    plans: list[list[PhasePlan]] = [[] for _ in programme.sites]
    for views_then in per_phase:
        for s, view in enumerate(views_then):
            plan = make_plan(view.spec, catalog)
            plan = refine(view.spec, plan) if refine else plan
            located = replace(plan, violations=tuple(map(view.located, plan.violations)), warnings=tuple(map(view.located, plan.warnings)))
            plans[s].append(PhasePlan(view, located))
    sites = tuple(
        SitePhases(site.label, site.spec.site.name, tuple(plans[s]), site.organization, site.project)
        for s, site in enumerate(programme.sites)
    )
    phases = tuple(views_then[0].phase for views_then in per_phase)
    totals = tuple(_total(phase, [site.plans[i].plan for site in sites], catalog) for i, phase in enumerate(phases))
    organizations = tuple(
        _organization(account.organization, i, phase, sites, account_of(account), catalog)
        for account in programme.accounts
        for i, phase in enumerate(phases)
    )
    return ProgrammePlan(programme.name, phases, sites, totals, organizations)


def account_of(account: ProgrammeAccount) -> Account:
    """A programme's Organization as the account check reads it (names, not IDs: the figures are what count)."""
    return Account(identity_validated=account.identity_validated, quotas=account.quotas, in_use=account.in_use)


def _organization(
    organization: str, index: int, phase: Phase | None, sites: tuple[SitePhases, ...], account: Account, catalog: Catalog
) -> OrganizationPhase:
    """What the sites that deploy into `organization` ask of its quotas in phase `index`, added up."""
    needs = AccountNeeds()
    for site in sites:
        if site.organization == organization:
            planned = site.plans[index]
            needs += site_needs(planned.view.spec, planned.plan.clusters, planned.plan.pools, catalog)
    return OrganizationPhase(organization, phase, check_account(needs, account, catalog))


def _total(phase: Phase | None, plans: list[Plan], catalog: Catalog) -> PhaseTotal:
    gpus: dict[str, int] = {}
    for plan in plans:
        for model, count in plan.site.gpus_by_model.items():
            gpus[model] = gpus.get(model, 0) + count
    return PhaseTotal(
        phase=phase,
        facility_budget_kw=sum(p.site.facility_budget_kw for p in plans),
        it_budget_kw=sum(p.site.it_budget_kw for p in plans),
        rated_it_kw=sum(p.site.rated_it_kw for p in plans),
        rated_facility_kw=sum(p.site.rated_facility_kw for p in plans),
        gpus_by_model=dict(sorted(gpus.items())),
        h100_equivalents=of_gpus(catalog, gpus),
        clusters=sum(len(p.clusters) for p in plans),
        tenants=len({t.name for p in plans for t in p.tenants}),
        fits=all(p.fits for p in plans),
    )
