"""A programme: several sites planned together, the Scaleway accounts they deploy into, and the
tenants that span them.

    programme: aion-1gw
    accounts:                      # where the sites deploy (the account-limits check reads them)
    - organization: aion
      projects: [aion-montereau]
    sites:
    - file: montereau/site.yaml    # a site document (or another programme), relative to this file
      organization: aion
      project: aion-montereau
    - document: {site: ..., clusters: [...], tenants: [...]}   # or inline
    tenants:                       # tenants on clusters of several sites: SITE/CLUSTER
    - {name: mistral, power_kw: 20000, clusters: [montereau/m1-c01, fessenheim/f1-c01]}

Each site is the site document of today and is checked as one. The sites share their phases (the
same names and dates, or none). A spanning tenant's allotment is split per site, in each phase, by
the rated kW of the GPU pools of its clusters there, and each share is a tenant of that site: split
per cluster as every tenant, and held to that site's checks. Read with the one YAML reader; every
problem names the file and its key path.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .catalog import Catalog, load_catalog
from .config import did_you_mean, fields_at
from .errors import PATH_CHARS, ConfigError, Problem, shown
from .phases import PhaseView, phase_figure, phase_start, views
from .planner.power import gpu_pool_plan
from .site import site_from_document
from .spec import MAX_STRING, AccountFigures, FactorySpec, Flag, Name, Phase, Tenant
from .yaml_input import document_path, read_yaml

PROGRAMME_KEY = "programme"
MAX_SITES = 64
MAX_NESTING = 8  # programmes that name programmes: deeper is a loop in all but name
SiteCluster = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=81)]


class _Programme(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False, str_max_length=MAX_STRING)


class Account(_Programme):
    """A Scaleway Organization and the Projects of it the sites deploy into, and its quotas: they hold
    every cluster of every site that deploys into it, phase by phase."""

    organization: Name
    """The Organization's name as the programme calls it."""
    projects: tuple[Name, ...] = ()
    """Its Projects the sites deploy into."""
    identity_validated: Flag = True
    """Whether the Organization's identity is validated: which of Scaleway's published defaults apply."""
    quotas: AccountFigures = AccountFigures()
    """Quotas raised so far by support tickets; an unset one is Scaleway's published default (the catalog's)."""
    in_use: AccountFigures = AccountFigures()
    """What the Organization already runs outside this programme: it counts too."""


class SiteEntry(_Programme):
    """A site of the programme: a site document's path, or the document inline."""

    file: str | None = Field(default=None, min_length=1, max_length=1024)
    """A site document (or another programme, whose sites join this one), relative to this file."""
    document: dict[str, Any] | None = None
    """The site document inline: `site`, `clusters`, `tenants`, `phases` as a site document holds them."""
    organization: Name | None = None
    """The account's Organization the site deploys into (one of `accounts`)."""
    project: Name | None = None
    """The Project of that Organization the site deploys into."""


class SpanningTenant(Tenant):
    """A tenant on clusters of several sites; its allotment is split per site by their GPU pools' rated kW."""

    clusters: Annotated[tuple[SiteCluster, ...], Field(min_length=1)]
    """Clusters it runs on, as SITE/CLUSTER."""


class ProgrammeSpec(_Programme):
    """A programme document."""

    programme: Name
    """The programme's name."""
    sites: Annotated[tuple[SiteEntry, ...], Field(min_length=1, max_length=MAX_SITES)]
    """Its sites."""
    accounts: tuple[Account, ...] = ()
    """The Scaleway accounts the sites deploy into."""
    tenants: tuple[SpanningTenant, ...] = ()
    """Tenants that span sites."""


@dataclass(frozen=True)
class ProgrammeSite:
    label: str  # where it was read: a file, or the programme's key
    spec: FactorySpec
    file: Path | None  # None: inline
    organization: str | None = None
    project: str | None = None


