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

`recover` removes a lock only when its process is gone (same host, that pid not running, or running
but started after the lock was written: a pid used again), stops what that process left in its
session, and clears the pending creates of resources whose create is idempotent, so the next
up does them again: the Kubernetes provider's creates are server-side applies (an upsert,
pulumi-kubernetes/provider/pkg/await/await.go) and the simulated nodes adopt what exists. A lock
held by a live process, or taken on another host, is never touched: that is a run to wait for.
A pending create of any other kind (a Scaleway cluster, a Helm release) may exist in the cloud
under an id the state does not know: recover stops and says what to check, never guesses.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import AionError

LOCKS = ".pulumi/locks"
STACKS = ".pulumi/stacks"
# Resource types whose create may safely run again: it updates or adopts what exists under that name.
IDEMPOTENT_CREATES = ("kubernetes:", "pulumi:providers:", "pulumi-python:dynamic:Resource")
NOT_IDEMPOTENT = ("kubernetes:helm.sh/",)  # a Helm install refuses a release name in use


class RecoveryError(AionError):
    """The stack cannot be brought back without a person's decision; the message says which."""


class StackBusy(RecoveryError):
    """Another live process holds the stack's lock."""


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

    def is_held(self) -> bool:
        """True unless this lock's process is certainly gone: taken here, and that pid runs no
        process or a process started after the lock was written."""
        if self.hostname != socket.gethostname():
            return True  # another machine's process: nothing here can tell
        started = _process_start(self.pid)
        if started is None:
            return False
        return self.taken_at is None or started <= self.taken_at.timestamp() + 1.0


def lock_files(backend_url: str, project: str, stack: str) -> list[Lock]:
    """The locks of `stack` in a file backend (`file://...`); none can be seen in other backends."""
    if not backend_url.startswith("file://"):
        return []
    root = Path(os.path.expanduser(backend_url.removeprefix("file://"))) / LOCKS
    stack = stack.rsplit("/", 1)[-1]
    # Project-scoped stacks (every backend made since Pulumi 3.61), then the legacy layout.
    folders = [*root.glob(f"*/{project}/{stack}"), root / stack]
    return [_read_lock(path) for folder in folders if folder.is_dir() for path in sorted(folder.glob("*.json"))]


def repair_state_files(backend_url: str, project: str, stack: str) -> list[Path]:
    """Remove the stack's metadata files that a killed write left truncated (the state files
    themselves are written to a temporary file and renamed: whole or untouched), and the
    temporary files of writes that never finished. Returns what was removed."""
    if not backend_url.startswith("file://"):
        return []
    stacks = Path(os.path.expanduser(backend_url.removeprefix("file://"))) / STACKS
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
        return Lock(path, int(content["pid"]), str(content["hostname"]), _timestamp(str(content.get("timestamp", ""))))
    except (OSError, ValueError, KeyError, TypeError):
        # Unreadable: a lock being written this very moment looks so; treat it as held.
        return Lock(path, -1, "unknown", None)


def _timestamp(text: str) -> datetime | None:
    """Go writes RFC 3339 with nanoseconds; Python reads microseconds."""
    if not text:
        return None
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        rest = digits[:6] + rest[len(digits) :]
        text = f"{head}.{rest}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _process_start(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch); None when no such process runs.
    A zombie counts as gone. Without /proc (macOS), a running pid counts as started long ago."""
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # another user's process: it runs
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
    except (OSError, StopIteration, IndexError):
        return 0.0
    if fields[0] == "Z":
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def stop_session(leader: int, grace_s: float = 5.0) -> int:
    """Stop what is left of the session that `leader` led, once `leader` itself is gone; return how
    many processes were left. The CLI starts each plugin in a process group of its own, but in its
    session, and a plugin outlives a killed CLI (the language host does).

    Safe only once `leader` is gone: Linux never gives a new process the id of a session that still
    has members, so the session `leader` names holds that process's descendants and nothing else."""
    members = _session_members(leader)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _session_members(leader):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _session_members(leader):
            time.sleep(0.1)
        if not _session_members(leader):
            break
    return len(members)


def _session_members(sid: int) -> list[int]:
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def pending_operations(deployment: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(operation, type, URN) of each pending operation in a `pulumi stack export` document."""
    found = deployment.get("deployment", {}).get("pending_operations") or []
    return [(op.get("type", "?"), op["resource"]["type"], op["resource"]["urn"]) for op in found]


def idempotent_create(resource_type: str) -> bool:
    return resource_type.startswith(IDEMPOTENT_CREATES) and not resource_type.startswith(NOT_IDEMPOTENT)


Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


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
    up adopts them). Raises StackBusy while a live process holds its lock, RecoveryError when a person
    must decide."""
    locks = lock_files(stack.backend_url, stack.project, stack.name)
    held = [lock for lock in locks if lock.is_held()]
    if held:
        raise StackBusy(
            f"stack {stack.name} is in use by another pulumi command ({'; '.join(map(str, held))}): "
            "wait for it to end; it is never interrupted from here"
        )
    for lock in locks:
        lock.path.unlink(missing_ok=True)
        lock.path.with_name(lock.path.name + ".attrs").unlink(missing_ok=True)  # the file backend's metadata of it
        left = stop_session(lock.pid) if _process_start(lock.pid) is None else 0
        extra = f"; stopped the {left} plugin processes it left running" if left else ""
        say(f"a pulumi command ({lock}) was interrupted: removed its lock{extra}")
    if locks and (repaired := repair_state_files(stack.backend_url, stack.project, stack.name)):
        say(f"removed {len(repaired)} files its interrupted state write left: {', '.join(p.name for p in repaired)}")
    exported = stack.pulumi("stack", "export")
    if exported.returncode != 0:
        return 0  # a stack never deployed: nothing pending
    pending = pending_operations(json.loads(exported.stdout or "{}"))
    creates = [(kind, urn) for op, kind, urn in pending if op == "creating"]
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
