"""Has a stack drifted? The scheduled drift check of every production stack, and of the local one.

`python -m aion_factory.fleet.drift --stack NAME [--project DIR] [--policy-pack DIR]`

Two questions, as Terraform and Pulumi users ask them in scheduled checks:
- the cloud against the state: `pulumi refresh --preview-only --expect-no-changes`;
- the program against the state: `pulumi preview --expect-no-changes`.
Exit 0: neither changed. Exit 1: drift, and which question found it. Exit 2: a check could not run
(credentials, a locked stack): that is not a verdict on drift.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .pulumi_runs import Stack

NO_DRIFT, DRIFTED, CANNOT_TELL = 0, 1, 2
# What the CLI prints when --expect-no-changes fails (pulumi/pkg/backend/backenderr/backenderr.go).
CHANGES_PROPOSED = "no changes were expected"
CHECKS = {
    "the cloud differs from the state (changed outside Pulumi)": ("refresh", "--preview-only", "--expect-no-changes", "--diff"),
    "the program differs from the state (not deployed yet, or drift restored by hand)": ("preview", "--expect-no-changes", "--diff"),
}


def check(stack: Stack, preview_args: tuple[str, ...] = ()) -> int:
    """Both checks, always; drift wins over a check that could not run (what was found is found)."""
    drifted = failed = False
    for question, args in CHECKS.items():
        done = stack.pulumi(*args, *(preview_args if args[0] == "preview" else ()))
        print(done.stdout, end="")
        if done.returncode == 0:
            continue
        if CHANGES_PROPOSED in done.stdout + done.stderr:
            print(f"drift: stack {stack.name}: {question}", file=sys.stderr)
            drifted = True
        else:
            print(f"error: stack {stack.name}: `pulumi {args[0]}` could not run:\n{done.stderr.strip()[-2000:]}", file=sys.stderr)
            failed = True
    return DRIFTED if drifted else CANNOT_TELL if failed else NO_DRIFT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aion_factory.fleet.drift", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--project", default=".", help="the Pulumi project's folder (default: here)")
    parser.add_argument("--policy-pack", help="a policy pack the preview runs too")
    args = parser.parse_args(argv)
    stack = Stack(Path(args.project).resolve(), args.stack, dict(os.environ))
    return check(stack, ("--policy-pack", args.policy_pack) if args.policy_pack else ())


if __name__ == "__main__":
    sys.exit(main())
