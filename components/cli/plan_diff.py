"""`aion plan PATH --diff BASE_REF`: the plan of PATH now against the plan of PATH at BASE_REF."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Problem
from ..fleet.revision import inputs_at
from ..plan_diff import SiteDiff, diff_plans, markdown_diff
from ..planner import Plan, make_plan
from ..target import with_target_rules

DIFF_FILE = "diff.md"


def diffs_against(revision: str, path: Path, plans: list[Plan], sites_of: Callable[[Path], list[Any]]) -> list[SiteDiff]:
    """Each site's changes since `revision`; a site that was not there then is new."""
    with inputs_at(revision, path) as (tree, old):
        try:
            sites = sites_of(old) if old is not None else []
        except ConfigError as error:  # the base's own files are wrong: say so, not where they were copied to
            root = f"{tree}/"
            raise ConfigError(
                [Problem(f"--diff {revision}: {p.path.replace(root, '')}", p.message.replace(root, "")) for p in error.problems]
            ) from None
        before = {plan.site.name: plan for plan in (with_target_rules(site.spec, make_plan(site.spec)) for site in sites)}
    return [diff_plans(before.get(plan.site.name), plan) for plan in plans]


def write_diff(diff: SiteDiff, revision: str, folder: Path) -> Path:
    path = folder / DIFF_FILE
    path.write_text(markdown_diff(diff, revision))
    return path
