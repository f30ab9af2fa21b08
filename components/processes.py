"""Processes the toolkit started, known again later by more than their pid.

A pid alone names whatever process holds it now: after its process ended, the kernel gives it to
the next one, and after a reboot, or in another PID namespace (a container), it names someone
else's. So the toolkit records, when it starts a process, its pid, when it started (seconds after
boot: clock changes do not move it), the boot (`/proc/sys/kernel/random/boot_id`) and the PID
namespace (`/proc/self/ns/pid`) it runs in. A process is "ours" only while all of that still
matches; anything else under that pid is left alone (devstack/controlplane.py, fleet/recovery.py).

psutil reads the process table (Linux's /proc, and macOS's); boot and PID namespace are read from
/proc, which only Linux has: elsewhere the boot time stands for the boot, and there are no PID
namespaces to tell apart.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import psutil

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
PID_NAMESPACE = Path("/proc/self/ns/pid")
# Start times are counted in clock ticks (1/100 s on Linux): two readings of one process agree to that.
SAME_START_S = 0.02


def boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return f"boot-time-{psutil.boot_time():.0f}"


def pid_namespace() -> str:
    try:
        return os.readlink(PID_NAMESPACE)
    except OSError:
        return ""


def _since_boot(process: psutil.Process) -> float:
    """When `process` started, in seconds after boot: unmoved by changes to the clock."""
    return round(process.create_time() - psutil.boot_time(), 2)


class Seen(Enum):
    """What runs now under a recorded process's pid, as far as this machine can prove."""

    RUNNING = "running"  # that very process
    GONE = "gone"  # same boot and PID namespace, and no process under that pid, or a later one
    UNKNOWN = "unknown"  # recorded in another boot or PID namespace: nothing here can tell


@dataclass(frozen=True)
class Started:
    """A process as the toolkit started it."""

    pid: int
    since_boot_s: float
    boot_id: str
    pid_namespace: str
    started_at: float  # seconds since the epoch: to compare with times others wrote (a lock's)

    @classmethod
    def record(cls, pid: int) -> Started:
        """The identity of the running process `pid` (just started by us); psutil.NoSuchProcess when it is gone."""
        process = psutil.Process(pid)
        return cls(pid, _since_boot(process), boot_id(), pid_namespace(), process.create_time())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Started | None:
        """A recorded identity; None for a record that is not one (an older state file's bare pid)."""
        try:
            pid, since_boot_s, started_at = int(data["pid"]), float(data["since_boot_s"]), float(data["started_at"])
            return cls(pid, since_boot_s, str(data["boot_id"]), str(data["pid_namespace"]), started_at)
        except (KeyError, TypeError, ValueError):
            return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def here(self) -> bool:
        """Recorded in this boot and this PID namespace: its pid means the same process here."""
        return self.boot_id == boot_id() and self.pid_namespace == pid_namespace()

    def seen(self) -> Seen:
        if not self.here():
            return Seen.UNKNOWN
        return Seen.RUNNING if self.process() is not None else Seen.GONE

    def process(self) -> psutil.Process | None:
        """The process itself while it runs; None when it ended, or when its pid now names another
        process (started at another time) or one of another boot or PID namespace."""
        if not self.here():
            return None
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return None  # ended; only its parent has not read its exit status yet
            if abs(_since_boot(process) - self.since_boot_s) > SAME_START_S:
                return None  # the pid was given to a later process
        except psutil.NoSuchProcess:
            return None
        return process


def signal_process(pid: int, sig: int, *, group: bool = False) -> str | None:
    """Send `sig` to process `pid` (to its process group when `group`). None when sent, or when
    there is nothing left to signal; a sentence when the system refused.

    What a refusal (EPERM) means, for every caller: the process runs under another user, so it is
    not the toolkit's to stop. It is said, never raised: the caller goes on with what is its own."""
    try:
        (os.killpg if group else os.kill)(pid, sig)
    except ProcessLookupError:
        return None
    except PermissionError:
        return f"{'process group' if group else 'process'} {pid} runs under another user: not stopped (stop it as that user if it is to go)"
    return None


def session_members(sid: int) -> list[psutil.Process]:
    """The live processes of session `sid` (zombies have ended)."""
    found = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == sid and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (OSError, psutil.Error):
            continue  # ended meanwhile
    return found


def carries(process: psutil.Process, variable: str, value: str) -> bool:
    """True when `process` was started with `variable=value` in its environment (a child inherits it).
    Another user's process cannot be read: it does not carry ours."""
    try:
        return process.environ().get(variable) == value
    except psutil.Error:
        return False
