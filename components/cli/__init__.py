"""`aion`: plan a site against its power budget, shape its fleet of cluster stacks, and run them."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from .. import __version__
from ..errors import ConfigError, Problem
from . import completion, fleet_command, local_command, plan_command, queues_command, schema_command, site_command
from .exits import EXIT_BAD_INPUT, EXIT_FITS, EXIT_VIOLATED, bad_input

__all__ = ["EXIT_BAD_INPUT", "EXIT_FITS", "EXIT_VIOLATED", "main"]

EPILOG = """\
exit codes, for every command:
  0  all is well: the plan fits, the command did what it was asked
  1  a budget or limit is violated (each named, with what would fix it), or a stack of a fleet failed
  2  bad input: the key path, the bad value and what is allowed, every problem at once; nothing deployed

examples:
  aion plan local                      the stack `local` (stacks/Pulumi.local.yaml, through Pulumi.yaml's stackConfigDir)
  aion plan stacks --format github     every site the stack files deploy, problems as GitHub annotations
  aion plan examples/aion-1gw/programme.yaml --phase p2   a programme of sites: every phase checked, p2 shown
  aion fleet preview examples/aion-200mw/site.yaml --project examples/aion-200mw
  aion local up                        a control plane on 127.0.0.1 and `pulumi up` of the local stack (make local)
"""


class UsageError(Exception):
    """A command line argparse refuses: exit 2, as any bad input."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="aion", description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    root.add_argument("--version", action="version", version=f"aion {__version__}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (plan_command, site_command, fleet_command, queues_command, local_command, schema_command):
        module.add_parser(commands)
    completion.add_parser(commands, root)
    return root


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parser().parse_args(argv)
    except UsageError as error:  # `--json` still gets its document
        return bad_input(ConfigError([Problem("usage", str(error))]), _format_asked(argv))
    try:
        code: int = args.run(args)
    except BrokenPipeError:  # `aion plan ... | head`: the reader has all it wanted
        sys.stderr.close()
        return EXIT_FITS
    return code


def _format_asked(argv: list[str]) -> str:
    """The output format a refused command line asked for, read as argparse could not."""
    for arg, following in zip(argv, [*argv[1:], None], strict=True):
        if arg == "--json":
            return "json"
        value = arg.removeprefix("--format=") if arg.startswith("--format=") else following if arg == "--format" else None
        if value is not None and value in ("json", "github"):
            return value
    return "text"


if __name__ == "__main__":
    sys.exit(main())
