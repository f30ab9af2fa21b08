"""Power events: a level's budget lowered for a while, as a document kept beside the site's.

A grid operator curtails, a feed is lost and a row runs on one side: the site's budgets stay
what they are, and the event says for how long one is lower. It lives in the repository next
to the document it derates (the site document, or the stack file of an inline site), named
`power-events.<that file's name>`, so it is reviewed, versioned and deployed like the site:

    derates:
      - level: aion/hall-4          # a level of the site's power tree
        it_power_kw: 34782.4        # its budget while the event lasts, at most its own
        from: 2026-12-07T03:00:00Z
        until: 2026-12-07T18:00:00Z # optional: open-ended until removed
        reason: grid curtailment    # optional

Read with the one YAML reader (bounded), validated like any input (every problem at once, each
naming its key path); `aion site derate` writes it. A derate is in force from `from` until
`until`; `aion plan` and a deploy plan with the ones in force, so the first deploy after the
event ends restores the plan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import yaml
from annotated_types import Interval
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError, Problem, shown
from .planner import LevelDerate
from .site import load_stack, read_yaml, site_from_document
from .spec import MAX_KW, FactorySpec, NotABool
from .yaml_input import document_path

PREFIX = "power-events."
MAX_DERATES = 64  # one per level of a large site's rows is far fewer; more is a mistake
MAX_DAYS = 366  # a derate longer than a year is a new budget: change the site document


class Derate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, str_max_length=200, populate_by_name=True)

    level: str = Field(min_length=1)
    """A level of the site's power tree: `site`, `site/hall`, `site/hall/row`."""
    it_power_kw: Annotated[float, Interval(ge=0, le=MAX_KW), NotABool]
    """Its IT budget while the event lasts, kW: at most the level's own."""
    start: AwareDatetime = Field(alias="from")
    """When the event starts, with a time zone (2026-12-07T03:00:00Z)."""
    until: AwareDatetime | None = None
    """When it ends; unset: until it is removed."""
    reason: str | None = None
    """Why: a curtailment, a feed lost."""

    def in_force(self, now: datetime) -> bool:
        return self.start <= now and (self.until is None or now < self.until)


class PowerEvents(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    derates: Annotated[tuple[Derate, ...], Field(max_length=MAX_DERATES)] = ()


def events_path(source: Path) -> Path:
    """The power-event document beside `source` (a site document or an inline site's stack file).
    Its name does not match Pulumi.*.yaml, so no tool takes it for a stack."""
    return source.parent / f"{PREFIX}{source.name}"


def load_events(path: Path, spec: FactorySpec) -> PowerEvents:
    """The events beside a site; none when there is no document."""
    if not path.exists():
        return PowerEvents()
    document = read_yaml(path, "power-event document")
    if document is None:
        return PowerEvents()
    try:
        events = PowerEvents.model_validate(document)
    except ValidationError as error:
        raise ConfigError([_problem(path, e) for e in error.errors()]) from None
    problems = check_events(events, spec)
    if problems:
        raise ConfigError([Problem(f"{path}: {p.path}", p.message) for p in problems])
    return events


def check_events(events: PowerEvents, spec: FactorySpec) -> list[Problem]:
    """What needs the site: the level exists, a derate lowers it, each level once, a bounded duration."""
    budgets = level_budgets(spec)
    problems, seen = [], set()
    for index, derate in enumerate(events.derates):
        at = f"derates[{index}]"
        if derate.level not in budgets:
            problems.append(
                Problem(f"{at}.level", f"{shown(derate.level)} is not a level of site {spec.site.name}; allowed: {_levels(budgets)}")
            )
        elif derate.it_power_kw > budgets[derate.level] + 1e-9:
            problems.append(
                Problem(
                    f"{at}.it_power_kw",
                    f"{derate.it_power_kw:,.1f} kW is over the level's budget of {budgets[derate.level]:,.1f} kW; "
                    f"allowed: 0 to {budgets[derate.level]:,.1f} (a derate lowers a budget; raise it in the site document)",
                )
            )
        if derate.level in seen:
            problems.append(Problem(f"{at}.level", f"{shown(derate.level)} is derated twice; allowed: each level once"))
        seen.add(derate.level)
        if derate.until is not None and not derate.start < derate.until <= derate.start + timedelta(days=MAX_DAYS):
            problems.append(
                Problem(
                    f"{at}.until", f"{derate.until.isoformat()} is not after `from` ({derate.start.isoformat()}) by at most {MAX_DAYS} days"
                )
            )
    return problems


def level_budgets(spec: FactorySpec) -> dict[str, float]:
    """Every level's path and IT budget, kW."""
    site = spec.site
    budgets = {site.name: site.facility_power_mw * 1000 / site.pue}
    for hall in site.halls:
        budgets[f"{site.name}/{hall.name}"] = hall.it_power_kw
        for row in hall.rows:
            budgets[f"{site.name}/{hall.name}/{row.name}"] = row.it_power_kw
    return budgets


def in_force(events: PowerEvents, now: datetime) -> tuple[LevelDerate, ...]:
    return tuple(LevelDerate(d.level, d.it_power_kw) for d in events.derates if d.in_force(now))


def site_source(path: Path) -> tuple[Path, FactorySpec]:
    """The document a power event sits beside, and its site: a site document, or a stack file
    (an inline site's own file; for a stack of a site document, that document)."""
    document = read_yaml(path, "stack file or site document")
    if isinstance(document, dict) and "config" in document:
        stack = load_stack(path)
        return (stack.site_file or path), stack.spec
    return path, site_from_document(document, path)


def derates_beside(source: Path, spec: FactorySpec, now: datetime | None = None) -> tuple[PowerEvents, tuple[LevelDerate, ...]]:
    """The events beside `source`, and those in force at `now` (default: this instant)."""
    events = load_events(events_path(source), spec)
    return events, in_force(events, now or datetime.now(UTC))


def with_derate(events: PowerEvents, derate: Derate, now: datetime) -> PowerEvents:
    """`events` with `derate` in place of the level's own, ended ones dropped."""
    return PowerEvents(derates=(*without_derate(events, derate.level, now).derates, derate))


def without_derate(events: PowerEvents, level: str, now: datetime) -> PowerEvents:
    """`events` without the level's derate (ended now), ended ones dropped."""
    return PowerEvents(derates=tuple(d for d in events.derates if d.level != level and (d.until is None or d.until > now)))


def write_events(path: Path, events: PowerEvents) -> None:
    derates = [{k: v for k, v in d.model_dump(mode="json", by_alias=True).items() if v is not None} for d in events.derates]
    header = "# Power events of the site beside this file (written by `aion site derate`); `aion plan` says what they do.\n"
    path.write_text(header + yaml.safe_dump({"derates": derates}, sort_keys=False))


def _problem(path: Path, error: Any) -> Problem:
    where = document_path([part for part in error["loc"]])
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(Derate.model_fields) if len(error["loc"]) > 1 else "derates"
        return Problem(f"{path}: {where}", f"unknown key; allowed: {allowed.replace('start', 'from')}")
    if error["type"] == "missing":
        return Problem(f"{path}: {where}", "required key is missing")
    return Problem(f"{path}: {where}", f"{shown(error.get('input'))} is not allowed: {error['msg']}")


def _levels(budgets: dict[str, float]) -> str:
    names = list(budgets)
    return ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
