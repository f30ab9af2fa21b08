"""`aion plan` of a programme, or of a site with phases: every site in every phase, the programme's
totals per phase, `--phase NAME` for one phase, `--diff` per phase and the report's ramp."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Problem, format_problems
from ..fleet.revision import inputs_at
from ..phases import current_view
from ..plan_diff import diff_plans, format_diff, markdown_diff
from ..programme import Programme, programme_of_site
from ..programme_document import programme_document
from ..programme_plan import ProgrammePlan, phase_label, plan_programme
from ..programme_report import format_programme
from ..ramp_chart import write_ramp
from ..report import write_report
from ..spec import Phase
from ..target import with_target_rules
from .exits import EXIT_FITS, EXIT_VIOLATED, bad_input
from .output import github_annotations, print_json


def programmes_of(sites: list[Any]) -> list[Programme] | None:
    """Each phased site among `sites` as a programme of one; None where no site has phases (plan them as sites)."""
    if any(site.spec.phases for site in sites):
        return [programme_of_site(site.spec, site.label) for site in sites]
    return None


def current_phase(programme: Programme, today: datetime.date) -> Phase | None:
    view = current_view(programme.sites[0].spec, today)
    return None if view is None else view.phase


def chosen_phase(plan: ProgrammePlan, name: str | None) -> int | None:
    if name is None:
        return None
    index = plan.phase_index(name)
    if index is None:
        allowed = ", ".join(p.name for p in plan.phases if p is not None) or "none: it has no phases"
        raise ConfigError([Problem("--phase", f"{name!r} is not a phase of {plan.name}; allowed: {allowed}")])
    return index


def plan_all(programmes: list[Programme], phase: str | None) -> list[tuple[ProgrammePlan, int | None]]:
    plans = []
    for programme in programmes:
        plan = plan_programme(programme, refine=with_target_rules)
        plans.append((plan, chosen_phase(plan, phase)))
    return plans


def run_programmes(
    args: argparse.Namespace, path: Path, programmes: list[Programme], programmes_at: Callable[[Path], list[Programme]]
) -> int:
    """Print (and report, and diff) the programmes' plans; bad input raises ConfigError before any output.
    `programmes_at`: what a path stands for as programmes (`aion plan`'s reading of it), for the base of `--diff`."""
    today = datetime.date.today()
    plans = plan_all(programmes, args.phase)
    diffs = _diffs(args.diff, path, plans, programmes_at) if args.diff else None
    if args.format == "json":
        documents = [
            json.loads(programme_document(plan, current_phase(p, today), index).model_dump_json())
            for p, (plan, index) in zip(programmes, plans, strict=True)
        ]
        print_json(documents[0] if len(documents) == 1 else documents)
    for n, (programme, (plan, index)) in enumerate(zip(programmes, plans, strict=True)):
        current = current_phase(programme, today)
        if args.format == "github":
            for annotation in github_annotations([*plan.violations, *plan.warnings], str(path) if path.is_file() else None):
                print(annotation)
        elif diffs is not None:
            print(diffs[n][0], end="")
        elif args.format == "text":
            print(format_programme(plan, current, index), end="")
        if args.report:
            folder = Path(args.report) / plan.name if len(plans) > 1 else Path(args.report)
            try:
                written = _report(plan, current, index, folder, diffs[n][1] if diffs else None)
            except OSError as error:
                why = f"cannot write the report into {folder}: {error.strerror or error}; allowed: a writable folder"
                return bad_input(ConfigError([Problem("--report", why)]), args.format)
            for report_file in written:
                print(f"wrote {report_file}", file=sys.stderr)
        if plan.violations and (args.format != "text" or diffs is not None):  # else the table lists them
            print(format_problems(plan.violations, indent="violation: "), file=sys.stderr)
        if plan.warnings:
            print(format_problems(plan.warnings, indent="warning: "), file=sys.stderr)
    return EXIT_VIOLATED if any(plan.violations for plan, _ in plans) else EXIT_FITS


def _report(plan: ProgrammePlan, current: Phase | None, index: int | None, folder: Path, diff_md: str | None) -> list[Path]:
    """The ramp (ramp.svg, ramp.html) and, per site, the report of the phase shown: the one chosen,
    else the current one, else the last."""
    shown = index if index is not None else (plan.phase_index(current.name) if current else None)
    shown = len(plan.phases) - 1 if shown is None else shown
    written = write_ramp(plan, folder)
    for site in plan.sites:
        written += write_report(site.plans[shown].plan, folder / site.name)
    if diff_md is not None:
        (folder / "diff.md").write_text(diff_md)
        written.append(folder / "diff.md")
    return written


def _diffs(
    revision: str, path: Path, plans: list[tuple[ProgrammePlan, int | None]], programmes_at: Callable[[Path], list[Programme]]
) -> list[tuple[str, str]]:
    """Per programme, what the change does per phase and site, as text and Markdown."""
    with inputs_at(revision, path) as (tree, old):
        try:
            before_programmes = programmes_at(old) if old is not None else []
        except ConfigError as error:
            root = f"{tree}/"
            raise ConfigError(
                [Problem(f"--diff {revision}: {p.path.replace(root, '')}", p.message.replace(root, "")) for p in error.problems]
            ) from None
        before = {p.name: plan_programme(p, refine=with_target_rules) for p in before_programmes}
    result = []
    for plan, index in plans:
        old_plan = before.get(plan.name)
        texts, markdowns = [], []
        for i, phase in enumerate(plan.phases):
            if index is not None and i != index:
                continue
            # A base without phases is the same site in every phase: it is compared with each.
            old_index = None if old_plan is None else (old_plan.phase_index(phase.name) if phase and old_plan.phases != (None,) else 0)
            heading = f"== phase {phase_label(phase)}\n" if phase is not None else ""
            for site in plan.sites:
                was = None
                if old_plan is not None and old_index is not None:
                    was = next((s.plans[old_index].plan for s in old_plan.sites if s.name == site.name), None)
                diff = diff_plans(was, site.plans[i].plan)
                texts.append(heading + format_diff(diff, revision))
                markdowns.append(("#### Phase " + phase_label(phase) + "\n\n" if phase else "") + markdown_diff(diff, revision))
                heading = ""
        result.append(("\n".join(texts), "\n".join(markdowns)))
    return result
