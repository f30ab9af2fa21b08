"""`aion schema [--site | --plan | --markdown]`: the generated JSON Schemas and config reference."""

from __future__ import annotations

import argparse
from typing import Any

from .. import schema
from .exits import EXIT_FITS

RENDERERS = {
    "stack": schema.render_schema,
    "site": schema.render_site_schema,
    "plan": schema.render_plan_schema,
    "markdown": schema.render_reference,
}


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("schema", help="print the JSON Schema of a stack file (default), a site document or the plan")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--site", dest="which", action="store_const", const="site", help="of a site document (stacks/aion-site.schema.json)")
    which.add_argument("--plan", dest="which", action="store_const", const="plan", help="of `aion plan --json` (docs/plan.schema.json)")
    which.add_argument("--markdown", dest="which", action="store_const", const="markdown", help="the config reference (docs/CONFIG.md)")
    parser.set_defaults(run=run, which="stack")


def run(args: argparse.Namespace) -> int:
    print(RENDERERS[args.which](), end="")
    return EXIT_FITS
