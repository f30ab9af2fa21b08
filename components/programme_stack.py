"""What a cluster stack deploys today: its site in the current phase, with its shares of the tenants
across sites when the site is one of a programme's, once every phase of every site fits.

A stack of a programme's site names the programme beside its site document (`aion:programme`): the
site is then planned as the programme plans it, with the shares of the programme's tenants that
run on it, and the stack refuses while any site of the programme is over a budget in any phase.
Without `aion:programme`, the site is a programme of one. Pure but for reading the programme.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from .catalog import Catalog
from .errors import PATH_CHARS, ConfigError, NotDeployable, Problem, shown
from .keys import key_path
from .phases import current_index
from .planner import PhasePlan
from .programme import Programme, load_programme, programme_of_site
from .programme_plan import ProgrammePlan, plan_programme
from .site import PROGRAMME, SiteStack


def stack_programme(stack: SiteStack, catalog: Catalog | None = None) -> Programme:
    """The programme a stack plans: the one it names (which must hold its site document), else its site alone."""
    if stack.programme_file is None:
        return programme_of_site(stack.spec, str(stack.site_file or stack.spec.site.name), stack.site_file)
    programme = named_programme(stack.programme_file, key_path([PROGRAMME]), catalog)
    require_site(programme, stack.site_file, key_path([PROGRAMME]))
    return programme


def named_programme(path: Path, key: str, catalog: Catalog | None = None) -> Programme:
    """The programme a stack file names at `key`; what is wrong with it is said under that key."""
    try:
        return load_programme(path, catalog)
    except ConfigError as error:  # the stack's key is what to fix, or the file it names
        raise ConfigError([Problem(key, f"{p.path}: {p.message}") for p in error.problems]) from None


def require_site(programme: Programme, site_file: Path | None, key: str) -> None:
    """Refuse, at `key`, a programme that does not hold the site document a stack deploys."""
    if site_file in {site.file for site in programme.sites}:
        return
    files = ", ".join(str(site.file) for site in programme.sites if site.file) or "none: its sites are inline"
    raise ConfigError(
        [
            Problem(
                key,
                f"{shown(str(programme.path), PATH_CHARS)} does not name the stack's site document {site_file}; "
                f"allowed: a programme whose `sites:` name it (its site files: {files})",
            )
        ]
    )


def deployed_phase(stack: SiteStack, today: datetime.date, catalog: Catalog | None = None) -> PhasePlan | None:
    """The stack's site in its current phase, planned (a site without phases: itself), once every
    phase of every site of its programme fits, else `NotDeployable` naming each violation; None
    before the first phase's date: no power is there yet, so no hardware is deployed."""
    violations, current = current_phase(stack, today, catalog)
    if violations:
        what = "the programme's" if stack.programme_file else "the site's"
        raise NotDeployable(f"the plan violates {what} budgets or limits", violations)
    return current


def current_phase(stack: SiteStack, today: datetime.date, catalog: Catalog | None = None) -> tuple[list[Problem], PhasePlan | None]:
    """Every violation of the stack's programme, in any site and phase, and its site's plan in the
    current phase (None before the first phase's date): what a deployed cluster was given."""
    plan = plan_programme(stack_programme(stack, catalog), catalog)
    return plan.violations, site_now(plan, stack.spec.site.name, today)


def site_now(plan: ProgrammePlan, site: str, today: datetime.date) -> PhasePlan | None:
    """A site of a planned programme as its stacks deploy it `today`: in the phase the site document
    names current, else the last whose date has come (the site itself without phases); None before
    the first phase's date. The one rule for the program, `aion queues` and what CI renders."""
    planned = next(s for s in plan.sites if s.name == site)
    index = current_index(planned.plans[0].view.spec, today)
    return None if index is None else planned.plans[index]
