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
(`start_pulumi`, which records its pid, start time, boot and PID namespace beside the backend), on
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

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from ..errors import AionError
from ..processes import Seen, Started, carries, session_members, signal_process

LOCKS = ".pulumi/locks"
STACKS = ".pulumi/stacks"
# Beside the backend's own folder (Pulumi reads only `.pulumi/`): the pulumi processes the toolkit started.
RUNS = ".aion/pulumi-runs"
# Every pulumi process the toolkit starts carries its run's mark; its plugins inherit it.
RUN_MARK = "AION_PULUMI_RUN"
NO_STACK = "no stack named"  # pulumi/pkg/backend/backenderr: the stack does not exist (never deployed)
# Resource types whose create may safely run again: it updates or adopts what exists under that name.
IDEMPOTENT_CREATES = ("kubernetes:", "pulumi:providers:", "pulumi-python:dynamic:Resource")
NOT_IDEMPOTENT = ("kubernetes:helm.sh/",)  # a Helm install refuses a release name in use
STOP_GRACE_S = 5.0


class RecoveryError(AionError):
    """The stack cannot be brought back without a person's decision; the message says which."""


class StackBusy(RecoveryError):
    """A pulumi command holds the stack's lock, or may: it is never broken from here."""


@dataclass(frozen=True)
class Lock:
    """One lock file of a file backend, as the CLI wrote it."""

    path: Path
    pid: int
    hostname: str
    taken_at: datetime | None

    def __str__(self) -> str:
        when = self.taken_at.isoformat(timespec="seconds") if self.taken_at else "an unknown time"
        return f"pid {self.pid} on {self.hostname} since {when}"

    def owner(self, run: PulumiRun | None) -> Seen:
        """Whether the process that took this lock runs, as far as this machine can prove.

        RUNNING also for a lock being written this moment (unreadable yet). GONE only for a process
        the toolkit started (`run`, recorded under the lock's pid), here, before it took the lock,
        that no longer runs. Without such a record, a host name alone proves nothing: containers
        and machines may share one, and a backend."""
        if self.pid <= 0:
            return Seen.RUNNING
        if run is None or self.hostname != socket.gethostname():
            return Seen.UNKNOWN
        if self.taken_at is not None and run.started.started_at > self.taken_at.timestamp() + 1.0:
            return Seen.UNKNOWN  # the recorded process started after the lock was taken: not its owner
        return run.started.seen()


@dataclass(frozen=True)
class PulumiRun:
    """A pulumi process the toolkit started: who it is, and the mark its environment carries."""

    started: Started
    mark: str

    def ours(self, process: psutil.Process) -> bool:
        """`process` descends from this run: it carries the run's mark and started after it."""
        try:
            later = process.create_time() >= self.started.started_at - 1.0
        except psutil.Error:
            return False
        return later and carries(process, RUN_MARK, self.mark)


def lock_files(backend_url: str, project: str, stack: str) -> list[Lock]:
    """The locks of `stack` in a file backend (`file://...`); none can be seen in other backends."""
    root = _file_backend(backend_url)
    if root is None:
        return []
    stack = stack.rsplit("/", 1)[-1]
    # Project-scoped stacks (every backend made since Pulumi 3.61), then the legacy layout.
    folders = [*(root / LOCKS).glob(f"*/{project}/{stack}"), root / LOCKS / stack]
    return [_read_lock(path) for folder in folders if folder.is_dir() for path in sorted(folder.glob("*.json"))]


def _file_backend(backend_url: str) -> Path | None:
    return Path(os.path.expanduser(backend_url.removeprefix("file://"))) if backend_url.startswith("file://") else None


def repair_state_files(backend_url: str, project: str, stack: str) -> list[Path]:
    """Remove the stack's metadata files that a killed write left truncated (the state files
    themselves are written to a temporary file and renamed: whole or untouched), and the
    temporary files of writes that never finished. Returns what was removed."""
    root = _file_backend(backend_url)
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


def _read_lock(path: Path) -> Lock:
    try:
        content = json.loads(path.read_text())
        stamp = str(content.get("timestamp") or "")
        # Go writes RFC 3339 with nanoseconds: Python 3.11 reads that (to the microsecond).
        return Lock(path, int(content["pid"]), str(content["hostname"]), datetime.fromisoformat(stamp) if stamp else None)
    except (OSError, ValueError, KeyError, TypeError):
        # Unreadable: a lock being written this very moment looks so; treat it as held.
        return Lock(path, -1, "unknown", None)


# --- the pulumi processes the toolkit starts ---------------------------------------------------


def start_pulumi(stack: Stack, args: list[str]) -> tuple[subprocess.Popen[bytes], PulumiRun | None]:
    """`pulumi ARGS --stack S --non-interactive` in a session of its own (its plugins never outlive
    it: see stop_session), its output on ours, recorded beside a file backend so that a later
    recovery can prove it gone. The record is None when the process ended before it could be made."""
    mark = secrets.token_hex(16)
    argv = ["pulumi", *args, "--stack", stack.name, "--non-interactive"]
    env = {**stack.env, RUN_MARK: mark}
    process = subprocess.Popen(argv, cwd=stack.project_dir, env=env, start_new_session=True)
    try:
        run = PulumiRun(Started.record(process.pid), mark)
    except psutil.NoSuchProcess:
        return process, None
    record_run(stack, run)
    return process, run


def record_run(stack: Stack, run: PulumiRun) -> None:
    """Beside a file backend (the only kind whose locks can be seen): what proves `run` gone later."""
    folder = _runs_folder(stack.backend_url)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{run.started.pid}.json").write_text(json.dumps({**run.started.to_dict(), "mark": run.mark, "stack": stack.name}))


