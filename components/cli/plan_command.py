"""`aion plan PATH [--format text|json|github] [--report DIR] [--diff BASE_REF]`: the whole site's plan, from a stack
(its file, or its name in the project's `stackConfigDir`), a site document or a folder of stack
files (every site they deploy, and which stack deploys each cluster)."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..derate_report import format_derates
from ..errors import PATH_CHARS, ConfigError, Problem, format_problems, shown
from ..fleet.stacks import STACK_GLOB, fleet_of, stack_name
from ..keys import key_path
from ..plan_diff import format_diff
from ..plan_document import plan_document, sites_document
from ..planner import make_plan
from ..power_event import derates_beside, events_path
from ..programme import Programme, is_programme, programme_from_document, programme_of_site
from ..programme_stack import named_programme, require_site
from ..report import REPORT_FILES, format_table, write_report
from ..site import PROGRAMME, SITE_FILE, load_stack, read_yaml, site_from_document, stack_values
from ..spec import FactorySpec
from ..target import with_target_rules
from .exits import EXIT_FITS, EXIT_VIOLATED, bad_input
from .output import FORMATS, github_annotations, print_json
from .plan_diff import diffs_against, write_diff
from .plan_programme import programmes_of, run_programmes
from .project import looks_like_stack_name, named_stack


@dataclass(frozen=True)
class PlannedSite:
    label: str  # where it came from, for headings: the site document, or an inline site's stack file
    spec: FactorySpec
    stacks: dict[str, str] | None  # cluster -> stack name; None where stack files are not known


def add_parser(commands: Any) -> None:
    plan = commands.add_parser("plan", help="check a site against its power budget, at every level")
    plan.add_argument(
        "path", help="a stack's name or file (Pulumi.<stack>.yaml), a site document, a programme document, or a folder of stack files"
    )
    plan.add_argument("--project", default=".", help="the Pulumi project whose stackConfigDir holds a named stack (default: here)")
    plan.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: a table, problems on stderr; json: one document on stdout, bad input included "
        "(schema: docs/plan.schema.json); github: GitHub Actions annotations for problems",
    )
    plan.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")
    plan.add_argument("--report", metavar="DIR", help="also write report.md, power.svg and report.html into DIR (and diff.md with --diff)")
    plan.add_argument("--phase", metavar="NAME", help="a programme or a site with phases: show that phase only (every phase is checked)")
    plan.add_argument(
        "--diff", metavar="BASE_REF", help="print what the change does against PATH at git revision BASE_REF: nodes, kW per level, quotas"
    )
    plan.add_argument("--at", metavar="TIME", help="plan with the power events in force at TIME (ISO 8601 with a time zone; default: now)")
    plan.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path = Path(args.path)
    try:
        if not path.exists() and looks_like_stack_name(args.path):
            path = named_stack(args.path, Path(args.project))
        document = read_yaml(path, "stack file, site or programme document") if path.is_file() else None
        programmes, sites = _plannable(path, document)
        if args.report:
            report_folders(Path(args.report), len(sites) if programmes is None else len(programmes) + 1)
        if args.diff and args.format != "text":
            raise ConfigError([Problem("--diff", "prints text (and diff.md with --report); allowed: --diff with --format text")])
        if programmes is not None:
            return run_programmes(args, path, programmes, programmes_at)
        if args.phase is not None:
            raise ConfigError(
                [Problem("--phase", f"{args.phase!r}: {path} has no phases; allowed: --phase with a programme or a site with phases")]
            )
        at = _instant(args.at) if args.at else None
        events = {site.label: derates_beside(Path(site.label), site.spec, at) for site in sites}
        plans = [(site, with_target_rules(site.spec, make_plan(site.spec, derates=events[site.label][1]))) for site in sites]
        diffs = diffs_against(args.diff, path, [plan for _, plan in plans], sites_of) if args.diff else None
    except ConfigError as error:
        return bad_input(error, args.format, str(path) if path.is_file() else None)
    if args.format == "json":
        documents = [plan_document(plan, site.stacks) for site, plan in plans]
        print_json(json.loads((documents[0] if len(documents) == 1 else sites_document(documents)).model_dump_json()))
    for index, (site, plan) in enumerate(plans):
        if args.format == "github":
            for annotation in github_annotations([*plan.violations, *plan.warnings], site.label):
                print(annotation)
        elif diffs is not None:
            print(format_diff(diffs[index], args.diff), end="\n" if len(plans) > 1 else "")
        table = args.format == "text" and diffs is None
        if table:  # the table lists the violations itself: they are not printed twice
            heading = f"== {site.label}\n" if len(plans) > 1 else ""
            print(heading + format_table(plan, site.stacks), end="\n" if len(plans) > 1 else "")
            derates = format_derates(plan, events[site.label][0], str(events_path(Path(site.label))))
            if derates:
                print(derates, end="")
        if args.report:
            try:
                folder = Path(args.report) / plan.site.name if len(plans) > 1 else Path(args.report)
                written = write_report(plan, folder) + ([write_diff(diffs[index], args.diff, folder)] if diffs is not None else [])
            except OSError as error:
                return bad_input(ConfigError([_report_problem(Path(args.report), error)]), args.format)
            for report_file in written:
                print(f"wrote {report_file}", file=sys.stderr)
        if plan.violations and not table:
            print(format_problems(plan.violations, indent="violation: "), file=sys.stderr)
        if plan.warnings:
            print(format_problems(plan.warnings, indent="warning: "), file=sys.stderr)
    return EXIT_VIOLATED if any(plan.violations for _, plan in plans) else EXIT_FITS


def _plannable(path: Path, document: Any) -> tuple[list[Programme] | None, list[PlannedSite]]:
    """What `path` (whose document is `document`, None for a folder) plans: programmes (a programme
    document, stack files naming one, sites with phases), else plain sites."""
    if is_programme(document):
        return [programme_from_document(document, path)], []
    sites = sites_of(path, document)
    return _with_programmes(path, document, sites) or programmes_of(sites), sites


def programmes_at(path: Path) -> list[Programme]:
    """What `path` plans, as programmes (a plain site as a programme of one): `--diff`'s base, read as now."""
    programmes, sites = _plannable(path, read_yaml(path, "stack file, site or programme document") if path.is_file() else None)
    return programmes or [programme_of_site(site.spec, site.label) for site in sites]


