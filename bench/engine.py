"""Benchmark 3: the real Pulumi engine on the local control plane, side by side with kubectl.

For the local stack with 10 and 100 tenants: `pulumi up`, a no-change `pulumi
preview` and `pulumi destroy`; then the same platform objects, rendered to YAML
by the platform manifest that the component registers, plus Kueue's CRDs,
through `kubectl apply --server-side`, `kubectl diff --server-side` and
`kubectl delete`. Each step's wall time, and the CPU each process spent (the
engine, the Kubernetes provider, our Python program, the dynamic provider, the
API server, etcd), so the report can say what bounds it. The program's own time
inside `pulumi up` comes from timestamps its `__main__.py` writes.

Needs the toolchain (scripts/bootstrap-toolchain.sh's env file). Starts one
control plane in a temp folder under bench/out/ and stops it on the way out.

    .venv/bin/python bench/engine.py [--runs N] [--quick] [--tenants 10 100]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from _common import OUT, ROOT, Stats, print_machine, ratio, source_at, use_toolchain, write_result
from _procs import Timed, timed
from sites import local_cluster

TENANTS = (10, 100)
STACK = "bench"
OP_TIMEOUT_S = 1800
# Runs the program as __main__.py does, and appends when it started, finished
# constructing and exited, with its CPU time, to $AION_BENCH_TIMINGS.
TIMING_MAIN = '''"""bench/engine.py: the stack's program with timestamps."""
import atexit, json, os, time

_start, _cpu = time.time(), time.process_time()
from aion_factory.program import run

_imported = time.time()


def _record() -> None:
    with open(os.environ["AION_BENCH_TIMINGS"], "a") as out:
        out.write(json.dumps({"start": _start, "imported": _imported, "constructed": _constructed,
                              "exit": time.time(), "cpu_s": time.process_time() - _cpu}) + "\\n")