@dataclass(frozen=True)
class Programme:
    name: str
    path: Path | None
    sites: tuple[ProgrammeSite, ...]
    accounts: tuple[Account, ...] = ()
    tenants: tuple[SpanningTenant, ...] = ()

    @property
    def phases(self) -> tuple[Phase, ...]:
        return self.sites[0].spec.phases

    def site(self, name: str) -> ProgrammeSite:
        return next(s for s in self.sites if s.spec.site.name == name)


def is_programme(document: Any) -> bool:
    return isinstance(document, dict) and PROGRAMME_KEY in document


def load_programme(path: str | Path, catalog: Catalog | None = None) -> Programme:
    path = Path(path)
    return programme_from_document(read_yaml(path, "programme document"), path, catalog)


def programme_from_document(document: Any, path: Path, catalog: Catalog | None = None, _reading: tuple[Path, ...] = ()) -> Programme:
    """A programme from its parsed document; `_reading`: the programmes that name this one, for cycles."""
    catalog = catalog or load_catalog()
    here = str(path) if len(str(path)) <= PATH_CHARS else shown(str(path), PATH_CHARS)
    if not is_programme(document):  # a site document, say: one problem, not one per key it holds
        raise ConfigError([Problem(here, "is not a programme document; it needs `programme:` at its top level (and `sites:`)")])
    try:
        spec = ProgrammeSpec.model_validate(document)
    except ValidationError as error:
        raise ConfigError([_problem(here, e) for e in error.errors()]) from None
    reading = (*_reading, path.resolve())  # resolved: a cycle is found whatever the spelling of each path
    problems: list[Problem] = []
    sites: list[ProgrammeSite] = []
    for i, entry in enumerate(spec.sites):
        try:
            sites += _sites_of(entry, i, path, here, reading, catalog)
        except ConfigError as error:
            problems += error.problems
    if problems:
        raise ConfigError(problems)
    problems += _cross_checks(spec, sites, here)
    if problems:
        raise ConfigError(problems)
    return Programme(spec.programme, path, tuple(sites), spec.accounts, spec.tenants)


def _sites_of(entry: SiteEntry, i: int, path: Path, here: str, reading: tuple[Path, ...], catalog: Catalog) -> list[ProgrammeSite]:
    at = f"{here}: sites[{i}]"
    if (entry.file is None) == (entry.document is None):
        raise ConfigError([Problem(at, "names a site by `file:` or holds it inline in `document:`; allowed: exactly one of them")])
    if entry.document is not None:
        spec = site_from_document(entry.document, f"{at}.document", catalog)
        return [ProgrammeSite(f"{at}.document", spec, None, entry.organization, entry.project)]
    assert entry.file is not None
    file = (path.parent / entry.file).resolve()
    if file in reading:
        what = "this programme itself" if file == reading[-1] else "a programme that names this file (directly or through others)"
        raise ConfigError([Problem(f"{at}.file", f"{shown(entry.file, PATH_CHARS)} is {what}: a cycle; allowed: a site document")])
    if len(reading) > MAX_NESTING:
        raise ConfigError([Problem(f"{at}.file", f"programmes nest more than {MAX_NESTING} deep; allowed: at most that")])
    try:
        document = read_yaml(file, "site document")
    except ConfigError as error:
        raise ConfigError([Problem(f"{at}.file", f"{shown(entry.file, PATH_CHARS)}: {p}") for p in error.problems]) from None
    if is_programme(document):
        inner = programme_from_document(document, path.parent / entry.file, catalog, reading)
        if inner.tenants:  # they would be planned under another programme's keys: say them once, at the top
            raise ConfigError(
                [
                    Problem(
                        f"{at}.file",
                        f"{shown(entry.file, PATH_CHARS)} has `tenants:`; allowed: tenants across sites in the outermost programme",
                    )
                ]
            )
        return [
            ProgrammeSite(s.label, s.spec, s.file, s.organization or entry.organization, s.project or entry.project) for s in inner.sites
        ]
    label = str(path.parent / entry.file)  # as the user wrote it, beside the programme's path
    return [ProgrammeSite(label, site_from_document(document, label, catalog), file, entry.organization, entry.project)]


