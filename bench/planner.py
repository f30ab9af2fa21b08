"""Benchmark 1: the planner at AION scale.

Per configuration, each run in a fresh process: the time to import the library,
to load and validate the stack file (YAML, pydantic, cross-checks), and to make
the plan; the Python heap peak of load+plan (tracemalloc, in runs of its own, as
it slows what it watches); and `aion plan STACK` end to end as a user runs it
(wall time and the process's peak RSS). `--against REV` runs the same with the
library as of a git revision, side by side. `--sites`: site documents instead, the
200 MW one of examples/aion-200mw (as a document, and through one of its 28 stack
files, which also reads the other 27) and a generated 1 GW one.

    .venv/bin/python bench/planner.py [--runs N] [--quick] [--sites]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from _common import OUT, PYTHON, ROOT, Stats, print_machine, ratio, run_child, source_at, write_result
from sites import aion_site, check, counts, local_values, write_stack

AION = str(Path(PYTHON).with_name("aion"))


def child(stack_file: str, trace: bool) -> None:
    """One measured run, in this fresh process; prints JSON."""
    t0 = time.perf_counter()
    from aion_factory import load_site, load_stack_file, make_plan

    t1 = time.perf_counter()
    if trace:
        import tracemalloc

        tracemalloc.start()
    t2 = time.perf_counter()
    spec = load_site(stack_file) if "Pulumi." not in Path(stack_file).name else load_stack_file(stack_file)
    t3 = time.perf_counter()
    plan = make_plan(spec)
    t4 = time.perf_counter()
    result: dict[str, Any] = {"import_s": t1 - t0, "load_s": t3 - t2, "plan_s": t4 - t3, "fits": plan.fits}
    if trace:
        result["heap_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps(result))


def configurations(quick: bool) -> list[tuple[str, dict[str, Any]]]:
    configs = [("local stack (baseline)", local_values()), ("50 MW", aion_site(halls=1, tenants=130))]
    configs.append(("200 MW AION", aion_site(halls=4, tenants=520)))
    if not quick:
        configs.append(("400 MW", aion_site(halls=8, tenants=1040)))
    return configs


def site_documents() -> list[tuple[str, Path]]:
    example = ROOT / "examples/aion-200mw"
    giga = OUT / "planner" / "site-1gw.yaml"
    giga.parent.mkdir(parents=True, exist_ok=True)
    giga.write_text(yaml.safe_dump(aion_site(halls=20, tenants=2600), sort_keys=False))
    return [
        ("200 MW site document", example / "site.yaml"),
        ("200 MW through a stack file", example / "stacks/Pulumi.h2-c03.yaml"),
        ("1 GW site document", giga),
    ]


def measure_once(stack: Path, env: dict[str, str] | None) -> dict[str, float]:
    """One run of each kind, each in a fresh process."""
    sample: dict[str, float] = {}
    for trace in (False, True):
        argv = [PYTHON, __file__, "--child", str(stack)] + (["--trace"] if trace else [])
        run = run_child(argv, cwd=ROOT, timeout_s=300, env=env)
        if run.returncode != 0:
            raise RuntimeError(f"child failed: {run.stderr[-2000:]}")
        data = json.loads(run.stdout.strip().splitlines()[-1])
        if trace:
            sample["heap_peak_mib"] = data["heap_peak_mib"]
        else:
            sample |= {key: data[key] for key in ("import_s", "load_s", "plan_s")}
            sample["load_plus_plan_s"] = data["load_s"] + data["plan_s"]
            sample["child_rss_mib"] = run.maxrss_mib
    # The `aion` script itself; `python -m aion_factory.cli` (the same main) where PYTHONPATH swaps the library.
    aion = [AION] if env is None else [PYTHON, "-m", "aion_factory.cli"]
    run = run_child([*aion, "plan", str(stack)], cwd=ROOT, timeout_s=300, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"aion plan exited {run.returncode}: {run.stderr[-2000:]}")
    return sample | {"aion_plan_s": run.wall_s, "aion_plan_rss_mib": run.maxrss_mib}


def measure(stack: Path, runs: int, envs: list[dict[str, str] | None]) -> list[dict[str, Stats]]:
    """Stats per environment; runs alternate between them, so a busy minute hits both alike."""
    samples: list[list[dict[str, float]]] = [[] for _ in envs]
    for _ in range(runs):
        for index, env in enumerate(envs):
            samples[index].append(measure_once(stack, env))
    return [{key: Stats.of([s[key] for s in per_env]) for key in per_env[0]} for per_env in samples]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs, no 400 MW configuration")
    parser.add_argument("--against", metavar="REV", help="also run the library as of this git revision, side by side")
    parser.add_argument("--sites", action="store_true", help="site documents: the 200 MW example and a generated 1 GW site")
    parser.add_argument("--child", metavar="STACK", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.trace)
        return 0
    runs = 3 if args.quick else args.runs
    info = print_machine()
    print(f"{runs} runs per configuration, each in a fresh process; figures: median [min..max, IQR, n]\n")
    results: list[dict[str, Any]] = []
    baseline: dict[str, Stats] | None = None
    chosen: list[tuple[str, Any]] = site_documents() if args.sites else configurations(args.quick)
    for label, values in chosen:
        if isinstance(values, Path):
            stack, site = values, yaml.safe_load((values.parent.parent / "site.yaml" if "Pulumi." in values.name else values).read_text())
            size = counts(site)
        else:
            check(values)
            size = counts(values)
            stack = write_stack(OUT / "planner" / f"Pulumi.{label.split()[0].lower()}.yaml", values)
        stats, *others = measure(stack, runs, [None, source_at(args.against)] if args.against else [None])
        before = others[0] if others else None
        baseline = baseline or stats
        print(
            f"== {label}: {size['clusters']} clusters, {size['pools']} GPU pools, {size['tenants']} tenants "
            f"({size['multi_cluster_tenants']} on several clusters), stack file {stack.stat().st_size / 1024:.0f} KiB"
        )
        for key, unit, digits in (
            ("import_s", "s", 3),
            ("load_s", "s", 4),
            ("plan_s", "s", 4),
            ("load_plus_plan_s", "s", 4),
            ("heap_peak_mib", "MiB", 2),
            ("child_rss_mib", "MiB", 1),
            ("aion_plan_s", "s", 3),
            ("aion_plan_rss_mib", "MiB", 1),
        ):
            line = f"  {key:<18} {stats[key].fmt(unit, digits):<58} {ratio(stats[key].median, baseline[key].median):>8} vs baseline"
            if before:
                line += f"  | {args.against}: {before[key].fmt(unit, digits)}  now/then {ratio(stats[key].median, before[key].median)}"
            print(line)
        result: dict[str, Any] = {"label": label, "counts": size, "stats": {k: v.as_dict() for k, v in stats.items()}}
        if before:
            result["against"] = {"rev": args.against, "stats": {k: v.as_dict() for k, v in before.items()}}
        results.append(result)
        print()
    write_result("planner-sites" if args.sites else "planner", {"machine": info, "runs": runs, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
