"""Benchmark 9: `aion fleet preview` of a programme's 100+ cluster stacks under Pulumi mocks, at --parallel 1, 2 and 4.

The fleet is the 1 GW programme (examples/aion-1gw: three sites) deployed in one phase (--phase,
default p3: 166 clusters), copied with that phase made current, and its stack files written by
`aion fleet stacks`' own function: each names its site document and the programme. The run is
`aion fleet`'s runner (`fleet/runner.run_fleet`: its thread pool, a log per stack, progress lines),
with each stack's Automation API call replaced by the stack's program run under Pulumi mocks in a
process of its own (mocked runs in one process can hang, pulumi/pulumi#7663): what a stack costs
before the engine, i.e. Python's start, the imports, reading and planning the whole programme
(every site, every phase), and registering its own cluster. The stack finds its documents as
under `aion fleet`, from AION_STACK_DIR. Reported: wall time per configuration (median of
--runs), seconds per stack, the CPU the children used per wall second, and where one stack's time goes.

    .venv/bin/python bench/fleet_preview.py [--phase p3] [--runs 3] [--parallel 1 2 4]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from _common import PYTHON, ROOT, Stats, print_machine, ratio, write_result

PROGRAMME = ROOT / "examples/aion-1gw"


def programme_copy(work: Path, phase: str) -> Path:
    """The 1 GW programme in `work`, each site document saying `phase` is current (the example's
    dates have not come yet, so as it stands its stacks deploy nothing)."""
    shutil.copy(PROGRAMME / "programme.yaml", work / "programme.yaml")
    (work / "sites").mkdir()
    for site_file in sorted((PROGRAMME / "sites").glob("*.yaml")):
        document = yaml.safe_load(site_file.read_text())
        document["current_phase"] = phase
        (work / "sites" / site_file.name).write_text(yaml.safe_dump(document, sort_keys=False))
    return work / "programme.yaml"


def child(stack_file: Path) -> None:
    """One stack's program under mocks, as `pulumi preview` would run it; prints its timings as JSON."""
    start = time.perf_counter()
    import pulumi

    sys.path.insert(0, str(ROOT / "tests/mocks"))
    from fleet_stack import Recorder  # the fleet's mocks test records registrations the same way

    recorder = Recorder()

    config = yaml.safe_load(stack_file.read_text())["config"]
    # As the language host hands config over: strings as they are, objects and lists as JSON text.
    values = {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}
    os.environ["PULUMI_CONFIG"] = json.dumps(values)
    pulumi.runtime.set_mocks(recorder, project="aion-factory", stack=stack_file.stem.removeprefix("Pulumi."), preview=True)
    from aion_factory import program

    imported, imported_cpu = time.perf_counter(), time.process_time()
    pulumi.runtime.test(program.run)()
    done, done_cpu = time.perf_counter(), time.process_time()
    print(json.dumps({"import_s": imported - start, "program_s": done - imported, "import_cpu_s": imported_cpu,
                      "program_cpu_s": done_cpu - imported_cpu, "registered": len(recorder.registered)}))  # fmt: skip


