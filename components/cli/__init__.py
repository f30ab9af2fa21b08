"""`aion`: plan a site against its power budget, shape its fleet of cluster stacks, and run them.

Exit codes, for every command: 0 all is well, 1 a budget or limit is violated (or a
stack of a fleet failed), 2 bad input (named: the key, the bad value, what is allowed).
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from . import fleet_command, plan_command, queues_command, site_command
from .exits import EXIT_BAD_INPUT, EXIT_FITS, EXIT_VIOLATED

__all__ = ["EXIT_BAD_INPUT", "EXIT_FITS", "EXIT_VIOLATED", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aion", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"aion {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (plan_command, site_command, fleet_command, queues_command):
        module.add_parser(commands)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except BrokenPipeError:  # `aion plan ... | head`: the reader has all it wanted
        sys.stderr.close()
        return EXIT_FITS
    return code


if __name__ == "__main__":
    sys.exit(main())
