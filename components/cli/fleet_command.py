"""`aion fleet OPERATION FILE`: every cluster stack of a site, or of every site of a programme (or
the ones named), with Pulumi's Automation API.

`stacks` writes the stack files the clusters lack and names those no cluster owns; `changed` and
`matrix` say which stacks of the phase deployed today a change touches (for CI). In a programme a
cluster is named SITE/CLUSTER.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import PATH_CHARS, ConfigError, Problem, shown
from ..fleet.changes import changed_clusters
from ..fleet.matrix import GITHUB_MATRIX_MAX_JOBS, matrix_document
from ..fleet.runner import DEFAULT_PARALLEL, OPERATIONS, FleetRun, run_fleet, summary_table
from ..fleet.stacks import Fleets, fleets_of, stack_name, write_missing_stacks
from ..programme_plan import ProgrammePlan, plan_programme
from ..target import with_target_rules
from .exits import EXIT_BAD_INPUT, EXIT_FITS, EXIT_VIOLATED, bad_input
from .project import stack_dir

# The operations that run a stack's program: a stack whose cluster does not exist today is left out.
DEPLOYING = ("preview", "up", "refresh")
HELP = {
    "preview": "`pulumi preview` of every cluster stack of the site or programme deployed today, in parallel",
    "up": "`pulumi up` of every cluster stack of the site or programme deployed today, in parallel",
    "destroy": "`pulumi destroy` of every cluster stack of the site or programme, the last created first",
    "refresh": "`pulumi refresh` of every cluster stack of the site or programme deployed today, in parallel",
    "status": "each cluster stack's last update",
    "stacks": "write the stack files the clusters of the site or programme lack; name those no cluster owns",
    "changed": "the clusters deployed today that a change to the site or programme touches, one a line",
    "matrix": "the stacks of those clusters, as a GitHub Actions matrix (and split into matrices of at most --max-jobs)",
}


def add_parser(commands: Any) -> None:
    fleet = commands.add_parser("fleet", help="run or shape every cluster stack of a site or programme")
    operations = fleet.add_subparsers(dest="fleet_command", required=True)
    for operation in OPERATIONS:
        run = _with_site(operations.add_parser(operation, help=HELP[operation]))
        run.add_argument("--cluster", action="append", help="only this cluster's stack (repeatable; SITE/CLUSTER in a programme)")
        run.add_argument("--parallel", type=int, default=DEFAULT_PARALLEL, help=f"stacks at once (default {DEFAULT_PARALLEL})")
        run.add_argument("--logs", help="folder of the stacks' log files (default: PROJECT/.state/fleet)")
        if operation == "preview":
            run.add_argument("--base", help="only the stacks a change to the site since this git revision touches")
        run.set_defaults(run=_operate, operation=operation, base=None)
    _with_site(operations.add_parser("stacks", help=HELP["stacks"])).set_defaults(run=_stacks)
    for name in ("changed", "matrix"):
        changed = _with_site(operations.add_parser(name, help=HELP[name]))
        changed.add_argument("--base", help="the git revision to compare with, rendered by its own code (default: every cluster)")
        if name == "changed":
            changed.add_argument("--diff", action="store_true", help="print what each changed cluster deploys, as a diff against the base")
        changed.set_defaults(run=_changed, as_matrix=name == "matrix", diff=False)
        if name == "matrix":
            changed.add_argument(
                "--max-jobs", type=_positive, default=GITHUB_MATRIX_MAX_JOBS,
                help=f"entries per matrix under `matrices` (default {GITHUB_MATRIX_MAX_JOBS}, GitHub's limit per matrix)",
            )  # fmt: skip


def _positive(text: str) -> int:
    """An argument that counts something: a whole number of at least 1 (argparse says which flag)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; allowed: 1 or more") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; allowed: 1 or more")
    return value