_constructed = None
atexit.register(_record)
run()
_constructed = time.time()
'''


def kubectl_binary() -> tuple[str, str]:
    """The toolchain's kubectl (built to match the API server when the system one is out of skew), else /usr/bin/kubectl."""
    path = os.environ.get("AION_KUBECTL") or shutil.which("kubectl") or "/usr/bin/kubectl"
    out = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True, check=False).stdout
    version = json.loads(out)["clientVersion"]["gitVersion"] if out.strip().startswith("{") else "unknown"
    return path, version


def system_kubectl_version() -> str:
    out = subprocess.run(["/usr/bin/kubectl", "version", "--client", "-o", "json"], capture_output=True, text=True, check=False).stdout
    return json.loads(out)["clientVersion"]["gitVersion"] if out.strip().startswith("{") else "absent"


def render(values: dict[str, Any], cluster: str = "local") -> list[dict[str, Any]]:
    """The platform manifest the component registers for `cluster` (Kueue itself comes with the control plane)."""
    from aion_factory import make_plan, spec_from_config
    from aion_factory.platform import StorageClassChoice, platform_manifest
    from aion_factory.view import cluster_view

    spec = spec_from_config(values)
    objects = platform_manifest(cluster_view(spec, make_plan(spec), cluster), StorageClassChoice.local()).objects()
    # Namespaces first: kubectl applies in file order.
    objects.sort(key=lambda o: o["kind"] != "Namespace")
    return objects


class Project:
    """A copy of the program in a temp folder: Pulumi.yaml, a timing __main__.py, one stack."""

    def __init__(self, root: Path, env: dict[str, str], values: dict[str, Any]) -> None:
        self.root, self.env = root, env
        (root / "stacks").mkdir(parents=True)
        project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
        project["runtime"]["options"]["virtualenv"] = str(ROOT / ".venv")
        (root / "Pulumi.yaml").write_text(yaml.safe_dump(project))
        (root / "__main__.py").write_text(TIMING_MAIN)
        config = {"config": {f"aion:{key}": value for key, value in values.items()}}
        (root / "stacks" / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.timings = root / "timings.jsonl"
        self.env["AION_BENCH_TIMINGS"] = str(self.timings)
        self.run("stack", "init", "--secrets-provider", "passphrase", check=True)

    def run(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["pulumi", *args, "--stack", STACK, "--non-interactive"],
            cwd=self.root, env=self.env, capture_output=True, text=True, check=False, timeout=OP_TIMEOUT_S,
        )  # fmt: skip
        if check and result.returncode:
            raise RuntimeError(f"pulumi {' '.join(args)}: {result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def timed(self, watched: dict[str, int], *args: str) -> tuple[Timed, dict[str, float] | None]:
        """A pulumi command, and the program's own timings when it ran the program."""
        lines_before = len(self.timings.read_text().splitlines()) if self.timings.exists() else 0
        result = timed(["pulumi", *args, "--stack", STACK, "--non-interactive"], self.env, self.root, watched, OP_TIMEOUT_S)
        if result.returncode:
            raise RuntimeError(f"pulumi {' '.join(args)} exited {result.returncode}: {result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        lines = self.timings.read_text().splitlines() if self.timings.exists() else []
        program = json.loads(lines[-1]) if len(lines) > lines_before else None
        if program:
            program = {
                "program_wall_s": program["exit"] - program["start"],
                "program_import_s": program["imported"] - program["start"],
                "program_construct_s": (program["constructed"] or program["exit"]) - program["imported"],
                "program_cpu_s": program["cpu_s"],
            }
        return result, program

    def state_size(self) -> dict[str, float]:
        """Resources in the stack, the checkpoint's size, and the Kueue CRDs' share of it."""
        text = self.run("stack", "export", check=True).stdout
        resources = json.loads(text)["deployment"].get("resources") or []
        crd_bytes = sum(len(json.dumps(r)) for r in resources if r["type"].endswith(":CustomResourceDefinition"))
        all_bytes = sum(len(json.dumps(r)) for r in resources)
        return {"resources": len(resources), "state_mib": len(text) / 2**20, "crd_share": crd_bytes / all_bytes if all_bytes else 0.0}


def kubectl_steps(
    kubectl: str, kubeconfig: Path, folder: Path, env: dict[str, str], watched: dict[str, int]
) -> dict[str, tuple[float, dict[str, float]]]:
    """apply, a no-change diff, delete: wall and CPU of each (Kueue and its CRDs come with the control plane)."""
    base = [kubectl, f"--kubeconfig={kubeconfig}"]
    objects = folder / "objects.yaml"

    def step(*argvs: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, dict[str, float]]:
        wall, cpu = 0.0, {}
        for argv in argvs:
            result = timed([*base, *argv], env, folder, watched, OP_TIMEOUT_S)
            if result.returncode not in ok:
                raise RuntimeError(f"kubectl {' '.join(argv)} exited {result.returncode}: {result.stderr[-3000:]}")
            wall += result.wall_s
            for name, seconds in result.cpu_s.items():
                cpu[name] = cpu.get(name, 0.0) + seconds
        return wall, cpu

    return {
        "up": step(["apply", "--server-side", "--field-manager=bench", "-f", str(objects)]),
        # exit 0: no differences (1 would mean drift, which would be a bench bug)
        "preview": step(["diff", "--server-side", "--field-manager=bench", "-f", str(objects)]),
        # A namespace's deletion takes its LocalQueue with it: that one may be gone before kubectl gets to it.
        "destroy": step(["delete", "--ignore-not-found", "--wait=true", "--timeout=600s", "-f", str(objects)]),
    }


def wait_clean(kubeconfig: Path, tenants: int, timeout_s: float = 300) -> None:
    """Bounded: no tenant namespace left (namespaces finalize asynchronously)."""
    from kubernetes import client, config

    core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = [ns.metadata.name for ns in core.list_namespace().items if ns.metadata.name.startswith("tenant-")]
        if not left:
            return
        time.sleep(1)
    raise RuntimeError(f"tenant namespaces still there after {timeout_s} s")


def summarize(samples: list[dict[str, float]]) -> dict[str, Stats]:
    keys = sorted({k for s in samples for k in s})
    return {k: Stats.of([s.get(k, 0.0) for s in samples]) for k in keys}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per configuration (default 5)")
    parser.add_argument("--quick", action="store_true", help="1 run, 10 tenants")
    parser.add_argument("--tenants", type=int, nargs="+", default=list(TENANTS))
    parser.add_argument("--skip-checkpoints", action="store_true", help="PULUMI_SKIP_CHECKPOINTS=true: what per-step state writes cost")
    parser.add_argument("--library-rev", metavar="REV", help="run the program with the library as of this git revision (before/after)")
    args = parser.parse_args()
    toolchain = use_toolchain()
    from _plane import BenchControlPlane

    runs, configs = (1, args.tenants[:1]) if args.quick else (args.runs, args.tenants)
    info = print_machine()
    kubectl, kubectl_version = kubectl_binary()
    pulumi_version = subprocess.run(["pulumi", "version"], capture_output=True, text=True, env=os.environ, check=False).stdout.strip()
    print(f"pulumi {pulumi_version}; kubectl {kubectl_version} ({kubectl}); /usr/bin/kubectl {system_kubectl_version()}")
    print(f"{runs} runs per configuration; figures: median [min..max, IQR, n]\n")
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="engine-", dir=OUT))
    plane = BenchControlPlane(work / "control-plane")
    results: list[dict[str, Any]] = []
    suffix = ("-skip-checkpoints" if args.skip_checkpoints else "") + (f"-{args.library_rev}" if args.library_rev else "")

    def save() -> None:
        write_result("engine" + suffix, {
            "machine": info, "load_avg_1m_at_end": os.getloadavg()[0], "runs": runs, "pulumi": pulumi_version,
            "kubectl": kubectl_version, "library_rev": args.library_rev, "skip_checkpoints": args.skip_checkpoints, "results": results,
        })  # fmt: skip

    try:
        plane.start()
        pids = plane.state()["pids"]
        watched = {name: pids[name] for name in ("kube-apiserver", "etcd", "kube-controller-manager")}
        print(f"control plane up in {work.relative_to(ROOT)}")
        for tenants in configs:
            values = local_cluster(tenants)
            objects = render(values)
            folder = work / f"kubectl-{tenants}"
            folder.mkdir()
            (folder / "objects.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
            env = {
                **toolchain,
                "PULUMI_BACKEND_URL": f"file://{work / f'state-{tenants}'}",
                "PULUMI_CONFIG_PASSPHRASE": "bench",
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
                "AION_LOCAL_KUBECONFIG": str(plane.kubeconfig),
                # The language host (3.79) ignores Pulumi.yaml's virtualenv when the CLI is newer: `python` must be the venv's.
                "PATH": f"{ROOT / '.venv/bin'}:{toolchain['PATH']}",
                "VIRTUAL_ENV": str(ROOT / ".venv"),
            }
            if toolchain.get("AION_PULUMI_HOME"):
                env["PULUMI_HOME"] = toolchain["AION_PULUMI_HOME"]
            if args.skip_checkpoints:
                env["PULUMI_SKIP_CHECKPOINTS"] = "true"
            if args.library_rev:
                env["PYTHONPATH"] = source_at(args.library_rev)["PYTHONPATH"]
            (work / f"state-{tenants}").mkdir()
            project = Project(work / f"project-{tenants}", env, values)
            walls: dict[str, list[dict[str, float]]] = {"pulumi": [], "kubectl": []}
            cpus: dict[str, list[dict[str, float]]] = {}
            programs: list[dict[str, float]] = []
            count, state = 0, {}
            for run in range(runs):
                row: dict[str, float] = {}
                for op, argv in (("up", ("up", "--yes", "--skip-preview")), ("preview", ("preview", "--expect-no-changes")),
                                 ("destroy", ("destroy", "--yes", "--skip-preview"))):  # fmt: skip
                    result, program = project.timed(watched, *argv)
                    row[op] = result.wall_s
                    cpus.setdefault(f"pulumi {op}", []).append({**result.cpu_s, "tree total (wait4)": result.tree_cpu_s})
                    if program:
                        programs.append({f"{op} {k}": v for k, v in program.items()})
                    if op == "up" and run == 0:
                        state = project.state_size()
                        count = int(state["resources"])
                walls["pulumi"].append(row)
                wait_clean(plane.kubeconfig, tenants)
                steps = kubectl_steps(kubectl, plane.kubeconfig, folder, env, watched)
                walls["kubectl"].append({op: wall for op, (wall, _) in steps.items()})
                for op, (_, cpu) in steps.items():
                    cpus.setdefault(f"kubectl {op}", []).append(cpu)
                wait_clean(plane.kubeconfig, tenants)
                print(f"  {tenants} tenants, run {run + 1}/{runs}: pulumi {row} kubectl {walls['kubectl'][-1]}", flush=True)
            pulumi_stats, kubectl_stats = summarize(walls["pulumi"]), summarize(walls["kubectl"])
            merged: dict[str, list[float]] = {}
            for program in programs:
                for key, value in program.items():
                    merged.setdefault(key, []).append(value)
            program_stats = {key: Stats.of(values) for key, values in merged.items()}
            print(
                f"== {tenants} tenants: {count} resources in the stack, its state {state['state_mib']:.1f} MiB "
                f"({state['crd_share']:.0%} of it the Kueue CRDs); {len(objects)} objects through kubectl"
            )
            for op, kubectl_op in (("up", "apply"), ("preview", "diff"), ("destroy", "delete")):
                p, k = pulumi_stats[op], kubectl_stats[op]
                side = f"kubectl {kubectl_op:<7} {k.fmt('s', 2):<48}"
                print(f"  pulumi {op:<8} {p.fmt('s', 2):<48} {side} pulumi/kubectl {ratio(p.median, k.median)}")
            for key, stats in program_stats.items():
                print(f"  program: {key:<28} {stats.fmt('s', 2)}")
            for step, samples in cpus.items():
                cpu = summarize(samples)
                top = sorted(cpu.items(), key=lambda kv: -kv[1].median)
                print(f"  CPU s in {step:<16} " + ", ".join(f"{name} {s.median:.2f}" for name, s in top if s.median >= 0.05))
            print()
            results.append(
                {
                    "tenants": tenants,
                    "resources": count,
                    "state": state,
                    "kubectl_objects": len(objects),
                    "pulumi": {k: v.as_dict() for k, v in pulumi_stats.items()},
                    "kubectl": {k: v.as_dict() for k, v in kubectl_stats.items()},
                    "program": {k: v.as_dict() for k, v in program_stats.items()},
                    "cpu": {step: {k: v.as_dict() for k, v in summarize(s).items()} for step, s in cpus.items()},
                }
            )
            save()  # after each configuration: a later failure keeps what was measured
    finally:
        plane.stop()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
