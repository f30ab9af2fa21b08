"""Benchmark 2: evaluating one local cluster stack's program under Pulumi mocks.

The program is a FactoryCluster per deployable cluster (LocalCluster, then
ClusterPlatform with the Kueue CRDs and the local StorageClass, as `program.run` builds them) for the
local stack with 10, 100 and 500 tenants. Each run is a fresh process (mocked
runs in one process can hang, pulumi/pulumi#7663). Reported: the time from
the first registration to the last resolved RPC, the resources registered, the
time per resource, and how each grows against the 10-tenant baseline.

    .venv/bin/python bench/program_mocks.py [--runs N] [--quick] [--profile TENANTS]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from _common import OUT, PYTHON, ROOT, Stats, print_machine, ratio, run_child, source_at, write_result
from sites import local_cluster

TENANTS = (10, 100, 500)


def child(tenants: int, profile: str | None) -> None:
    """One measured run in this fresh process; prints JSON."""
    t0 = time.perf_counter()
    import pulumi

    import aion_factory
    from aion_factory import make_plan, spec_from_config
    from aion_factory.factory import FactoryCluster, deployable_clusters
    from aion_factory.target import LocalSettings

    t1 = time.perf_counter()

    class Counter(pulumi.runtime.Mocks):
        registered = 0

        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
            Counter.registered += 1
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
            return {}

    timings: dict[str, float] = {}

    def program() -> None:
        start = time.perf_counter()
        spec = spec_from_config(local_cluster(tenants))
        plan = make_plan(spec)
        timings["spec_plan_s"] = time.perf_counter() - start
        start = time.perf_counter()
        local = LocalSettings(kubeconfig_path="/bench/kubeconfig")
        for deployment in deployable_clusters(spec, plan, local=local):
            FactoryCluster(deployment.view.name, deployment)
        timings["construct_s"] = time.perf_counter() - start  # the constructors ran; RPCs may still be in flight

    pulumi.runtime.set_mocks(Counter(), project="aion-factory", stack="bench", preview=False)
    profiler: Any = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
    t2, c2 = time.perf_counter(), time.process_time()
    pulumi.runtime.test(program)()  # returns once every registration has resolved
    t3, c3 = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.stop()
        Path(profile).write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    monitor: Any = pulumi.runtime.settings.get_monitor()
    print(
        json.dumps(
            {
                "import_s": t1 - t0,
                "program_s": t3 - t2,
                "program_cpu_s": c3 - c2,  # all threads: steadier than wall time on a busy machine
                "resources": len(monitor.get_registered_resources()),
                "custom_resources": Counter.registered,
                "library": str(Path(aion_factory.__file__).parent.relative_to(ROOT)),
                **timings,
            }
        )
    )


def measure(tenants: int, runs: int, envs: list[dict[str, str] | None]) -> list[tuple[int, dict[str, Stats], str]]:
    """Stats per environment; runs alternate between them, so a busy minute hits both alike."""
    keys = ("program_s", "program_cpu_s", "per_resource_ms", "per_resource_cpu_ms", "construct_s", "rss_mib")
    samples: list[dict[str, list[float]]] = [{key: [] for key in keys} for _ in envs]
    registered, library = [0] * len(envs), [""] * len(envs)
    for _ in range(runs):
        for index, env in enumerate(envs):
            run = run_child([PYTHON, __file__, "--child", str(tenants)], cwd=ROOT, timeout_s=1800, env=env)
            if run.returncode != 0:
                raise RuntimeError(f"child failed: {run.stderr[-3000:]}")
            data = json.loads(run.stdout.strip().splitlines()[-1])
            registered[index], library[index] = data["resources"], data["library"]
            for key in ("program_s", "program_cpu_s", "construct_s"):
                samples[index][key].append(data[key])
            samples[index]["per_resource_ms"].append(1000 * data["program_s"] / data["resources"])
            samples[index]["per_resource_cpu_ms"].append(1000 * data["program_cpu_s"] / data["resources"])
            samples[index]["rss_mib"].append(run.maxrss_mib)
    return [(registered[i], {key: Stats.of(values) for key, values in samples[i].items()}, library[i]) for i in range(len(envs))]


ROWS = (
    ("program_s", "s", 3),
    ("program_cpu_s", "s", 3),
    ("per_resource_ms", "ms", 3),
    ("per_resource_cpu_ms", "ms", 3),
    ("construct_s", "s", 3),
    ("rss_mib", "MiB", 1),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 runs, 10 and 100 tenants")
    parser.add_argument("--tenants", type=int, nargs="+", default=list(TENANTS), help="configurations (default: 10 100 500)")
    parser.add_argument("--against", metavar="REV", help="also run the library as of this git revision, side by side")
    parser.add_argument("--profile", type=int, metavar="TENANTS", help="one pyinstrument run at this many tenants, into bench/out/")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.profile_out)
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    if args.profile:
        out = OUT / f"program_mocks-profile-{args.profile}.txt"
        run = run_child([PYTHON, __file__, "--child", str(args.profile), "--profile-out", str(out)], cwd=ROOT, timeout_s=1800)
        print(run.stdout, run.stderr[-3000:], f"profile: {out}", sep="\n")
        return run.returncode
    runs = 3 if args.quick else args.runs
    configs = args.tenants[:2] if args.quick else args.tenants
    info = print_machine()
    print(f"{runs} runs per configuration, each in a fresh process (Kueue comes with the cluster: no CRDs in the program)")
    print(f"figures: median [min..max, IQR, n]; growth is against {configs[0]} tenants (linear growth = the tenant ratio)\n")
    results: list[dict[str, Any]] = []
    baseline: dict[str, Any] | None = None
    for tenants in configs:
        (registered, stats, library), *others = measure(tenants, runs, [None, source_at(args.against)] if args.against else [None])
        before = others[0] if others else None
        baseline = baseline or {"tenants": tenants, "resources": registered, "stats": stats}
        grows = f"tenants x{tenants / baseline['tenants']:.0f}, resources x{registered / baseline['resources']:.1f}"
        print(f"== {tenants} tenants: {registered} resources registered ({grows}); library {library}")
        for key, unit, digits in ROWS:
            line = f"  {key:<16} {stats[key].fmt(unit, digits):<58} {ratio(stats[key].median, baseline['stats'][key].median):>7} vs first"
            if before:
                then = before[1][key]
                line += f"  | {args.against}: {then.fmt(unit, digits)}  now/then {ratio(stats[key].median, then.median)}"
            print(line)
        result: dict[str, Any] = {"tenants": tenants, "resources": registered, "stats": {k: v.as_dict() for k, v in stats.items()}}
        if before:
            result["against"] = {"rev": args.against, "library": before[2], "stats": {k: v.as_dict() for k, v in before[1].items()}}
        results.append(result)
        print()
    write_result("program_mocks", {"machine": info, "runs": runs, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
