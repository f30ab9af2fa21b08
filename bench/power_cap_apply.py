"""Benchmark 9: how long a new cap takes to reach the driver, on the power-cap DaemonSet's own loop.

The rendered script (templates/gpu-power-cap.yaml.j2, with the interval the platform sets) runs
against a fake driver root: an `nvidia-smi` that prints an H100 SXM's `-q -d POWER` report and
records `-pl`, and a `chroot` that does not chroot. Once the loop has set the first cap, a new
cap is written into its cap file (what the kubelet does when the ConfigMap changes) at a random
moment of the interval, and the clock runs until the fake driver receives it. The kubelet's own
delay in refreshing a mounted ConfigMap comes on top (its sync period, 1 minute by default, plus
its cache's TTL) and is not measured here: KWOK runs no kubelet.

    .venv/bin/python bench/power_cap_apply.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Stats, print_machine, write_result

from aion_factory import load_stack_file
from aion_factory.planner import make_plan
from aion_factory.platform import power_caps
from aion_factory.view import cluster_view

ROOT = Path(__file__).resolve().parent.parent
REPORT = """
==============NVSMI LOG==============

Driver Version                            : 570.124.06
Attached GPUs                             : 1
GPU 00000000:18:00.0
    GPU Power Readings
        Current Power Limit               : @LIMIT@ W
        Default Power Limit               : 700.00 W
        Min Power Limit                   : 200.00 W
        Max Power Limit                   : 700.00 W
    Module Power Readings
        Min Power Limit                   : N/A
        Max Power Limit                   : N/A
"""


def script() -> tuple[list[str], int]:
    """The DaemonSet's command and the interval the platform gives it."""
    spec = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
    view = cluster_view(spec, make_plan(spec), "local")
    daemonset = next(d for d in power_caps.power_cap_daemonsets(view))
    [container] = daemonset["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    return [*container["command"], *container["args"]], int(env["CHECK_INTERVAL_S"])


def fake_driver(folder: Path) -> dict[str, str]:
    driver_bin, bin_dir = folder / "driver/usr/bin", folder / "bin"
    driver_bin.mkdir(parents=True)
    bin_dir.mkdir()
    (folder / "limit").write_text("700")
    (folder / "cap_w").write_text("600")
    (folder / "report").write_text(REPORT)
    tools = {
        driver_bin / "nvidia-smi": f"""#!/bin/sh
if [ "$1" = "-pl" ]; then echo "$2" > {folder}/limit; echo "$2 $(date +%s.%N)" >> {folder}/calls; exit 0; fi
if [ "$1" = "-q" ]; then sed "s/@LIMIT@/$(cat {folder}/limit).00/" {folder}/report; exit 0; fi
echo "$(cat {folder}/limit).00"
""",
        bin_dir / "chroot": '#!/bin/sh\nroot="$1"; tool="$2"; shift 2\nexec "$root/usr/bin/$tool" "$@"\n',
    }
    for path, text in tools.items():
        path.write_text(text)
        path.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "DRIVER_ROOT": str(folder / "driver"), "CAP_FILE": str(folder / "cap_w")}


def calls(folder: Path) -> list[tuple[str, float]]:
    path = folder / "calls"
    lines = path.read_text().split("\n") if path.exists() else []
    return [(cap, float(at)) for cap, at in (line.split() for line in lines if line.strip())]


def one_run(command: list[str], interval_s: int) -> float:
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        env = fake_driver(folder) | {"CHECK_INTERVAL_S": str(interval_s)}
        loop = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not calls(folder):  # the first round sets 600 W
                time.sleep(0.05)
            time.sleep(random.uniform(0, interval_s))  # a change lands anywhere in the interval
            changed = time.time()
            (folder / "cap_w").write_text("450")
            while not any(cap == "450" for cap, _ in calls(folder)):
                time.sleep(0.05)
            return next(at for cap, at in calls(folder) if cap == "450") - changed
        finally:
            loop.kill()
            loop.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    info = print_machine()
    command, interval_s = script()
    print(f"{args.runs} run(s) of the template's loop, interval {interval_s} s, a new cap written at a random moment\n")
    samples = []
    for run in range(args.runs):
        seconds = one_run(command, interval_s)
        samples.append(seconds)
        print(f"  run {run + 1}/{args.runs}: the driver got the new cap {seconds:.2f} s after the file changed", flush=True)
    stats = Stats.of(samples)
    print(f"\n== a new cap reaches the driver after: {stats.fmt('s', 2)} (the interval, {interval_s} s, at most)")
    result: dict[str, Any] = {"machine": info, "load_avg_1m_at_end": os.getloadavg()[0], "interval_s": interval_s,
                              "stats": stats.as_dict(), "runs": samples}  # fmt: skip
    write_result("power-cap-apply", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
