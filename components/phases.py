"""Phases: a site at each moment of its build-out, as a site of its own.

A site document with `phases:` (a name and a date each) says when its power and hardware arrive:
a level's budget from a phase on (`by_phase`), the phase a hall, row, cluster, pool or tenant
exists from (`from_phase`), a pool's deliveries (`by_phase`: its size from that phase on). Its
*view* at a phase is a plain site, what is there then at its figures then, which the planner
plans as any other: so every check holds phase by phase, and a plan that fits in the final state
but not in an earlier phase is refused naming that phase. A level not yet powered keeps its place
in the tree at a budget of 0 kW, so hardware placed there early is a violation, not a missing hall.

Pure: spec in, spec out. A site without phases has one view: itself.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Problem
from .keys import key_path
from .spec import PHASE_DATE_HELP, Cluster, FactorySpec, GpuPool, Hall, Phase, Row, Site, Tenant


@dataclass(frozen=True)
class PhaseView:
    """The site as it stands in `phase` (None: a site without phases), and where each of its
    clusters and tenants sits in the document, so a problem found in the view names the document's key."""

    phase: Phase | None
    spec: FactorySpec
    cluster_index: tuple[int, ...]  # the view's i-th cluster is the document's cluster_index[i]
    tenant_index: tuple[int, ...]
    # Tenants added after the site's own (a programme's tenants across sites): where each is declared.
    added_tenants: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return "" if self.phase is None else f"phase {self.phase.name} ({self.phase.date})"

    def located(self, problem: Problem) -> Problem:
        """`problem`, found in this view, with the document's key path and the phase named first."""
        path = _INDEXED.sub(self._document_key, problem.path, count=1)
        message = f"in {self.label}: {problem.message}" if self.phase is not None else problem.message
        return Problem(path, message, problem.level)

    def _document_key(self, match: re.Match[str]) -> str:
        kind, index = match[2], int(match[3])
        indices = self.cluster_index if kind == "clusters" else self.tenant_index
        if index < len(indices):
            return f"{match[1]}[{indices[index]}]"
        added = index - len(indices)
        return self.added_tenants[added] if kind == "tenants" and added < len(self.added_tenants) else match[0]


_INDEXED = re.compile(r"^(aion:(clusters|tenants))\[(\d+)\]")


def views(spec: FactorySpec) -> tuple[PhaseView, ...]:
    """The site in every phase, oldest first; without phases, the site itself."""
    if not spec.phases:
        return (PhaseView(None, spec, tuple(range(len(spec.clusters))), tuple(range(len(spec.tenants)))),)
    return tuple(view_at(spec, index) for index in range(len(spec.phases)))


def view_at(spec: FactorySpec, index: int) -> PhaseView:
    """The site as it stands in its `index`-th phase (the spec checked by `phase_problems` first)."""
    order = {phase.name: i for i, phase in enumerate(spec.phases)}
    site = spec.site
    powered = phase_start(order, site.from_phase) <= index
    halls = tuple(_hall_at(order, hall, index, powered) for hall in site.halls)
    site_view = site.model_copy(update={"facility_power_mw": phase_figure(order, site.facility_power_mw, site.by_phase, index) * powered})
    site_view = site_view.model_copy(update={"halls": halls})
    clusters, cluster_index = [], []
    for c, cluster in enumerate(spec.clusters):
        if phase_start(order, cluster.from_phase) <= index:
            clusters.append(_cluster_at(order, cluster, index))
            cluster_index.append(c)
    present = {cluster.name for cluster in clusters}
    tenants, tenant_index = [], []
    for t, tenant in enumerate(spec.tenants):
        running = tuple(name for name in tenant.clusters if name in present)
        if running and phase_start(order, tenant.from_phase) <= index:
            power = phase_figure(order, tenant.power_kw, tenant.by_phase, index)
            same = running == tenant.clusters and power == tenant.power_kw  # most tenants: no copy (a 1 GW site has thousands)
            tenants.append(tenant if same else tenant.model_copy(update={"clusters": running, "power_kw": power}))
            tenant_index.append(t)
    view = spec.model_copy(update={"site": site_view, "clusters": tuple(clusters), "tenants": tuple(tenants)})
    return PhaseView(spec.phases[index], view, tuple(cluster_index), tuple(tenant_index))


def _hall_at(order: dict[str, int], hall: Hall, index: int, site_powered: bool) -> Hall:
    powered = site_powered and phase_start(order, hall.from_phase) <= index
    rows = tuple(_row_at(order, row, index, powered) for row in hall.rows)
    budget = phase_figure(order, hall.it_power_kw, hall.by_phase, index) * powered
    return hall if (budget, rows) == (hall.it_power_kw, hall.rows) else hall.model_copy(update={"it_power_kw": budget, "rows": rows})