def _with_programmes(path: Path, document: Any, sites: list[PlannedSite]) -> list[Programme] | None:
    """Where the stack file at `path`, or a stack file of the folder `path`, names its site's programme
    (`aion:programme`): each programme named (holding that stack's site, as the stack checks), and the
    sites of no programme, each a programme of one."""
    stack_files = sorted(path.glob(STACK_GLOB)) if path.is_dir() else [path] if isinstance(document, dict) and "config" in document else []
    programmes: dict[Path, Programme] = {}
    for stack_file in stack_files:
        values = stack_values(read_yaml(stack_file, "stack file"), stack_file)
        named, site_file = values.get(PROGRAMME), values.get(SITE_FILE)
        if not isinstance(named, str) or not named or not isinstance(site_file, str):
            continue
        key, file = f"{stack_file}: {key_path([PROGRAMME])}", (stack_file.parent / named).resolve()
        if file not in programmes:
            programmes[file] = named_programme(file, key)
        require_site(programmes[file], (stack_file.parent / site_file).resolve(), key)
    if not programmes:
        return None
    planned = {site.file for programme in programmes.values() for site in programme.sites}
    alone = [programme_of_site(site.spec, site.label) for site in sites if Path(site.label).resolve() not in planned]
    return [*programmes.values(), *alone]


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ConfigError([Problem("--at", f"{shown(text)} is not a time; allowed: ISO 8601 with a time zone (2026-12-07T18:00:00Z)")])
    return instant


def report_folders(folder: Path, sites: int) -> None:
    """Refuse a `--report` folder that cannot be written before anything is planned or printed."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as error:
        raise ConfigError([_report_problem(folder, error)]) from None
    taken = [folder / name for name in REPORT_FILES if (folder / name).is_dir()] if sites == 1 else []
    if taken:
        raise ConfigError(
            [Problem("--report", f"{taken[0]} is a folder; allowed: a folder where {' and '.join(REPORT_FILES)} can be written")]
        )


def _report_problem(folder: Path, error: OSError) -> Problem:
    why = error.strerror or str(error)
    return Problem(
        "--report",
        f"cannot write the report into {shown(str(folder), PATH_CHARS)}: {why}; allowed: a folder that exists or can be created, writable",
    )


def sites_of(path: Path, document: Any = None) -> list[PlannedSite]:
    """The site(s) `path` stands for: a folder's stack files grouped by the site they deploy.
    `document`: the file's, already read."""
    if path.is_dir():
        return _folder(path)
    document = document if document is not None else read_yaml(path, "stack file or site document")
    if isinstance(document, dict) and "config" in document:
        stack = load_stack(path)
        if stack.site_file is None:
            return [PlannedSite(str(path), stack.spec, {c: stack_name(path) for c in stack.clusters})]
        # The same verdict as its site: every stack of it beside this one is shown too.
        fleet = fleet_of(stack.site_file, path.parent, stack.spec)
        return [PlannedSite(str(stack.site_file), fleet.spec, {c: stack_name(p) for c, p in fleet.stacks.items()})]
    return [PlannedSite(str(path), site_from_document(document, path), None)]


def _folder(folder: Path) -> list[PlannedSite]:
    stack_files = sorted(folder.glob(STACK_GLOB))
    if not stack_files:
        raise ConfigError(
            [Problem(str(folder), f"holds no stack files ({STACK_GLOB}); allowed: a folder of stack files, a stack file, a site document")]
        )
    sites: list[PlannedSite] = []
    site_files: dict[Path, None] = {}
    for stack_file in stack_files:
        site_file = stack_values(read_yaml(stack_file, "stack file"), stack_file).get(SITE_FILE)
        if isinstance(site_file, str):
            site_files.setdefault((folder / site_file).resolve(), None)
        else:  # an inline site: a site of its own
            stack = load_stack(stack_file)
            sites.append(PlannedSite(str(stack_file), stack.spec, {c: stack_name(stack_file) for c in stack.clusters}))
    for site_file in site_files:
        fleet = fleet_of(site_file, folder)
        if fleet.orphans:  # load_stack names the bad key and the clusters there are
            raise ConfigError([p for orphan in fleet.orphans for p in _problems_of(orphan)])
        sites.append(PlannedSite(str(site_file), fleet.spec, {c: stack_name(p) for c, p in fleet.stacks.items()}))
    return sites


def _problems_of(stack_file: Path) -> list[Problem]:
    try:
        load_stack(stack_file)
    except ConfigError as error:
        return [Problem(f"{stack_file}: {p.path}", p.message) for p in error.problems]
    return []
