"""`aion site add-clusters SITE --hall H --node-type T (--nodes N | --fill)`: cluster entries for a demand.
`aion site derate SITE LEVEL --to KW|PERCENT% [--until TIME]`: a power event beside the site, and what it does.

Where the site declares its account, the entries respect its quotas too: `--fill` holds no more
than they leave, and `--nodes` beyond them is refused naming the quota to raise (exit 1)."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ..derate_report import format_derates
from ..errors import ConfigError, Problem, format_problems, shown
from ..fleet.demand import cluster_entries, fill_nodes
from ..phases import view_at
from ..planner import make_plan
from ..power_event import (
    Derate,
    check_events,
    derates_beside,
    events_path,
    in_force,
    level_budgets,
    site_source,
    with_derate,
    without_derate,
    write_events,
)
from ..site import load_site
from ..spec import Cluster, FactorySpec
from ..wording import count
from .exits import EXIT_FITS, EXIT_VIOLATED, bad_input

# Cluster names are PREFIX-c01 ...: DNS labels of at most 40 characters (spec.Name), and -c9999 leaves 34 for the prefix.
PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]{0,32}[a-z0-9])?")
PREFIX_HELP = "lowercase letters, digits and '-', at most 34 characters, starting and ending with a letter or digit"


def add_parser(commands: Any) -> None:
    site = commands.add_parser("site", help="shape a site document").add_subparsers(dest="site_command", required=True)
    add = site.add_parser(
        "add-clusters",
        help="print cluster entries that hold a demand of GPU nodes in one hall, each under the control-plane limit",
    )
    add.add_argument("site_file", help="the site document")
    add.add_argument("--hall", required=True, help="the hall the clusters draw from")
    add.add_argument("--node-type", required=True, help="a GPU node type of the catalog, e.g. B300-SXM-8-288G")
    demand = add.add_mutually_exclusive_group(required=True)
    demand.add_argument("--nodes", type=int, help="how many GPU nodes")
    demand.add_argument("--fill", action="store_true", help="as many as the hall's share of the site's headroom holds")
    add.add_argument("--prefix", help="cluster names: PREFIX-c01, PREFIX-c02 ... (default: the hall's name)")
    add.add_argument("--zone", default="fr-par-2", help="Scaleway zone of the clusters (default: fr-par-2)")
    add.add_argument("--phase", help="a site with phases: the phase the clusters exist from, whose headroom --fill takes (default: last)")
    add.set_defaults(run=run)
    derate = site.add_parser(
        "derate",
        help="lower a level's budget for a while (a power event beside the site document) and print what the toolkit will do, in kW",
    )
    derate.add_argument("site_file", help="the site document, or a stack file (its site's document, or its own inline site)")
    derate.add_argument("level", help="a level of the power tree: site/hall/row, or hall/row without the site's name")
    budget = derate.add_mutually_exclusive_group(required=True)
    budget.add_argument("--to", metavar="KW", help="the level's budget meanwhile: kW, or a share of its budget (80%%)")
    budget.add_argument("--end", action="store_true", help="end the level's derate now: the next deploy restores the plan")
    derate.add_argument(
        "--until", metavar="TIME", help="when it ends, ISO 8601 with a time zone (2026-12-07T18:00:00Z); default: until removed"
    )
    derate.add_argument("--from", dest="start", metavar="TIME", help="when it starts (default: now)")
    derate.set_defaults(run=run_derate)


def run(args: argparse.Namespace) -> int:
    try:
        if args.prefix is not None and not PREFIX.fullmatch(args.prefix):
            why = f"{shown(args.prefix)} would not make cluster names; allowed: {PREFIX_HELP}"
            raise ConfigError([Problem("--prefix", why)])
        spec = load_site(args.site_file)
        phase = _phase(spec, args.phase)
        # --fill takes the headroom of the phase the clusters come in; names and subnets avoid every phase's.
        planned = spec if phase is None else view_at(spec, phase).spec
        nodes = fill_nodes(planned, args.hall, args.node_type) if args.fill else max(args.nodes, 0)
        entries = _entries(spec, args, nodes, phase)
        over = _over_quota(spec, entries)
        if over and args.fill:
            nodes = _most_within_account(spec, args, nodes, phase)
            entries = _entries(spec, args, nodes, phase)
            one_more = _over_quota(spec, _entries(spec, args, nodes + 1, phase))
            print(f"# the account's quotas hold {nodes:,} of the hall's {args.node_type}; one more would pass:", file=sys.stderr)
            print(format_problems(one_more, indent="#   "), file=sys.stderr)
        elif over:
            print(format_problems(over, "the entries would pass the account's quotas; none printed:"), file=sys.stderr)
            return EXIT_VIOLATED
    except ConfigError as error:
        return bad_input(error)
    where = f"{nodes} x {args.node_type} in hall {args.hall}"
    print(f"# {where}: {count(len(entries), 'cluster')}; add them under `clusters:`", file=sys.stderr)
    print(yaml.safe_dump(entries, sort_keys=False), end="")
    return EXIT_FITS


def run_derate(args: argparse.Namespace) -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        source, spec = site_source(Path(args.site_file))
        budgets = level_budgets(spec)
        level = args.level if args.level in budgets else f"{spec.site.name}/{args.level}"
        events, _ = derates_beside(source, spec, now)
        if args.end:
            if level not in {d.level for d in events.derates}:
                raise ConfigError(
                    [
                        Problem(
                            "LEVEL", f"{shown(level)} has no derate to end; derated: {', '.join(d.level for d in events.derates) or 'none'}"
                        )
                    ]
                )
            events = without_derate(events, level, now)
        else:
            values = {
                "level": level,
                "it_power_kw": _kw(args.to, budgets.get(level)),
                "from": args.start or now.isoformat(),
                "until": args.until,
            }
            events = with_derate(events, _validated(Derate, {k: v for k, v in values.items() if v is not None}), now)
        path = events_path(source)
        problems = check_events(events, spec)
        if problems:
            raise ConfigError([Problem(_flag(p.path), p.message) for p in problems])
        write_events(path, events)
    except ConfigError as error:
        return bad_input(error)
    plan = make_plan(spec, derates=in_force(events, now))
    print(f"wrote {path}", file=sys.stderr)
    print(format_derates(plan, events, str(path)), end="")
    derate_violations = [v for v in plan.violations if plan.derate and v.path in {lv.level for lv in plan.derate.levels}]
    if derate_violations:
        print(format_problems(derate_violations, indent="violation: "), file=sys.stderr)
        return EXIT_VIOLATED
    return EXIT_FITS


def _kw(text: str, budget_kw: float | None) -> float:
    """`--to`: kW, or `N%` of the level's budget."""
    try:
        if text.endswith("%"):
            if budget_kw is None:
                raise ValueError
            return budget_kw * float(text[:-1]) / 100
        return float(text)
    except ValueError:
        raise ConfigError(
            [Problem("--to", f"{shown(text)} is not a power; allowed: kW (34782.4) or a share of the level's budget (80%)")]
        ) from None