def _row_at(order: dict[str, int], row: Row, index: int, hall_powered: bool) -> Row:
    powered = hall_powered and phase_start(order, row.from_phase) <= index
    budget = phase_figure(order, row.it_power_kw, row.by_phase, index) * powered
    return row if budget == row.it_power_kw else row.model_copy(update={"it_power_kw": budget})


def _cluster_at(order: dict[str, int], cluster: Cluster, index: int) -> Cluster:
    start = phase_start(order, cluster.from_phase)
    pools = tuple(_pool_at(order, pool, index) for pool in cluster.pools if max(start, phase_start(order, pool.from_phase)) <= index)
    return cluster if pools == cluster.pools else cluster.model_copy(update={"pools": pools})


def _pool_at(order: dict[str, int], pool: GpuPool, index: int) -> GpuPool:
    size = int(phase_figure(order, pool.size, pool.by_phase, index))
    if size == pool.size:
        return pool
    # A delivery: the pool's size, and the ceiling of an autoscaling pool, rise with it (a floor above it falls).
    ceiling = None if pool.max_size is None else max(pool.max_size, size)
    return pool.model_copy(update={"size": size, "max_size": ceiling, "min_size": min(pool.min_size, size)})


def phase_start(order: dict[str, int], from_phase: str | None) -> int:
    """The index of the phase something exists from (`order`: phase name -> index); unset: the first."""
    return 0 if from_phase is None else order.get(from_phase, 0)


def phase_figure(order: dict[str, int], base: float, by_phase: Mapping[str, float], index: int) -> float:
    """The figure in the `index`-th phase: that of the latest phase listed at or before it, else `base`."""
    listed = [(order[name], value) for name, value in by_phase.items() if name in order and order[name] <= index]
    return max(listed)[1] if listed else base


def current_view(spec: FactorySpec, today: datetime.date) -> PhaseView | None:
    """What the stacks deploy: the site itself without phases; else its view in `current_phase`,
    or in the last phase whose date has come by `today`; None before the first phase's date."""
    index = current_index(spec, today)
    if index is None:
        return None
    return view_at(spec, index) if spec.phases else views(spec)[0]


def current_index(spec: FactorySpec, today: datetime.date) -> int | None:
    """The index of the phase the stacks deploy (0 for a site without phases); None before the first phase's date."""
    if not spec.phases:
        return 0
    if spec.current_phase is not None:
        return [p.name for p in spec.phases].index(spec.current_phase)
    come = [i for i, phase in enumerate(spec.phases) if phase.day <= today]
    return come[-1] if come else None


def phase_problems(spec: FactorySpec) -> list[Problem]:
    """Phases named once, dated in order, and every reference to one naming a phase of the site."""
    names = [phase.name for phase in spec.phases]
    problems = [
        Problem(key_path(["phases"]), f"name {name!r} is used {count} times; names must be unique")
        for name, count in Counter(names).items()
        if count > 1
    ]
    before: datetime.date | None = None
    for i, phase in enumerate(spec.phases):
        try:
            day = phase.day
        except ValueError as error:
            problems.append(Problem(key_path(["phases", i, "date"]), f"{phase.date!r} is not a date ({error}); allowed: {PHASE_DATE_HELP}"))
            continue
        if before is not None and day <= before:
            problems.append(
                Problem(
                    key_path(["phases", i, "date"]),
                    f"{phase.date!r} is not after phase {spec.phases[i - 1].name!r} ({spec.phases[i - 1].date}); "
                    "allowed: phases in date order, each after the one before",
                )
            )
        before = day
    allowed = ", ".join(names) if names else "none: the site declares no `phases:`"
    if spec.current_phase is not None and spec.current_phase not in names:
        problems.append(Problem(key_path(["current_phase"]), f"{spec.current_phase!r} is not a phase of the site; allowed: {allowed}"))
    for at, name in _references(spec):
        if name not in names:
            problems.append(Problem(key_path(at), f"{name!r} is not a phase of the site; allowed: {allowed}"))
    return problems


def _references(spec: FactorySpec) -> Iterator[tuple[list[str | int], str]]:
    """Every phase name the site mentions outside `phases:`, with its key path."""
    yield from _of(["site"], spec.site)
    for h, hall in enumerate(spec.site.halls):
        yield from _of(["site", "halls", h], hall)
        for r, row in enumerate(hall.rows):
            yield from _of(["site", "halls", h, "rows", r], row)
    for c, cluster in enumerate(spec.clusters):
        yield from _of(["clusters", c], cluster)
        for p, pool in enumerate(cluster.pools):
            yield from _of(["clusters", c, "pools", p], pool)
    for t, tenant in enumerate(spec.tenants):
        yield from _of(["tenants", t], tenant)


def _of(at: list[str | int], item: Site | Hall | Row | Cluster | GpuPool | Tenant) -> Iterator[tuple[list[str | int], str]]:
    from_phase: Any = getattr(item, "from_phase", None)
    if from_phase is not None:
        yield [*at, "from_phase"], from_phase
    for name in getattr(item, "by_phase", {}):
        yield [*at, "by_phase", name], name
