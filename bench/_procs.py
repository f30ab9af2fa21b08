"""Who spent the CPU: a sampler of a command's process tree, and the control plane's own processes.

A command's descendants (the pulumi engine, its plugins, the Python program, the
dynamic provider, kubectl) come and go: their CPU is read (psutil) every
`interval_s` and the last reading of each pid counts. Long-lived processes (the
API server, etcd) are read before and after.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from _common import proc_cpu_s


def classify(argv: list[str]) -> str:
    """A short name for what a process is, from its command line."""
    if not argv or not argv[0]:
        return "?"
    name = os.path.basename(argv[0])
    if "python" in name:
        joined = " ".join(argv)
        if "dynamic" in joined:
            return "python dynamic provider (SimulatedNodes)"
        if "pulumi-language-python-exec" in joined or "__main__" in joined:
            return "python program (toolkit + SDK)"
        return "python (other)"
    if name == "pulumi":
        return "pulumi engine"
    if name.startswith("pulumi-language-"):
        return "pulumi language host"
    if name.startswith("pulumi-resource-"):
        return f"provider {name.removeprefix('pulumi-resource-')}"
    return name


@dataclass
class TreeSampler:
    root: int
    interval_s: float = 0.2
    seen: dict[int, tuple[str, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def sample(self) -> None:
        try:
            descendants = psutil.Process(self.root).children(recursive=True)
        except psutil.Error:  # the command has ended
            return
        for process in descendants:
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    name = self.seen[process.pid][0] if process.pid in self.seen else classify(process.cmdline())
            except psutil.Error:  # gone since the listing
                continue
            self.seen[process.pid] = (name, times.user + times.system)

    def by_class(self) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for name, seconds in self.seen.values():
            totals[name] += seconds
        return dict(totals)


@dataclass(frozen=True)
class Timed:
    wall_s: float
    returncode: int
    stdout: str
    stderr: str
    cpu_s: dict[str, float]  # by process class, the command's tree and the watched processes
    tree_cpu_s: float  # the whole tree, from wait4 (every process it reaped)


def timed(argv: Sequence[str], env: dict[str, str], cwd: Path, watched: dict[str, int], timeout_s: float) -> Timed:
    """Run a command; its wall time, and CPU by process class (its tree sampled, `watched` diffed)."""
    before = {name: proc_cpu_s(pid) or 0.0 for name, pid in watched.items()}
    out_path, err_path = cwd / ".timed.out", cwd / ".timed.err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.perf_counter()
        process = subprocess.Popen(list(argv), stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True)
        sampler = TreeSampler(process.pid)
        sampler.start()
        timer = threading.Timer(timeout_s, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
            sampler.stop()
        wall = time.perf_counter() - start
    # Sampled: each process's last reading, up to interval_s short of its end; tree_cpu_s is exact.
    cpu = sampler.by_class()
    for name, pid in watched.items():
        cpu[name] = (proc_cpu_s(pid) or 0.0) - before[name]
    stdout, stderr = out_path.read_text(), err_path.read_text()
    out_path.unlink()
    err_path.unlink()
    return Timed(wall, os.waitstatus_to_exitcode(status), stdout, stderr, cpu, usage.ru_utime + usage.ru_stime)
