"""Up and down of the local stack, as `make local` and `make local-down` run them; safe to run again
after anything (a killed CLI, a restarted control plane, edits by kubectl).

`python -m aion_factory.devstack.localstack up|down [--stack local] [--project .] [-- MORE_PULUMI_ARGS...]`

up:   recover from an interrupted run (fleet/recovery.py), `pulumi up --refresh` (the refresh finds
      what was changed or deleted by hand, the update restores it; what a refresh cannot see is
      deleted and created again), then print what the API server holds and where it differs from the plan.
down: recover likewise (finishing an interrupted update first), `pulumi destroy`, then fail when a node or tenant namespace carrying the
      project's labels is still there.

Exit 0 when done, 1 when it failed, 3 (EXIT_BUSY) when a pulumi command holds the stack, or may:
then nothing was changed, and `aion local down` leaves the control plane running for that command.

The CLI runs in a session of its own: when it ends, however it ends, whatever of its plugins is left
in that session is stopped; an interrupt, a termination or a hang-up (a closed terminal) given to
this command is passed on to it, so that no update runs on unseen.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import environment, labels
from ..fleet.pulumi_runs import Stack, forget_run, start_pulumi, stop_session
from ..fleet.recovery import RecoveryError, StackBusy, exported, recover
from ..fleet.stacks import project_stack_dir
from ..platform.tenancy import TENANT_LABEL
from . import show

EXIT_FAILED = 1
# A pulumi command holds the stack (or may): `aion local down` then leaves the control plane running.
EXIT_BUSY = 3
# What this command passes on to the pulumi CLI, and as what: the CLI runs in a session of its own,
# so a terminal's signals reach it only through here. It ends an update cleanly (saving the state,
# releasing its lock) on SIGINT or SIGTERM (pulumi/pkg/backend/cancellation_scope.go) and handles
# no SIGHUP: a closed terminal's hang-up is passed on as an interrupt.
FORWARDED = {signal.SIGINT: signal.SIGINT, signal.SIGTERM: signal.SIGTERM, signal.SIGHUP: signal.SIGINT}


def run_pulumi(stack: Stack, args: Sequence[str]) -> int:
    """`pulumi ARGS --stack S`, its output on ours; its plugins never outlive it (it leads a session of its own)."""
    process, run = start_pulumi(stack, list(args))
    forward = {sig: signal.signal(sig, lambda number, _frame: _pass_on(process, FORWARDED[signal.Signals(number)])) for sig in FORWARDED}
    try:
        return process.wait()
    finally:
        for sig, handler in forward.items():
            signal.signal(sig, handler)
        if process.poll() is None:
            process.kill()
            process.wait()
        if run is not None:
            stopped = stop_session(run)
            if stopped.count:
                print(f"stopped {stopped.count} plugin processes the pulumi CLI left running", file=sys.stderr)
            for refusal in stopped.refused:
                print(f"a plugin process the pulumi CLI left: {refusal}", file=sys.stderr)
            forget_run(stack, run)


def _pass_on(process: subprocess.Popen[Any], number: int) -> None:
    if process.poll() is None:
        process.send_signal(number)


def stack_file(stack: Stack) -> Path:
    return project_stack_dir(stack.project_dir) / f"Pulumi.{stack.name}.yaml"


def up(stack: Stack, extra: Sequence[str]) -> int:
    recover(stack, _say)  # before anything reads the state: a kill may have left it unreadable
    created = stack.pulumi("stack", "select", "--create", "--secrets-provider", "passphrase")
    if created.returncode != 0:
        _say(f"error: stack {stack.name} cannot be selected or created: {created.stderr.strip()[-2000:]}")
        return EXIT_FAILED
    if run_pulumi(stack, ["up", "--refresh", "--yes", "--skip-preview", *extra]) != 0:
        _say("the update failed; run the same command again once the cause is fixed: it picks up where this one stopped")
        return EXIT_FAILED
    if not restore_what_refresh_cannot_see(stack):
        return EXIT_FAILED
    print()
    shown = show.main(["--kubeconfig", environment.local_kubeconfig(), "--stack-file", str(stack_file(stack))])
    return EXIT_FAILED if shown else 0


def restore_what_refresh_cannot_see(stack: Stack) -> bool:
    """A rule appended to a Role (or a key added to a quota) by hand: Pulumi's refresh does not see it
    (show.plan_differences says why), so the up above left it. Each such object is deleted, and an up
    that refreshes first creates it again as declared, as it does for an object deleted by hand.
    (`pulumi up --replace` would not do: it creates the new object before deleting the old one, and
    both are the same Kubernetes object.)"""
    from kubernetes import config, dynamic

    api_client = config.new_client_from_config(config_file=environment.local_kubeconfig())  # type: ignore[no-untyped-call]
    differing = [d for d in show.plan_differences(api_client, show.planned_objects(str(stack_file(stack)))) if not d.missing]
    if not differing:
        return True
    _say("changed by hand beyond what a refresh sees, so deleted and created again as declared:\n" + "\n".join(f"  {d}" for d in differing))
    resources = dynamic.DynamicClient(api_client).resources  # type: ignore[no-untyped-call]
    for difference in differing:
        kind = resources.get(api_version=difference.api_version, kind=difference.kind)
        kind.delete(name=difference.name, namespace=difference.namespace)
    return run_pulumi(stack, ["up", "--refresh", "--yes", "--skip-preview"]) == 0


def down(stack: Stack, extra: Sequence[str]) -> int:
    if recover(stack, _say):
        # Objects of those creates may exist that the state does not know, and a destroy would leave them.
        _say("finishing the interrupted update first, so that the destroy knows every object it made")
        if run_pulumi(stack, ["up", "--refresh", "--yes", "--skip-preview"]) != 0:
            _say("the update failed; run the same command again once the cause is fixed")
            return EXIT_FAILED
    if exported(stack) is not None and run_pulumi(stack, ["destroy", "--yes", "--skip-preview", *extra]) != 0:
        _say("the destroy failed; run the same command again: it picks up where this one stopped")
        return EXIT_FAILED
    left = leftovers(environment.local_kubeconfig())
    if left:
        print("error: left behind on the local cluster after the destroy:", *(f"  {what}" for what in left), sep="\n", file=sys.stderr)
        return EXIT_FAILED
    return 0


def leftovers(kubeconfig: str) -> list[str]:
    """Simulated nodes and tenant namespaces: what carries the project's labels and must not outlive the stack."""
    from kubernetes import client, config

    core: Any = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))  # type: ignore[no-untyped-call]
    nodes = [f"node {n.metadata.name}" for n in core.list_node(label_selector=labels.POOL).items]
    namespaces = [f"namespace {ns.metadata.name}" for ns in core.list_namespace(label_selector=TENANT_LABEL).items]
    return nodes + namespaces


def _say(what: str) -> None:
    print(what, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aion_factory.devstack.localstack")
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--stack", default="local")
    parser.add_argument("--project", default=".", help="the Pulumi project's folder (default: here)")
    argv = sys.argv[1:] if argv is None else argv
    ours, extra = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    args = parser.parse_args(ours)
    stack = Stack(Path(args.project).resolve(), args.stack, dict(os.environ))
    try:
        return (up if args.action == "up" else down)(stack, extra)
    except StackBusy as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BUSY
    except RecoveryError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
