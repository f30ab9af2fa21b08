"""Benchmark 5: `aion fleet up` and `preview` of 1, 2 and 4 local cluster stacks, against the same stacks one by one.

Each cluster is a small local cluster (one L40S-4 node, a system node, a tenant) on a
control plane of its own on 127.0.0.1; the site document holds them all. Per run:
`aion fleet up` with `--parallel 2` (the default) and with `--parallel 1` (one by one,
the sum of the stacks' own times), `aion fleet preview` likewise, destroying in
between (not timed). Reported: medians, the ratio parallel / one by one, and the CPU
the fleet's processes used per wall second (2.0 = both cores busy).

    .venv/bin/python bench/fleet.py [--runs N] [--stacks 1 2 4]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from _common import OUT, ROOT, Stats, print_machine, ratio, run_child, use_toolchain, write_result
from _plane import BenchControlPlane

AION = str(ROOT / ".venv/bin/aion")


def site(clusters: int) -> dict[str, Any]:
    names = [f"lab-{i}" for i in range(clusters)]
    return {
        "site": {"name": "lab", "facility_power_mw": 0.1, "pue": 1.25, "halls": [{"name": "hall-a", "it_power_kw": 80}]},
        "clusters": [
            {"name": n, "target": "local", "hall": "hall-a", "system_pool": {"size": 1},
             "pools": [{"name": "l40s", "node_type": "L40S-4-48G", "size": 1}]}
            for n in names
        ],
        "tenants": [{"name": f"t-{n}", "power_kw": 1, "clusters": [n]} for n in names],
    }  # fmt: skip


def project(root: Path, clusters: int, planes: list[BenchControlPlane]) -> Path:
    settings = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    settings["runtime"]["options"]["virtualenv"] = str(ROOT / ".venv")
    (root / "stacks").mkdir(parents=True)
    (root / "sites").mkdir()
    (root / "Pulumi.yaml").write_text(yaml.safe_dump(settings))
    shutil.copy(ROOT / "__main__.py", root / "__main__.py")
    (root / "sites/lab.yaml").write_text(yaml.safe_dump(site(clusters)))
    for i, plane in enumerate(planes):
        config = {"aion:site_file": "../sites/lab.yaml", "aion:cluster": f"lab-{i}", "aion:kubeconfig": str(plane.kubeconfig)}
        (root / f"stacks/Pulumi.lab-{i}.yaml").write_text(yaml.safe_dump({"config": config}))
    return root / "sites/lab.yaml"


def fleet(operation: str, site_file: Path, env: dict[str, str], parallel: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of all its processes) of one `aion fleet` run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = run_child([AION, "fleet", operation, str(site_file), "--project", str(site_file.parent.parent), "--parallel", str(parallel)],
                    env=env, timeout_s=1800)  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise RuntimeError(f"aion fleet {operation} exited {run.returncode}:\n{run.stderr[-3000:]}")
    return run.wall_s, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stacks", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    toolchain = use_toolchain()
    info = print_machine()
    print(f"{args.runs} runs per configuration; figures: median [min..max, IQR, n]\n")
    results = []
    for clusters in args.stacks:
        work = Path(tempfile.mkdtemp(prefix=f"aion-bench-fleet-{clusters}-"))
        planes = [BenchControlPlane(work / f"plane-{i}") for i in range(clusters)]
        try:
            for plane in planes:
                plane.start()
            site_file = project(work / "project", clusters, planes)
            env = {
                **toolchain,
                "PULUMI_BACKEND_URL": f"file://{work / 'state'}",
                "PULUMI_CONFIG_PASSPHRASE": "bench",
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
                "PULUMI_PYTHON_CMD": str(ROOT / ".venv/bin/python"),
                "PATH": f"{ROOT / '.venv/bin'}:{toolchain['PATH']}",
                **({"PULUMI_HOME": toolchain["AION_PULUMI_HOME"]} if toolchain.get("AION_PULUMI_HOME") else {}),
            }
            (work / "state").mkdir()
            samples: dict[str, list[float]] = {}
            for _ in range(args.runs):
                for parallel in (2, 1):  # alternate, so a busy minute hits both alike
                    wall, cpu = fleet("up", site_file, env, parallel)
                    samples.setdefault(f"up_p{parallel}_s", []).append(wall)
                    samples.setdefault(f"up_p{parallel}_cores", []).append(cpu / wall)
                    wall, cpu = fleet("preview", site_file, env, parallel)
                    samples.setdefault(f"preview_p{parallel}_s", []).append(wall)
                    samples.setdefault(f"preview_p{parallel}_cores", []).append(cpu / wall)
                    fleet("destroy", site_file, env, 2)
            stats = {key: Stats.of(values) for key, values in samples.items()}
            print(f"== {clusters} stack(s), each its own control plane")
            for op in ("up", "preview"):
                both, one = stats[f"{op}_p2_s"], stats[f"{op}_p1_s"]
                print(f"  {op:<8} parallel 2: {both.fmt('s', 1):<40} one by one: {one.fmt('s', 1):<40} {ratio(both.median, one.median)}")
                cores = (stats[f"{op}_p2_cores"].median, stats[f"{op}_p1_cores"].median)
                print(f"  {'':<8} CPU per wall second: parallel {cores[0]:.2f}, one by one {cores[1]:.2f}")
            results.append({"stacks": clusters, "stats": {k: v.as_dict() for k, v in stats.items()}})
        finally:
            for plane in planes:
                plane.stop()
            if os.environ.get("AION_BENCH_KEEP") != "1":
                shutil.rmtree(work, ignore_errors=True)
        time.sleep(1)
    write_result("fleet", {"machine": info, "runs": args.runs, "results": results})
    print(f"\nfigures in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
