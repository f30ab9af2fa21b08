"""Benchmark 8: planning a programme of sites in phases.

1. `aion plan` of the 1 GW programme (examples/aion-1gw: 3 sites, 3 phases, 166 clusters and 1,174
   tenants in the last), every phase, beside the 200 MW site document (examples/aion-200mw/site.yaml):
   wall time and peak RSS of the command as a user runs it, and inside a fresh process the time to
   load (read, validate, cross-check every site) and to plan every phase.
2. How planning grows with sites x phases x clusters: generated programmes at four sizes (7 tenants
   a cluster, each site's clusters all there from the first phase, growing per phase).

Each figure: the median of --runs fresh processes (5 by default), with min..max.

    .venv/bin/python bench/programme.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from _common import OUT, PYTHON, ROOT, Stats, print_machine, run_child, write_result

AION = str(Path(PYTHON).with_name("aion"))
EXAMPLES = [("200 MW site document", ROOT / "examples/aion-200mw/site.yaml"), ("1 GW programme", ROOT / "examples/aion-1gw/programme.yaml")]
# (sites, phases, clusters a site): the 1 GW example is about the third.
SIZES = [(1, 1, 20), (2, 2, 40), (3, 3, 60), (6, 4, 60)]
TENANTS_PER_CLUSTER = 7


def child(path: str) -> None:
    """One load and plan of `path`, in this fresh process; prints JSON."""
    from aion_factory.programme import load_programme, programme_of_site
    from aion_factory.programme_plan import plan_programme
    from aion_factory.site import load_site, read_yaml

    t0 = time.perf_counter()
    document = read_yaml(Path(path), "document")
    programme = load_programme(path) if "programme" in document else programme_of_site(load_site(path), path)
    t1 = time.perf_counter()
    plan = plan_programme(programme)
    t2 = time.perf_counter()
    print(json.dumps({"load_s": t1 - t0, "plan_s": t2 - t1, "fits": plan.fits, "clusters": plan.totals[-1].clusters}))


def measure(path: Path, runs: int, command: bool) -> dict[str, Stats]:
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        run = run_child([PYTHON, __file__, "--child", str(path)], cwd=ROOT, timeout_s=300)
        if run.returncode != 0:
            raise RuntimeError(run.stderr[-2000:])
        data = json.loads(run.stdout.strip().splitlines()[-1])
        for key in ("load_s", "plan_s"):
            samples.setdefault(key, []).append(data[key])
        if command:
            whole = run_child([AION, "plan", str(path)], cwd=ROOT, timeout_s=300)
            if whole.returncode != 0:
                raise RuntimeError(f"aion plan exited {whole.returncode}: {whole.stderr[-2000:]}")
            samples.setdefault("aion_plan_s", []).append(whole.wall_s)
            samples.setdefault("aion_plan_rss_mib", []).append(whole.maxrss_mib)
    return {key: Stats.of(values) for key, values in samples.items()}


def generated(sites: int, phases: int, clusters: int) -> Path:
    """A programme of `sites` sites, each of `clusters` clusters of 100 H100-SXM-8 nodes (1,020 kW) in
    halls of 10, every pool growing by 50 nodes a phase after the first, 7 tenants a cluster."""
    folder = OUT / "programme" / f"{sites}x{phases}x{clusters}"
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"p{i + 1}" for i in range(phases)]
    growth = {name: 100 + 50 * i for i, name in enumerate(names) if i}
    for s in range(sites):
        halls = -(-clusters // 10)
        hall_kw = 10 * (100 + 50 * (phases - 1)) * 10.2 + 10  # the last phase's ten clusters, system pools included
        document: dict[str, Any] = {
            "site": {"name": f"s{s}", "facility_power_mw": halls * hall_kw / 1000 * 1.2 + 1, "pue": 1.2,
                     "halls": [{"name": f"h{h}", "it_power_kw": hall_kw} for h in range(halls)]},
            "phases": [{"name": name, "date": f"{2027 + i}-06"} for i, name in enumerate(names)],
            "clusters": [],
            "tenants": [],
        }  # fmt: skip
        for c in range(clusters):
            name = f"c{c:03d}"
            pool = {"name": "g", "node_type": "H100-SXM-8-80G", "size": 100, **({"by_phase": growth} if growth else {})}
            subnet = f"172.{16 + c // 64}.{(c % 64) * 4}.0/22"
            document["clusters"].append({"name": name, "target": "scaleway", "hall": f"h{c // 10}", "subnet": subnet, "pools": [pool]})
            for t in range(TENANTS_PER_CLUSTER):
                document["tenants"].append({"name": f"{name}-t{t}", "power_kw": 100, "clusters": [name]})
        (folder / f"s{s}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    programme = {"programme": "bench", "sites": [{"file": f"s{s}.yaml"} for s in range(sites)]}
    (folder / "programme.yaml").write_text(yaml.safe_dump(programme, sort_keys=False))
    return folder / "programme.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    info = print_machine()
    print(f"{args.runs} runs each, fresh processes; median [min..max, IQR, n]\n")
    results: dict[str, Any] = {"machine": info, "examples": {}, "growth": {}}
    for label, path in EXAMPLES:
        stats = measure(path, args.runs, command=True)
        results["examples"][label] = {k: v.as_dict() for k, v in stats.items()}
        print(f"== {label} ({path.relative_to(ROOT)})")
        print(f"  aion plan    {stats['aion_plan_s'].fmt('s', 3)}")
        print(f"  peak RSS     {stats['aion_plan_rss_mib'].fmt('MiB', 1)}")
        print(f"  load         {stats['load_s'].fmt('s', 3)}")
        print(f"  plan         {stats['plan_s'].fmt('s', 4)}  (every phase)")
    print("\n== growth: sites x phases x clusters a site")
    for sites, phases, clusters in SIZES:
        path = generated(sites, phases, clusters)
        stats = measure(path, args.runs, command=False)
        key = f"{sites}x{phases}x{clusters}"
        results["growth"][key] = {k: v.as_dict() for k, v in stats.items()}
        site_phases = sites * phases * clusters
        print(
            f"  {key:<10} {sites * clusters:>4} clusters, {site_phases:>5} cluster-phases: "
            f"load {stats['load_s'].fmt('s', 3)}, plan {stats['plan_s'].fmt('s', 4)}"
        )
    write_result("programme", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
