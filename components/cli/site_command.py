"""`aion site add-clusters SITE --hall H --node-type T (--nodes N | --fill)`: cluster entries for a demand."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

import yaml

from ..errors import ConfigError, Problem, shown
from ..fleet.demand import cluster_entries, fill_nodes
from ..phases import view_at
from ..site import load_site
from ..spec import FactorySpec
from ..wording import count
from .exits import EXIT_FITS, bad_input

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


def run(args: argparse.Namespace) -> int:
    try:
        if args.prefix is not None and not PREFIX.fullmatch(args.prefix):
            why = f"{shown(args.prefix)} would not make cluster names; allowed: {PREFIX_HELP}"
            raise ConfigError([Problem("--prefix", why)])
        spec = load_site(args.site_file)
        phase = _phase(spec, args.phase)
        # --fill takes the headroom of the phase the clusters come in; names and subnets avoid every phase's.
        planned = spec if phase is None else view_at(spec, phase).spec
        nodes = fill_nodes(planned, args.hall, args.node_type) if args.fill else args.nodes
        entries = cluster_entries(spec, args.hall, args.node_type, max(nodes, 0), args.prefix, args.zone)
        if phase is not None:
            entries = [{**entry, "from_phase": spec.phases[phase].name} for entry in entries]
    except ConfigError as error:
        return bad_input(error)
    where = f"{nodes} x {args.node_type} in hall {args.hall}"
    print(f"# {where}: {count(len(entries), 'cluster')}; add them under `clusters:`", file=sys.stderr)
    print(yaml.safe_dump(entries, sort_keys=False), end="")
    return EXIT_FITS


def _phase(spec: FactorySpec, name: str | None) -> int | None:
    """The index of the phase the clusters come in: `name`, else the last; None for a site without phases."""
    names = [p.name for p in spec.phases]
    if name is None:
        return len(names) - 1 if names else None
    if name not in names:
        raise ConfigError([Problem("--phase", f"{shown(name)} is not a phase of the site; allowed: {', '.join(names) or 'none'}")])
    return names.index(name)
