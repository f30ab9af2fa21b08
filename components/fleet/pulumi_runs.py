"""The pulumi commands the toolkit starts, and the locks they take in a file backend.

Each command is recorded when it starts (its pid, start time, boot and PID namespace:
processes.py), beside the backend in `.aion/pulumi-runs/`, and carries a mark of its run in its
environment, which its plugins inherit. A lock that names such a command of this boot and PID
namespace can be proven stale once that command is gone (recovery.py); what it left in its
session is found by the mark, so that nothing else is ever stopped. The local stack starts its
commands itself (`start_pulumi`); the Automation API starts the fleet's, which are recorded as
children of this process (`ChildRecorder`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil

from ..processes import Seen, Started, carries, session_members, signal_process

LOCKS = ".pulumi/locks"
# Beside the backend's own folder (Pulumi reads only `.pulumi/`): the pulumi processes the toolkit started.
RUNS = ".aion/pulumi-runs"
# Every pulumi process the toolkit starts carries its run's mark; its plugins inherit it.
RUN_MARK = "AION_PULUMI_RUN"
STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class Stack:
    """A stack of a project, and how to run the `pulumi` CLI on it."""

    project_dir: Path
    name: str
    env: Mapping[str, str]

    @property
    def project(self) -> str:
        from .stacks import project_settings

        return str(project_settings(self.project_dir)["name"])

    @property
    def backend_url(self) -> str:
        return self.env.get("PULUMI_BACKEND_URL", "")

    def pulumi(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pulumi", *args, "--stack", self.name, "--non-interactive"],
            cwd=self.project_dir, env=dict(self.env), capture_output=True, text=True, check=False,
        )  # fmt: skip


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
    root = file_backend(backend_url)
    if root is None:
        return []
    stack = stack.rsplit("/", 1)[-1]
    # Project-scoped stacks (every backend made since Pulumi 3.61), then the legacy layout.
    folders = [*(root / LOCKS).glob(f"*/{project}/{stack}"), root / LOCKS / stack]
    return [_read_lock(path) for folder in folders if folder.is_dir() for path in sorted(folder.glob("*.json"))]


def file_backend(backend_url: str) -> Path | None:
    return Path(os.path.expanduser(backend_url.removeprefix("file://"))) if backend_url.startswith("file://") else None


def _read_lock(path: Path) -> Lock:
    try:
        content = json.loads(path.read_text())
        stamp = str(content.get("timestamp") or "")
        # Go writes RFC 3339 with nanoseconds: Python 3.11 reads that (to the microsecond).
        return Lock(path, int(content["pid"]), str(content["hostname"]), datetime.fromisoformat(stamp) if stamp else None)
    except (OSError, ValueError, KeyError, TypeError):
        # Unreadable: a lock being written this very moment looks so; treat it as held.
        return Lock(path, -1, "unknown", None)


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
    folder = runs_folder(stack.backend_url)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{run.started.pid}.json").write_text(json.dumps({**run.started.to_dict(), "mark": run.mark, "stack": stack.name}))


def forget_run(stack: Stack, run: PulumiRun) -> None:
    """Drop the record of `run` once no lock of the stack names it (it ended and released its lock)."""
    folder = runs_folder(stack.backend_url)
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
        """Record the child of ours that carries the mark (once it is recorded, a line costs nothing)."""
        if self.runs:
            return
        for child in psutil.Process().children():
            if carries(child, RUN_MARK, self.mark):
                with contextlib.suppress(psutil.NoSuchProcess):
                    self.runs[child.pid] = PulumiRun(Started.record(child.pid), self.mark)
                    record_run(self.stack, self.runs[child.pid])

    def forget(self) -> None:
        """The command ended: drop the records of those that released their lock."""
        for run in self.runs.values():
            forget_run(self.stack, run)


def runs_folder(backend_url: str) -> Path | None:
    root = file_backend(backend_url)
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


def forget_ended_runs(stack: Stack) -> None:
    """Records of runs that ended here and hold no lock: nothing will need them (a wrapper killed
    before it could drop its own record leaves one)."""
    folder = runs_folder(stack.backend_url)
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