def forget_run(stack: Stack, run: PulumiRun) -> None:
    """Drop the record of `run` once no lock of the stack names it (it ended and released its lock)."""
    folder = _runs_folder(stack.backend_url)
    if folder is not None and all(lock.pid != run.started.pid for lock in lock_files(stack.backend_url, stack.project, stack.name)):
        path = folder / f"{run.started.pid}.json"
        if recorded_run(folder, run.started.pid) == run:
            path.unlink(missing_ok=True)


class ChildRecorder:
    """Records the pulumi CLI that the Automation API starts as a child of this process (it offers
    no hook at the start): that CLI and its plugins carry `mark` in their environment, and the
    first line it prints is when it is sure to run."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.mark = stack, secrets.token_hex(16)
        self.runs: dict[int, PulumiRun] = {}

    def record(self) -> None:
        """Record each child of ours carrying the mark that is not yet recorded (once it is, a line costs nothing)."""
        if self.runs:
            return
        for child in psutil.Process().children():
            if child.pid not in self.runs and carries(child, RUN_MARK, self.mark):
                with contextlib.suppress(psutil.NoSuchProcess):
                    self.runs[child.pid] = PulumiRun(Started.record(child.pid), self.mark)
                    record_run(self.stack, self.runs[child.pid])

    def forget(self) -> None:
        """The command ended: drop the records of those that released their lock."""
        for run in self.runs.values():
            forget_run(self.stack, run)


def _runs_folder(backend_url: str) -> Path | None:
    root = _file_backend(backend_url)
    return root / RUNS if root is not None else None


def recorded_run(folder: Path | None, pid: int) -> PulumiRun | None:
    if folder is None or pid <= 0:
        return None
    try:
        data = json.loads((folder / f"{pid}.json").read_text())
        started = Started.from_dict(data)
        return PulumiRun(started, str(data["mark"])) if started is not None else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Stopped:
    count: int  # the run's processes that were left, and were stopped
    refused: list[str]  # what could not be stopped, and why


def stop_session(run: PulumiRun, grace_s: float = STOP_GRACE_S) -> Stopped:
    """Stop what is left of the session that `run`'s process led, once that process has ended.
    The CLI starts each plugin in a process group of its own, but in its session, and a plugin
    outlives a killed CLI (the language host does).

    Only processes of that session that carry the run's mark are stopped: Linux keeps a session's
    id from being given to a new process while the session has members, but once it had none, a
    later process may lead a session under the same id, and that one is not ours. Refusals (another
    user's process) are returned to be said, never raised."""
    members = [process for process in session_members(run.started.pid) if run.ours(process)]
    left, refused = list(members), []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for process in list(left):
            if process.is_running() and (said := signal_process(process.pid, sig)):  # is_running: still that process
                refused.append(said)
                left.remove(process)
        _, left = psutil.wait_procs(left, timeout=grace_s)
        if not left:
            break
    return Stopped(len(members) - len(refused), refused)


def pending_operations(deployment: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(operation, type, URN) of each pending operation in a `pulumi stack export` document."""
    found = deployment.get("deployment", {}).get("pending_operations") or []
    return [(op.get("type", "?"), op["resource"]["type"], op["resource"]["urn"]) for op in found]


def idempotent_create(resource_type: str) -> bool:
    return resource_type.startswith(IDEMPOTENT_CREATES) and not resource_type.startswith(NOT_IDEMPOTENT)


@dataclass(frozen=True)
class Stack:
    """A stack of a project, and how to run the `pulumi` CLI on it."""

    project_dir: Path
    name: str
    env: Mapping[str, str]

    @property
    def project(self) -> str:
        import yaml

        return str(yaml.safe_load((self.project_dir / "Pulumi.yaml").read_text())["name"])

    @property
    def backend_url(self) -> str:
        return self.env.get("PULUMI_BACKEND_URL", "")

    def pulumi(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pulumi", *args, "--stack", self.name, "--non-interactive"],
            cwd=self.project_dir, env=dict(self.env), capture_output=True, text=True, check=False,
        )  # fmt: skip


def recover(stack: Stack, say: Callable[[str], None]) -> int:
    """Make `stack` ready for an update after an interrupted one; say what was done; return how many
    unfinished creates were cleared (their objects may exist that the state does not know: the next
    up adopts them). Raises StackBusy while a pulumi command holds its lock or may hold it,
    RecoveryError when a person must decide."""
    locks = lock_files(stack.backend_url, stack.project, stack.name)
    runs = _runs_folder(stack.backend_url)
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
    _forget_ended_runs(stack)
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


def _forget_ended_runs(stack: Stack) -> None:
    """Records of runs that ended here and hold no lock: nothing will need them (a wrapper killed
    before it could drop its own record leaves one)."""
    folder = _runs_folder(stack.backend_url)
    locked = {lock.pid for lock in lock_files(stack.backend_url, stack.project, stack.name)}
    for path in sorted(folder.glob("*.json")) if folder is not None and folder.is_dir() else []:
        run = recorded_run(folder, int(path.stem)) if path.stem.isdigit() else None
        if run is not None and _stack_of(path) == stack.name and run.started.pid not in locked and run.started.seen() is Seen.GONE:
            path.unlink(missing_ok=True)  # another stack's record may be what proves its lock stale: left to it


def _stack_of(record: Path) -> str | None:
    try:
        return str(json.loads(record.read_text())["stack"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
