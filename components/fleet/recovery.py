"""Bring a stack back after a `pulumi` command was killed half-way, without asking the user to know Pulumi.

A killed CLI leaves three things behind (pulumi/pkg/backend/diy/lock.go, backend/snapshot.go):
- its lock, a file `.pulumi/locks/<org>/<project>/<stack>/<id>.json` in a file backend holding the
  pid, host and time of the process that took it; every later command refuses to run while it exists;
- its plugin processes (the language host at least), still running;
- pending operations in the state: the engine drops pending updates and deletes at the next update,
  but keeps pending *creates* until someone decides whether the create happened;
- in a file backend, at times a truncated `<stack>.json.attrs`: the blob library writes that metadata
  file in place (gocloud.dev/blob/fileblob/attrs.go, setAttrs), and while it is not JSON every
  command fails with `failed to load checkpoint: EOF`. A missing one is read as "no metadata".

`recover` removes a lock only when its process is provably gone: the toolkit started that process
(pulumi_runs.py records its pid, start time, boot and PID namespace beside the backend), on
this machine, in this boot and this PID namespace, and no process runs under that pid now, or one
started later does. It then stops what that process left in its session (only processes that carry
the run's mark in their environment: never a foreign session that took the id since), and clears
the pending creates of resources whose create is idempotent, so the next up does them again: the
Kubernetes provider's creates are server-side applies (an upsert,
pulumi-kubernetes/provider/pkg/await/await.go) and the simulated nodes adopt what exists. A lock
held by a live process is a run to wait for; a lock the toolkit cannot prove dead (taken by a
command run by hand, before a reboot, in another container or on another machine that shares the
host name and the backend) is never broken either: recover says how to check and remove it.
A pending create of any other kind (a Scaleway cluster, a Helm release) may exist in the cloud
under an id the state does not know: recover stops and says what to check, never guesses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import AionError
from ..processes import Seen
from .pulumi_runs import Stack, Stopped, file_backend, forget_ended_runs, forget_run, lock_files, recorded_run, runs_folder, stop_session

STACKS = ".pulumi/stacks"
NO_STACK = "no stack named"  # pulumi/pkg/backend/backenderr: the stack does not exist (never deployed)
# Resource types whose create may safely run again: it updates or adopts what exists under that name.
IDEMPOTENT_CREATES = ("kubernetes:", "pulumi:providers:", "pulumi-python:dynamic:Resource")
NOT_IDEMPOTENT = ("kubernetes:helm.sh/",)  # a Helm install refuses a release name in use


class RecoveryError(AionError):
    """The stack cannot be brought back without a person's decision; the message says which."""


class StackBusy(RecoveryError):
    """A pulumi command holds the stack's lock, or may: it is never broken from here."""


def repair_state_files(backend_url: str, project: str, stack: str) -> list[Path]:
    """Remove the stack's metadata files that a killed write left truncated (the state files
    themselves are written to a temporary file and renamed: whole or untouched), and the
    temporary files of writes that never finished. Returns what was removed."""
    root = file_backend(backend_url)
    if root is None:
        return []
    stacks = root / STACKS
    stack = stack.rsplit("/", 1)[-1]
    removed = []
    for folder in (stacks / project, stacks):
        for path in sorted(folder.glob(f"{stack}.json*")):
            broken = path.name.endswith(".attrs") and not _is_json(path)
            if broken or path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _is_json(path: Path) -> bool:
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return True