def _with_site(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("site_file", help="the site document, or a programme of sites")
    parser.add_argument("--project", default=".", help="the Pulumi project's folder (default: here); its stackConfigDir holds the stacks")
    return parser


def _fleet(args: argparse.Namespace) -> tuple[Fleets, Path, Path]:
    project = Path(args.project)
    stacks = stack_dir(project)
    return fleets_of(args.site_file, stacks), project, stacks


def _operate(args: argparse.Namespace) -> int:
    try:
        fleets, project, _ = _fleet(args)
        plan = plan_programme(fleets.programme, refine=with_target_rules)
        stacks = _chosen(fleets, args.cluster, plan if args.operation in DEPLOYING else None)
        if args.base:
            _, after, clusters = _touched(args.base, Path(args.site_file))
            touched = set(_with_changed_stack_files(clusters, after, fleets, args.base, Path(args.site_file)))
            stacks = {c: p for c, p in stacks.items() if c in touched}
    except ConfigError as error:
        return bad_input(error)
    if args.operation in ("preview", "up") and plan.violations:
        # Every stack would refuse the same way: say it once, run none.
        what = "programme" if fleets.of_programme else "site"
        print(f"the {what}'s plan is violated; no stack of it deploys:", *(f"  {v}" for v in plan.violations), sep="\n", file=sys.stderr)
        return EXIT_VIOLATED
    logs = Path(args.logs) if args.logs else project / ".state" / "fleet"
    try:
        logs.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        why = f"cannot hold the stacks' logs in {shown(str(logs), PATH_CHARS)}: {error.strerror}; allowed: a folder that can be created"
        return bad_input(ConfigError([Problem("--logs", why)]))
    results = run_fleet(FleetRun(args.operation, project.resolve(), logs, args.parallel), stacks, sys.stderr)
    print(summary_table(results), end="")
    return EXIT_FITS if all(r.ok for r in results) else EXIT_VIOLATED


def _chosen(fleets: Fleets, clusters: list[str] | None, plan: ProgrammePlan | None) -> dict[str, Path]:
    """The stacks to run: those named (all without --cluster); with `plan`, only those whose cluster
    exists in the phase deployed today (a stack of a later one would refuse: it has nothing to deploy)."""
    stacks = fleets.stacks
    now = fleets.deployed_today(plan, datetime.date.today()) if plan else set(stacks)
    problems = []
    for name in clusters or []:
        if name not in stacks:
            like = [key for key in stacks if key.endswith(f"/{name}")]
            hint = f"; in a programme a cluster is SITE/CLUSTER: {', '.join(like)}" if like else ""
            why = f"{shown(name)} has no stack file{hint}; clusters with one: {', '.join(stacks) or 'none'}"
            problems.append(Problem("--cluster", why))
        elif name not in now:
            allowed = ", ".join(c for c in stacks if c in now) or "none"
            problems.append(Problem("--cluster", f"{shown(name)} does not exist in the phase deployed today; allowed: {allowed}"))
    if problems:
        raise ConfigError(problems)
    return {c: p for c, p in stacks.items() if (not clusters or c in clusters) and c in now}


def _stacks(args: argparse.Namespace) -> int:
    try:
        fleets, _, stack_dir = _fleet(args)
        written = write_missing_stacks(fleets, stack_dir)
    except ConfigError as error:
        return bad_input(error)
    except OSError as error:  # the stack folder cannot be written
        why = f"cannot write stack files into {shown(str(error.filename), PATH_CHARS)}: {error.strerror}; allowed: a writable folder"
        return bad_input(ConfigError([Problem("--project", why)]))
    for path in written:
        print(f"wrote {path}")
    for fleet in fleets.fleets:
        for orphan in fleet.orphans:
            print(f"warning: {orphan} names a cluster that {fleet.site_file} does not have", file=sys.stderr)
    return EXIT_BAD_INPUT if fleets.orphans else EXIT_FITS


def _changed(args: argparse.Namespace) -> int:
    from ..fleet.deployed import deployed_diff

    site_file = Path(args.site_file)
    try:
        fleets = _fleet(args)[0] if args.as_matrix else None
        before, after, clusters = _touched(args.base, site_file)
        if fleets is not None and args.base:
            clusters = _with_changed_stack_files(clusters, after, fleets, args.base, site_file)
    except ConfigError as error:
        return bad_input(error)
    if args.diff:
        print(deployed_diff(before or {}, after, clusters, args.base or "nothing"), end="")
    elif fleets is None:
        print("\n".join(clusters))
    else:
        stacks = fleets.stacks
        entries = [{"cluster": c, "stack": stack_name(stacks[c])} for c in clusters if c in stacks]
        print(json.dumps(matrix_document(entries, args.max_jobs)))
    return EXIT_FITS


def _with_changed_stack_files(clusters: list[str], after: dict[str, Any], fleets: Fleets, base: str, path: Path) -> list[str]:
    """`clusters`, and the clusters deployed today whose stack file changed since `base`: a stack file
    says which cluster, site and programme the stack deploys, so editing it changes what it deploys."""
    from ..fleet.baseline import files_changed, repository_top

    stacks = fleets.stacks
    edited = files_changed(repository_top(path, "--base"), base, list(stacks.values()))
    return [c for c in stacks if c in after and (c in clusters or stacks[c] in edited)]


def _touched(base: str | None, path: Path) -> tuple[dict[str, Any] | None, dict[str, Any], list[str]]:
    """What the clusters of the site or programme at `path` deploy today (in the phase its stacks
    deploy) at `base` and now, and the clusters a change since `base` touches (every one without a
    base); a dropped cluster's stack is destroyed by hand, not previewed, and a cluster whose phase
    has not come deploys nothing yet."""
    # What a cluster deploys is rendered by the platform's builders: loaded only for these commands.
    from ..fleet.deployed import documents_of

    after = documents_of(path)
    before, registration = _deployed_at(base, path) if base else (None, set())
    kept = set(after)
    return before, after, [c for c in changed_clusters(before, after, registration) if c in kept]


def _deployed_at(revision: str, site_file: Path) -> tuple[dict[str, Any] | None, set[str | None]]:
    """What the site's clusters deploy at a git revision (its own code renders them), and the targets
    whose registration code changed since; a revision that cannot say leaves every cluster changed."""
    from ..fleet.baseline import documents_at, registration_changed, repository_top

    top = repository_top(site_file, "--base")
    if not site_file.resolve().is_relative_to(top.resolve()):
        raise ConfigError([Problem("--base", f"{shown(str(site_file), PATH_CHARS)} is outside the git checkout {top}")])
    relative = PurePosixPath(site_file.resolve().relative_to(top.resolve()).as_posix())
    documents, why = documents_at(top, revision, relative)
    if documents is None:
        print(f"every cluster counts as changed: {why}", file=sys.stderr)
    return documents, registration_changed(top, revision, None)