def _cross_checks(spec: ProgrammeSpec, sites: list[ProgrammeSite], here: str) -> list[Problem]:
    problems = []
    seen: dict[str, int] = {}
    for i, site in enumerate(sites):
        name = site.spec.site.name
        if name in seen:
            problems.append(
                Problem(f"{site.label}: site.name", f"{name!r} names {sites[seen[name]].label} already; allowed: a name of its own")
            )
        seen.setdefault(name, i)
        if _phase_list(site.spec) != _phase_list(sites[0].spec):
            problems.append(
                Problem(
                    f"{site.label}: phases",
                    f"{_phases_text(site.spec)} differ from {sites[0].label}'s ({_phases_text(sites[0].spec)}); "
                    "allowed: the same phases (names and dates) in every site of a programme, or none in any",
                )
            )
        elif site.spec.current_phase != sites[0].spec.current_phase:
            problems.append(
                Problem(
                    f"{site.label}: current_phase",
                    f"{site.spec.current_phase!r} differs from {sites[0].label}'s ({sites[0].spec.current_phase!r}); "
                    "allowed: one current phase for the programme (its sites deploy the same phase)",
                )
            )
    organizations = {a.organization: a.projects for a in spec.accounts}
    problems += _twice(f"{here}: accounts", [a.organization for a in spec.accounts])
    for a, account in enumerate(spec.accounts):
        problems += _twice(f"{here}: accounts[{a}].projects", list(account.projects))
    for i, entry in enumerate(spec.sites):
        if entry.organization is not None and entry.organization not in organizations:
            allowed = ", ".join(organizations) or "none: the programme names no `accounts:`"
            problems.append(Problem(f"{here}: sites[{i}].organization", f"{entry.organization!r} is not an account; allowed: {allowed}"))
        elif entry.project is not None and (entry.organization is None or entry.project not in organizations[entry.organization]):
            projects = organizations.get(entry.organization or "", ())
            problems.append(
                Problem(
                    f"{here}: sites[{i}].project",
                    f"{entry.project!r} is not a project of organization {entry.organization!r}; allowed: {', '.join(projects) or 'none'}",
                )
            )
    clusters = {f"{s.spec.site.name}/{c.name}" for s in sites for c in s.spec.clusters}
    local = {s.spec.site.name: {t.name for t in s.spec.tenants} for s in sites}
    names = [t.name for t in spec.tenants]
    problems += _twice(f"{here}: tenants", names)
    for t, tenant in enumerate(spec.tenants):
        for k, name in enumerate(tenant.clusters):
            if name not in clusters:
                problems.append(Problem(f"{here}: tenants[{t}].clusters[{k}]", f"{name!r} is not a cluster of the programme's sites"))
            elif tenant.name in local[name.split("/")[0]]:
                problems.append(
                    Problem(
                        f"{here}: tenants[{t}].name",
                        f"{tenant.name!r} is a tenant of site {name.split('/')[0]} already; allowed: a name no site's tenant has",
                    )
                )
        if tenant.clusters and len(set(tenant.clusters)) < len(tenant.clusters):
            problems.append(Problem(f"{here}: tenants[{t}].clusters", "a cluster is listed twice; allowed: each once"))
        phases = [p.name for p in sites[0].spec.phases]
        named = [("from_phase", tenant.from_phase)] if tenant.from_phase is not None else []
        for key, phase in [*named, *((f"by_phase.{n}", n) for n in tenant.by_phase)]:
            if phase not in phases:
                allowed = ", ".join(phases) or "none: the sites declare no `phases:`"
                problems.append(Problem(f"{here}: tenants[{t}].{key}", f"{phase!r} is not a phase of the sites; allowed: {allowed}"))
    return problems


