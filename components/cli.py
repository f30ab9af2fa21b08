"""`aion plan STACK_CONFIG [--json] [--report DIR]`.

Exit 0 when the plan fits, 1 when a budget or limit is violated, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys

from .config import load_stack_file
from .errors import ConfigError, format_problems
from .plan_document import plan_document
from .planner import make_plan
from .report import format_table, write_report

EXIT_FITS, EXIT_VIOLATED, EXIT_BAD_INPUT = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aion", description="Plan an AI factory's GPU clusters against its power budget.")
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="check a stack config against the site's power budget")
    plan.add_argument("stack_config", help="a Pulumi stack file, e.g. stacks/Pulumi.local.yaml")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.add_argument("--report", metavar="DIR", help="also write report.md and power.svg into DIR")
    args = parser.parse_args(argv)

    try:
        spec = load_stack_file(args.stack_config)
    except ConfigError as error:
        print(format_problems(error.problems, indent="error: "), file=sys.stderr)
        return EXIT_BAD_INPUT
    result = make_plan(spec)
    print(plan_document(result).model_dump_json(indent=2) if args.json else format_table(result), end="\n" if args.json else "")
    if args.report:
        for path in write_report(result, args.report):
            print(f"wrote {path}", file=sys.stderr)
    if result.violations:
        print(format_problems(result.violations, indent="violation: "), file=sys.stderr)
    return EXIT_FITS if result.fits else EXIT_VIOLATED


if __name__ == "__main__":
    sys.exit(main())