def pending_operations(deployment: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(operation, type, URN) of each pending operation in a `pulumi stack export` document."""
    found = deployment.get("deployment", {}).get("pending_operations") or []
    return [(op.get("type", "?"), op["resource"]["type"], op["resource"]["urn"]) for op in found]


def idempotent_create(resource_type: str) -> bool:
    return resource_type.startswith(IDEMPOTENT_CREATES) and not resource_type.startswith(NOT_IDEMPOTENT)


def recover(stack: Stack, say: Callable[[str], None]) -> int:
    """Make `stack` ready for an update after an interrupted one; say what was done; return how many
    unfinished creates were cleared (their objects may exist that the state does not know: the next
    up adopts them). Raises StackBusy while a pulumi command holds its lock or may hold it,
    RecoveryError when a person must decide."""
    locks = lock_files(stack.backend_url, stack.project, stack.name)
    runs = runs_folder(stack.backend_url)
    owners = {lock: lock.owner(recorded_run(runs, lock.pid)) for lock in locks}
    if held := [lock for lock, seen in owners.items() if seen is Seen.RUNNING]:
        raise StackBusy(
            f"stack {stack.name} is in use by another pulumi command ({'; '.join(map(str, held))}): "
            "wait for it to end; it is never interrupted from here"
        )
    if unknown := [lock for lock, seen in owners.items() if seen is Seen.UNKNOWN]:
        raise StackBusy(
            f"stack {stack.name} is locked by a pulumi command ({'; '.join(map(str, unknown))}) that this toolkit did not "
            "start on this machine since it booted, in this PID namespace, so nothing here can tell whether it still runs "
            "(a command run by hand, a machine or container sharing the host name and the backend, a reboot since): "
            f"the lock is left alone. Once no pulumi command runs on stack {stack.name} anywhere, remove it with "
            f"`pulumi cancel --stack {stack.name} --yes` and run this again"
        )
    stuck = []
    for lock in locks:
        run = recorded_run(runs, lock.pid)
        stopped = stop_session(run) if run is not None else Stopped(0, [])
        try:
            lock.path.unlink(missing_ok=True)
            lock.path.with_name(lock.path.name + ".attrs").unlink(missing_ok=True)  # the file backend's metadata of it
        except PermissionError:
            stuck.append(lock)
            continue
        if run is not None:
            forget_run(stack, run)
        extra = f"; stopped the {stopped.count} plugin processes it left running" if stopped.count else ""
        say(f"a pulumi command ({lock}) was interrupted: removed its lock{extra}")
        for refusal in stopped.refused:
            say(f"a plugin process it left: {refusal}")
    if stuck:
        raise RecoveryError(
            f"stack {stack.name}: the lock of an interrupted pulumi command ({'; '.join(map(str, stuck))}) cannot be removed: "
            f"permission denied on {', '.join(str(lock.path) for lock in stuck)}; remove it as its owner, then run this again"
        )
    if locks and (repaired := repair_state_files(stack.backend_url, stack.project, stack.name)):
        say(f"removed {len(repaired)} files its interrupted state write left: {', '.join(p.name for p in repaired)}")
    forget_ended_runs(stack)
    deployment = exported(stack)
    if deployment is None:
        return 0  # a stack never deployed: nothing pending
    creates = [(kind, urn) for op, kind, urn in pending_operations(deployment) if op == "creating"]
    if not creates:
        return 0
    undecidable = [urn for kind, urn in creates if not idempotent_create(kind)]
    if undecidable:
        raise RecoveryError(
            f"stack {stack.name}: an interrupted update was creating these, and they may exist without the state knowing:\n"
            + "".join(f"  {urn}\n" for urn in undecidable)
            + "check each in the cloud console, then either `pulumi refresh --import-pending-creates URN ID` (it exists) "
            "or `pulumi refresh --clear-pending-creates` (it does not), and run this again"
        )
    say(f"an interrupted update left {len(creates)} creates unfinished; each is idempotent and is done again now")
    cleared = stack.pulumi("refresh", "--clear-pending-creates", "--yes", "--skip-preview")
    if cleared.returncode != 0:
        said = f"{cleared.stdout[-2000:]}{cleared.stderr[-2000:]}"
        raise RecoveryError(f"stack {stack.name}: clearing the unfinished creates failed:\n{said}")
    return len(creates)


def exported(stack: Stack) -> dict[str, Any] | None:
    """The stack's state (`pulumi stack export`); None when the stack does not exist (never deployed).
    Any other failure (a wrong passphrase, a backend that does not answer) is not "never deployed":
    it stops here, with the CLI's words."""
    done = stack.pulumi("stack", "export")
    if done.returncode == 0:
        deployment: dict[str, Any] = json.loads(done.stdout or "{}")
        return deployment
    if NO_STACK in done.stderr:
        return None
    raise RecoveryError(f"stack {stack.name}: its state cannot be read (`pulumi stack export` failed): {done.stderr.strip()[-2000:]}")
