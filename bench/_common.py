"""Shared by the benchmarks: the machine, statistics, child processes, output files.

Benchmarks time; they never assert a time. Each figure is the median of several
runs with its spread, so one slow run on a busy machine shows as spread, not as
a regression.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
PYTHON = sys.executable
TOOLCHAIN_ENV = Path(os.environ.get("AION_TOOLCHAIN_CACHE", Path.home() / ".cache/aion-factory/toolchain")) / "env.sh"


def machine() -> dict[str, Any]:
    """What the figures were measured on: they mean little without it."""
    model = "unknown"
    try:  # psutil does not say the CPU's model
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "cpu_model": model,
        "python": platform.python_version(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def print_machine() -> dict[str, Any]:
    info = machine()
    print(
        f"machine: {info['cores']} cores, {info['memory_gib']} GiB, CPU {info['cpu_model']}, "
        f"Python {info['python']}, load avg {info['load_avg_1m']} at start"
    )
    return info


@dataclass(frozen=True)
class Stats:
    median: float
    low: float
    high: float
    q1: float
    q3: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        ordered = sorted(values)
        if len(ordered) >= 2:
            q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        else:
            q1 = q3 = ordered[0]
        return cls(statistics.median(ordered), ordered[0], ordered[-1], q1, q3, len(ordered))

    def fmt(self, unit: str = "s", digits: int = 3) -> str:
        d = digits
        return f"{self.median:.{d}f} {unit} [{self.low:.{d}f}..{self.high:.{d}f}, IQR {self.q3 - self.q1:.{d}f}, n={self.runs}]"

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "q1": self.q1, "q3": self.q3, "runs": self.runs}


@dataclass(frozen=True)
class ChildRun:
    wall_s: float
    maxrss_mib: float
    returncode: int
    stdout: str
    stderr: str


def run_child(argv: Sequence[str], env: dict[str, str] | None = None, timeout_s: float = 600, cwd: Path | None = None) -> ChildRun:
    """Wall time and peak RSS of exactly this child: reaped with wait4, since
    RUSAGE_CHILDREN keeps the largest of all children so far."""
    OUT.mkdir(parents=True, exist_ok=True)
    out_path, err_path = OUT / f".child-{os.getpid()}.out", OUT / f".child-{os.getpid()}.err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.perf_counter()
        process = subprocess.Popen(list(argv), stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True)
        timer = threading.Timer(timeout_s, process.kill)  # bounds every child in time
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = out_path.read_text(), err_path.read_text()
    out_path.unlink()
    err_path.unlink()
    return ChildRun(wall, usage.ru_maxrss / 1024, process.returncode, stdout, stderr)


def source_at(rev: str) -> dict[str, str]:
    """An environment whose `aion_factory` is the library as of git `rev`, for before/after runs.

    PYTHONPATH comes before the editable install's finder (appended to sys.meta_path),
    so a child started with this environment imports the old code."""
    dest = OUT / f"src-{rev}"
    package = dest / "aion_factory"
    if not package.exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", rev, "components", "templates"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        (dest / "components").rename(package)
        (dest / "templates").rename(package / "templates")
    return {**os.environ, "PYTHONPATH": str(dest)}


def write_result(name: str, data: dict[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def ratio(value: float, baseline: float) -> str:
    return f"x{value / baseline:.2f}" if baseline else "-"


def toolchain_env() -> dict[str, str] | None:
    """The environment scripts/bootstrap-toolchain.sh's env file sets, or None before it exists."""
    if not TOOLCHAIN_ENV.exists():
        return None
    dumped = subprocess.run(["bash", "-c", f"source {TOOLCHAIN_ENV} && env -0"], capture_output=True, check=True).stdout
    return dict(line.split("=", 1) for line in dumped.decode().split("\0") if "=" in line)


def use_toolchain() -> dict[str, str]:
    """Take the toolchain's AION_* variables and PATH into this process; exit 2 before the bootstrap ran."""
    toolchain = toolchain_env()
    if toolchain is None:
        print("no toolchain env file yet: run scripts/bootstrap-toolchain.sh first", file=sys.stderr)
        raise SystemExit(2)
    os.environ.update({k: v for k, v in toolchain.items() if k.startswith("AION_")})
    os.environ["PATH"] = toolchain["PATH"]
    return toolchain


def _status_mib(pid: int, field: str) -> float | None:
    """A `Vm...:` line of /proc/PID/status in MiB (None when the process is gone): read here, since
    psutil gives no peak RSS (VmHWM) on Linux."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def proc_rss_mib(pid: int) -> float | None:
    """VmRSS of a live process, MiB."""
    return _status_mib(pid, "VmRSS")


def proc_hwm_mib(pid: int) -> float | None:
    """VmHWM (peak RSS) of a live process, MiB."""
    return _status_mib(pid, "VmHWM")


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds a live process has used."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system