def _validated(model: Any, values: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise ConfigError(
            [
                Problem(_flag(".".join(str(p) for p in e["loc"])), f"{shown(e.get('input'))} is not allowed: {e['msg']}")
                for e in error.errors()
            ]
        ) from None


def _flag(path: str) -> str:
    """A derate's key as the command line spells it."""
    key = path.rsplit(".", 1)[-1]
    return {"level": "LEVEL", "it_power_kw": "--to", "from": "--from", "until": "--until"}.get(key, path)


def _phase(spec: FactorySpec, name: str | None) -> int | None:
    """The index of the phase the clusters come in: `name`, else the last; None for a site without phases."""
    names = [p.name for p in spec.phases]
    if name is None:
        return len(names) - 1 if names else None
    if name not in names:
        raise ConfigError([Problem("--phase", f"{shown(name)} is not a phase of the site; allowed: {', '.join(names) or 'none'}")])
    return names.index(name)


def _entries(spec: FactorySpec, args: argparse.Namespace, nodes: int, phase: int | None) -> list[dict[str, Any]]:
    entries = cluster_entries(spec, args.hall, args.node_type, nodes, args.prefix, args.zone)
    if phase is not None:
        entries = [{**entry, "from_phase": spec.phases[phase].name} for entry in entries]
    return entries


def _over_quota(spec: FactorySpec, entries: list[dict[str, Any]]) -> list[Problem]:
    """The account quotas the site passes with the entries added, where it declares its account."""
    if spec.account is None or not entries:
        return []
    grown = spec.model_copy(update={"clusters": spec.clusters + tuple(Cluster.model_validate(e) for e in entries)})
    return [v for v in make_plan(grown).violations if v.path.startswith("aion:account.")]


def _most_within_account(spec: FactorySpec, args: argparse.Namespace, nodes: int, phase: int | None) -> int:
    """The most nodes, up to `nodes`, whose clusters the account's quotas hold (more nodes never fit fewer
    quotas: each counts Instances, volumes and clusters that only grow with them), by bisection."""
    low, high = 0, nodes
    while low < high:
        middle = (low + high + 1) // 2
        if _over_quota(spec, _entries(spec, args, middle, phase)):
            high = middle - 1
        else:
            low = middle
    return low
