"""The power budget, checked at stack level with the same planner the program uses.

The program already refuses a plan that does not fit before it registers
anything. What only the policy can catch is a stack that fits its *own* budget
because it wrote that budget itself: give the pack the site's power tree in its
config (`power-budget: {site: ...}`, kept by whoever owns the site) and every
stack is planned against that tree instead of the one in its own config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aion_factory import ConfigError, spec_from_config
from aion_factory.programme import programme_of_site
from aion_factory.programme_plan import plan_programme


def power_findings(
    values: Mapping[str, Any],
    site_override: Mapping[str, Any] | None = None,
    source: str = "the stack's config",
    site_document: Mapping[str, Any] | None = None,
) -> list[str]:
    """One message per power level over its limit (naming the level), or per spec problem.

    `values` holds `site`, `clusters` and `tenants` as a stack's `aion:` config does
    (`source` says where they came from); `site_override` replaces its `site` when given.
    `site_document` is the whole site (its tree, every cluster, every tenant): the stack's
    clusters and tenants are planned among all the others, so that stacks which each fit
    alone are refused when together they do not.
    """
    values = dict(values)
    if site_document:
        values = among_the_site(values, site_document)
        source = "the site document in the policy config"
    elif site_override:
        values["site"] = dict(site_override)
        source = "the policy config"
    try:
        spec = spec_from_config(values)
    except ConfigError as error:
        return [f"cannot plan the stack against the site's power tree from {source}: {problem}" for problem in error.problems]
    # Every phase of a site with phases, each violation naming its phase; one plan without.
    plans = [p.plan for p in plan_programme(programme_of_site(spec, spec.site.name)).sites[0].plans]
    levels = {level.path for plan in plans for level in plan.levels}
    # Control-plane node limits are the program's business; this policy is about watts.
    return [f"{v.message} (site power tree from {source})" for plan in plans for v in plan.violations if v.path in levels]


def among_the_site(values: Mapping[str, Any], document: Mapping[str, Any]) -> dict[str, Any]:
    """The site document, with the stack's own clusters and tenants in place of the site's of the same name."""
    merged: dict[str, Any] = {"site": document.get("site")}
    merged |= {key: document[key] for key in ("phases", "current_phase") if key in document}  # the site's phases, not the stack's
    for key in ("clusters", "tenants"):
        own = {item.get("name"): item for item in values.get(key) or [] if isinstance(item, dict)}
        theirs = [item for item in document.get(key) or [] if isinstance(item, dict)]
        names = {item.get("name") for item in theirs}
        merged[key] = [own.get(item.get("name"), item) for item in theirs] + [item for name, item in own.items() if name not in names]
    return merged
