"""Benchmark 7: the local control plane's supervisor (devstack/controlplane.py) against
`kwokctl --runtime binary` with the same binaries: start, restart, stop.

Each run, alternating, in a temp folder under bench/out/: start a cold control plane until
its API server answers, stop it, start it again (a restart: state and ports kept), stop it
and remove it. Ours also runs Kueue's manager and etcd over TLS; kwokctl runs etcd,
kube-apiserver, kube-controller-manager, kube-scheduler and kwok-controller from the
binaries the bootstrap built (nothing is downloaded). Everything listens on 127.0.0.1.

    .venv/bin/python bench/controlplanes.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import OUT, Stats, print_machine, ratio, use_toolchain, write_result

KWOKCTL_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


def timed(step: Any) -> float:
    start = time.monotonic()
    step()
    return time.monotonic() - start


def ours(work: Path) -> dict[str, float]:
    from _plane import BenchControlPlane

    plane = BenchControlPlane(work)
    figures = {"start": timed(plane.start), "stop": timed(plane.stop)}
    figures["restart"] = timed(plane.start)
    figures["stop again"] = timed(plane.stop)
    return figures


def kwokctl(work: Path) -> dict[str, float]:
    binary = os.environ["AION_KWOKCTL"]
    env = {**os.environ, "KWOK_WORKDIR": str(work)}
    flags = [f"--{name}-binary={os.environ['AION_' + name.upper().replace('-', '_')]}" for name in KWOKCTL_COMPONENTS]
    flags.append(f"--kwok-controller-binary={os.environ['AION_KWOK']}")

    def run(*args: str) -> None:
        subprocess.run([binary, *args, "--name=bench"], env=env, check=True, capture_output=True, timeout=300)

    figures = {"start": timed(lambda: run("create", "cluster", "--runtime=binary", "--wait=5m", *flags))}
    figures["stop"] = timed(lambda: run("stop", "cluster"))
    figures["restart"] = timed(lambda: run("start", "cluster", "--wait=5m"))
    figures["stop again"] = timed(lambda: run("delete", "cluster"))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    use_toolchain()
    info = print_machine()
    print(f"{args.runs} run(s) each, alternating; figures: median [min..max, IQR, n]\n")
    OUT.mkdir(parents=True, exist_ok=True)
    samples: dict[str, list[dict[str, float]]] = {"ours": [], "kwokctl": []}
    for run in range(args.runs):
        for name, supervise in (("ours", ours), ("kwokctl", kwokctl)):
            work = Path(tempfile.mkdtemp(prefix=f"cp-{name}-", dir=OUT))
            try:
                samples[name].append(supervise(work))
            finally:
                shutil.rmtree(work, ignore_errors=True)
            print(f"  run {run + 1}/{args.runs} {name}: {samples[name][-1]}", flush=True)
    print(f"\n{'step':<12} {'ours (with Kueue, etcd over TLS)':<44} {'kwokctl --runtime binary':<44} ratio")
    stats = {}
    for step in ("start", "stop", "restart", "stop again"):
        mine, theirs = (Stats.of([s[step] for s in samples[name]]) for name in ("ours", "kwokctl"))
        stats[step] = {"ours": mine.as_dict(), "kwokctl": theirs.as_dict()}
        print(f"{step:<12} {mine.fmt('s', 2):<44} {theirs.fmt('s', 2):<44} {ratio(mine.median, theirs.median)}")
    write_result("controlplanes", {"machine": info, "runs": args.runs, "stats": stats, "samples": samples})
    return 0


if __name__ == "__main__":
    sys.exit(main())