def _twice(at: str, names: list[str]) -> list[Problem]:
    return [
        Problem(at, f"name {name!r} is used {count} times; names must be unique") for name, count in Counter(names).items() if count > 1
    ]


def _phase_list(spec: FactorySpec) -> list[tuple[str, str]]:
    return [(p.name, p.date) for p in spec.phases]


def _phases_text(spec: FactorySpec) -> str:
    return ", ".join(f"{name} {date}" for name, date in _phase_list(spec)) or "no phases"


def _problem(here: str, error: Any) -> Problem:
    loc = [part for part in error["loc"]]
    if error["type"] == "extra_forbidden":
        allowed = fields_at(tuple(loc[:-1]), ProgrammeSpec)
        return Problem(f"{here}: {document_path(loc)}", f"unknown key{did_you_mean(loc[-1], allowed)}; allowed: {', '.join(allowed)}")
    if error["type"] == "missing":
        return Problem(f"{here}: {document_path(loc)}", "required key is missing")
    return Problem(f"{here}: {document_path(loc)}", f"{shown(error['input'])} is not allowed: {error['msg']}")


def programme_of_site(spec: FactorySpec, label: str, file: Path | None = None) -> Programme:
    """A site document as a programme of one site: planned, shown and phased the same way."""
    return Programme(spec.site.name, file, (ProgrammeSite(label, spec, file),))


# --- the sites in a phase, spanning tenants split --------------------------------------------


def site_views(programme: Programme, catalog: Catalog | None = None) -> list[list[PhaseView]]:
    """Per phase (oldest first), each site's view in it, with its shares of the spanning tenants."""
    catalog = catalog or load_catalog()
    per_site = [views(site.spec) for site in programme.sites]
    return [_with_spanning(programme, [site[i] for site in per_site], catalog) for i in range(len(per_site[0]))]


def _with_spanning(programme: Programme, site_views_now: list[PhaseView], catalog: Catalog) -> list[PhaseView]:
    if not programme.tenants:
        return site_views_now
    phase = site_views_now[0].phase
    order = {p.name: i for i, p in enumerate(programme.phases)}
    index = order[phase.name] if phase else 0
    by_site = {v.spec.site.name: v for v in site_views_now}
    rated = {
        f"{v.spec.site.name}/{c.name}": sum(gpu_pool_plan(v.spec.site, c, p, catalog).rated_kw for p in c.pools)
        for v in site_views_now
        for c in v.spec.clusters
    }
    added: dict[str, list[Tenant]] = {}
    declared: dict[str, list[str]] = {}
    for t, tenant in enumerate(programme.tenants):
        if phase_start(order, tenant.from_phase) > index:
            continue
        power = phase_figure(order, tenant.power_kw, tenant.by_phase, index)
        running = [name for name in tenant.clusters if name in rated]
        total = sum(rated[name] for name in running)
        if not running or total <= 0:
            continue
        for site in dict.fromkeys(name.split("/")[0] for name in running):
            here = [name for name in running if name.startswith(f"{site}/")]
            share = power * sum(rated[name] for name in here) / total
            if share <= 0:
                continue
            # Its own values, not a dump of them: the nested settings (object quotas...) stay models.
            fields = {k: getattr(tenant, k) for k in Tenant.model_fields if k not in ("clusters", "power_kw", "by_phase", "from_phase")}
            local = Tenant.model_construct(**fields, clusters=tuple(n.split("/")[1] for n in here), power_kw=share)
            added.setdefault(site, []).append(local)
            declared.setdefault(site, []).append(f"{programme.path}: tenants[{t}]")
    result = []
    for name, view in by_site.items():
        extra = tuple(added.get(name, ()))
        spec = view.spec.model_copy(update={"tenants": (*view.spec.tenants, *extra)}) if extra else view.spec
        result.append(PhaseView(view.phase, spec, view.cluster_index, view.tenant_index, tuple(declared.get(name, ()))))
    return result