def fleet_run(stacks: dict[str, Path], work: Path, parallel: int) -> tuple[float, float, list[dict[str, Any]]]:
    """(wall s, CPU s of the children, each stack's timings) of one run of the fleet runner."""
    import subprocess

    from aion_factory.fleet import runner

    timings: list[dict[str, Any]] = []
    files = {path.name.removeprefix("Pulumi.").removesuffix(".yaml"): path for path in stacks.values()}  # the runner names stacks
    env = {**os.environ, "SCW_ACCESS_KEY": "SCWXXXXXXXXXXXXXXXXX", "SCW_SECRET_KEY": "00000000-0000-0000-0000-000000000000",
           "SCW_DEFAULT_PROJECT_ID": "00000000-0000-0000-0000-000000000000"}  # fmt: skip

    def operate(run: runner.FleetRun, stack: str, write: Any) -> str:
        done = subprocess.run(
            [PYTHON, __file__, "--child", str(files[stack])], env={**env, **(run.env or {})},
            capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        write(done.stderr)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        timings.append(json.loads(done.stdout.splitlines()[-1]))
        return f"{timings[-1]['registered']} registered"

    real, runner._operate = runner._operate, operate  # type: ignore[assignment]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        by_cluster = {name: path for name, path in stacks.items()}
        results = runner.run_fleet(runner.FleetRun("preview", work, work / "logs", parallel), by_cluster, io.StringIO())
    finally:
        runner._operate = real  # type: ignore[assignment]
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    failed = [r for r in results if not r.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} stacks failed, first: {failed[0].summary} (log {failed[0].log})")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", default="p3", help="the phase deployed (p1: 16 stacks, p2: 94, p3: 166)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    from aion_factory.fleet.deployed import documents_of
    from aion_factory.fleet.stacks import fleets_of, write_missing_stacks

    info = print_machine()
    work = Path(tempfile.mkdtemp(prefix="aion-bench-fleet-preview-"))
    try:
        (work / "stacks").mkdir()
        programme = programme_copy(work, args.phase)
        write_missing_stacks(fleets_of(programme, work / "stacks"), work / "stacks")
        # As CI's matrix: the stacks of the clusters that exist in the phase deployed.
        deployed = documents_of(programme)
        stacks = {key: path for key, path in fleets_of(programme, work / "stacks").stacks.items() if key in deployed}
        print(f"{len(stacks)} stacks of the 1 GW programme in phase {args.phase}; {args.runs} runs per configuration; "
              "figures: median [min..max, IQR, n]\n")  # fmt: skip
        samples: dict[int, dict[str, list[float]]] = {p: {"wall": [], "cores": []} for p in args.parallel}
        per_stack: list[dict[str, Any]] = []
        for _ in range(args.runs):
            for parallel in args.parallel:  # every configuration once per round: a busy minute hits all alike
                wall, cpu, timings = fleet_run(stacks, work, parallel)
                load = os.getloadavg()[0]
                print(f"  (--parallel {parallel}: {wall:.1f} s, CPU per wall second {cpu / wall:.2f}, load avg {load:.1f})", flush=True)
                samples[parallel]["wall"].append(wall)
                samples[parallel]["cores"].append(cpu / wall)
                per_stack += timings
        stats = {p: {k: Stats.of(v) for k, v in s.items()} for p, s in samples.items()}
        base = stats[args.parallel[0]]["wall"].median
        for parallel in args.parallel:
            wall = stats[parallel]["wall"]
            print(f"--parallel {parallel}: {wall.fmt('s', 1):<44} {wall.median / len(stacks):.3f} s per stack, "
                  f"{ratio(wall.median, base)}, CPU per wall second {stats[parallel]['cores'].median:.2f}")  # fmt: skip
        imports, program = Stats.of([t["import_s"] for t in per_stack]), Stats.of([t["program_s"] for t in per_stack])
        import_cpu, program_cpu = Stats.of([t["import_cpu_s"] for t in per_stack]), Stats.of([t["program_cpu_s"] for t in per_stack])
        print(f"\none stack, wall: Python start and imports {imports.fmt('s')}")
        print(f"                 the program (read and plan the whole programme, register its cluster) {program.fmt('s')}")
        print(f"one stack, CPU: imports {import_cpu.fmt('s')}, the program {program_cpu.fmt('s')}")
        print(f"resources one stack registers: {per_stack[0]['registered']}")
        write_result(
            "fleet_preview",
            {"machine": info, "stacks": len(stacks), "phase": args.phase, "runs": args.runs,
             "parallel": {p: {k: v.as_dict() for k, v in s.items()} for p, s in stats.items()},
             "import_s": imports.as_dict(), "program_s": program.as_dict(),
             "import_cpu_s": import_cpu.as_dict(), "program_cpu_s": program_cpu.as_dict()},
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
