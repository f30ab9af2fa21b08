"""`aion local up | down | status`: the local stack on a real control plane on 127.0.0.1.

`make local` and `make local-down` set up the toolchain and Pulumi's environment
(scripts/pulumi-env.sh), then run these. `up` starts the control plane with the stack's Kueue
settings and runs `pulumi up --refresh` (recovering an interrupted run); `down` destroys the
stack's resources, checks none is left, and stops the control plane, unless a pulumi command
holds the stack: then it leaves the control plane running for it and exits 3."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .exits import EXIT_FITS, bad_input
from .project import named_stack

HELP = {
    "up": "start the local control plane and `pulumi up --refresh` the local stack",
    "down": "destroy the local stack's resources and stop the control plane",
    "status": "the control plane's processes, ports and kubeconfig, as JSON",
}


def add_parser(commands: Any) -> None:
    local = commands.add_parser("local", help="the local stack on a control plane on 127.0.0.1 (what `make local` runs)")
    actions = local.add_subparsers(dest="local_command", required=True)
    for action, help_text in HELP.items():
        parser = actions.add_parser(action, help=help_text)
        parser.add_argument("--project", default=".", help="the Pulumi project's folder (default: here)")
        parser.add_argument("--stack", default="local", help="the local stack's name (default: local)")
        parser.set_defaults(run=run, action=action)


def state_root(project: Path) -> Path:
    """The control plane's folder: $AION_STATE/local, as scripts/pulumi-env.sh sets it, else PROJECT/.state/local."""
    return Path(os.environ.get("AION_STATE") or project / ".state") / "local"


def run(args: argparse.Namespace) -> int:
    # The dev stack's modules load Pulumi's Automation API: only for this command.
    from ..devstack import controlplane, localstack

    project = Path(args.project)
    try:
        stack = named_stack(args.stack, project)
    except ConfigError as error:
        return bad_input(error)
    plane = ["--root", str(state_root(project))]
    pulumi = ["--stack", args.stack, "--project", str(project)]
    if args.action == "status":
        return controlplane.main(["status", *plane])
    if args.action == "up":
        return controlplane.main(["start", *plane, "--stack", str(stack)]) or localstack.main(["up", *pulumi])
    status = EXIT_FITS
    if "kube-apiserver" in controlplane.LocalControlPlane(state_root(project)).running():
        status = localstack.main(["down", *pulumi])
        if status == localstack.EXIT_BUSY:
            # Stopping the plane under a live pulumi command would leave it hanging until a `make local`.
            print(
                "the local control plane is left running: that pulumi command needs it to finish. "
                "Wait for it to end, then run `make local-down` again",
                file=sys.stderr,
            )
            return status
    return controlplane.main(["stop", *plane]) or status
