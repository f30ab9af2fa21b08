"""Benchmark 6: Kueue's real manager admitting 2,000 Jobs over 20 tenants on 1,000 simulated GPU nodes.

Each run starts a fresh local control plane (Kueue's manager included) in a temp
folder under bench/out/, creates the nodes of a local cluster of H100 SXM nodes
(the SimulatedNodes manifests), applies the platform's objects for 20 tenants of
equal power (`platform_manifest`: namespaces, quotas, flavors, cohorts,
ClusterQueues, LocalQueues) with `kubectl apply --server-side`, then submits the
Jobs as tenants would: single-pod Jobs of one whole node (8 GPUs) each, 100 per
tenant, interleaved, from a bounded thread pool. Pods run for an hour (KWOK's
pod-complete delay), so nothing finishes while it measures:

- the time from the first Job created until every Job that fits is admitted (the
  admitted count stops at the plan's GPUs / 8 and holds), and the admission rate;
- that exactly that many are admitted and the rest wait with Kueue's reason;
- the time until the admitted Jobs' pods run on the simulated nodes;
- Kueue's memory (VmRSS before, at the end, peak) and CPU.

With `--tas on`, the cluster's Kueue runs with Topology Aware Scheduling (the power-tree Topology,
flavors with `topologyName`, every Job placed by Kueue on a node): what TAS costs admission, against
the default (off).

    .venv/bin/python bench/admission.py [--runs N] [--nodes 1000] [--jobs 2000] [--tenants 20] [--tas on|off]
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
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from _common import OUT, Stats, print_machine, proc_cpu_s, proc_hwm_mib, proc_rss_mib, use_toolchain, write_result
from engine import kubectl_binary, render
from scale import WORKERS, MemorySampler, create_all, create_nodes, wait_ready

from aion_factory.local.simulated import pod_runtime

GPUS_PER_JOB = 8  # one whole H100-SXM-8 node: the unit a training job asks for
NODE_KW = 10.2  # H100-SXM-8-80G at its maximum, as the catalog has it
WATCHED = ("kueue", "kube-apiserver", "kube-scheduler", "kwok")
KUEUE = ("kueue.x-k8s.io", "v1beta2")
SETTLED_S = 10  # the admitted count must hold this long to count as final


def admission_values(nodes: int, tenants: int, tas: bool = False) -> dict[str, Any]:
    """A local cluster of `nodes` H100 SXM nodes (plus a system node) in one hall, and
    `tenants` tenants of equal power sharing all of it; `tas`: Kueue's Topology Aware Scheduling."""
    per_tenant_kw = round(nodes * NODE_KW / tenants, 1)
    budget_kw = round(nodes * NODE_KW + 1, 1)  # the GPU nodes, plus room for the system node
    return {
        "site": {"name": "admission", "facility_power_mw": round(budget_kw * 1.2 / 1000, 3), "pue": 1.2,
                 "halls": [{"name": "hall-a", "it_power_kw": budget_kw}]},
        "clusters": [{
            "name": "local", "target": "local", "hall": "hall-a",
            "system_pool": {"node_type": "POP2-4C-16G", "size": 1},
            "kueue": {"topology_aware_scheduling": tas},
            "pools": [{"name": "h100", "node_type": "H100-SXM-8-80G", "size": nodes}],
        }],
        "tenants": [{"name": f"tenant-{i:02d}", "power_kw": per_tenant_kw, "clusters": ["local"]} for i in range(tenants)],
    }  # fmt: skip


def job(name: str) -> dict[str, Any]:
    """A single-pod Job of one whole node, sent to the tenant's `default` LocalQueue; it runs an hour."""
    resources = {"nvidia.com/gpu": str(GPUS_PER_JOB), "cpu": "1", "memory": "1Gi"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"kueue.x-k8s.io/queue-name": "default"}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": pod_runtime("1h")},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "train", "image": "registry.invalid/train:1",
                        "resources": {"requests": resources, "limits": resources},
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    }],
                },
            },
        },
    }  # fmt: skip


def apply_platform(kubectl: str, kubeconfig: Path, objects: list[dict[str, Any]], folder: Path) -> None:
    manifest = folder / "platform.yaml"
    manifest.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    done = subprocess.run([kubectl, f"--kubeconfig={kubeconfig}", "apply", "--server-side", "-f", str(manifest)],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"kubectl apply exited {done.returncode}: {done.stderr[-2000:]}")


def wait_queues_active(custom: Any, count: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        queues = custom.list_cluster_custom_object(*KUEUE, "clusterqueues")["items"]
        active = [q for q in queues if _condition(q, "Active") == "True"]
        if len(active) >= count:
            return
        time.sleep(0.5)
    raise TimeoutError(f"not all {count} ClusterQueues became active")


def _condition(obj: dict[str, Any], kind: str) -> str | None:
    return next((c["status"] for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), None)


def submit(batch: Any, tenants: list[str], per_tenant: int, deadline: float) -> int:
    """Every tenant's Jobs, interleaved (tenant 0's first, tenant 1's first, ...), from a bounded pool."""
    order = [(tenant, f"train-{i:04d}") for i in range(per_tenant) for tenant in tenants]
    return create_all(lambda item: batch.create_namespaced_job(item[0], job(item[1]), _preload_content=False), order, deadline)


def workload_states(custom: Any) -> tuple[int, int, Counter[str]]:
    """(workloads, admitted, reasons of the pending ones) across every namespace."""
    response = custom.list_cluster_custom_object(*KUEUE, "workloads", _preload_content=False)
    items = json.loads(response.data)["items"]
    admitted = sum(_condition(w, "Admitted") == "True" for w in items)
    reasons: Counter[str] = Counter()
    for workload in items:
        if _condition(workload, "Admitted") != "True":
            conditions = workload.get("status", {}).get("conditions", [])
            message = next((c.get("message", "") for c in conditions if c["type"] == "QuotaReserved"), "")
            reasons[message.split(",")[0][:120] or "(no reason yet)"] += 1
    return len(items), admitted, reasons


def wait_admitted(custom: Any, jobs: int, expected: int, start: float, deadline: float) -> tuple[float, int, Counter[str]]:
    """Poll every second until every Job has a workload and the admitted count reaches `expected`
    and holds SETTLED_S; returns (seconds from `start` to the last admission seen, admitted, reasons)."""
    last_change, last_admitted, reasons = time.monotonic(), -1, Counter[str]()
    while time.monotonic() < deadline:
        total, admitted, reasons = workload_states(custom)
        now = time.monotonic()
        if admitted != last_admitted:
            last_change, last_admitted = now, admitted
        if total >= jobs and admitted >= expected and now - last_change >= SETTLED_S:
            return last_change - start, admitted, reasons
        time.sleep(1.0)
    raise TimeoutError(f"admitted {last_admitted} of the {expected} Jobs that fit before the deadline")


def wait_running(core: Any, expected: int, start: float, deadline: float) -> float:
    while time.monotonic() < deadline:
        response = core.list_pod_for_all_namespaces(field_selector="status.phase=Running", resource_version="0", _preload_content=False)
        if len(json.loads(response.data)["items"]) >= expected:
            return time.monotonic() - start
        time.sleep(1.0)
    pods = core.list_pod_for_all_namespaces(label_selector="batch.kubernetes.io/job-name").items
    phases = Counter(p.status.phase for p in pods)
    waiting = next((p for p in pods if p.status.phase != "Running"), None)
    why = waiting.status.conditions if waiting else None
    raise TimeoutError(f"fewer than {expected} pods Running before the deadline: {dict(phases)}; one waiting: {why}")


def control_plane(work: Path, kueue_defaults: bool) -> Any:
    """The benchmark's control plane; with `kueue_defaults`, Kueue without the chart's throughput
    settings the library gives it (its built-in 20 requests/s, burst 30): the baseline."""
    from _plane import BenchControlPlane

    from aion_factory.platform.kueue_config import THROUGHPUT

    class KueueDefaults(BenchControlPlane):
        def _flags(self, program: str, pki: Any, ports: dict[str, int]) -> list[str]:
            if program == "kueue":
                written = self.root / "kueue-config.yaml"
                config = {k: v for k, v in yaml.safe_load(written.read_text()).items() if k not in THROUGHPUT}
                written.write_text(yaml.safe_dump(config, sort_keys=False))
            return super()._flags(program, pki, ports)

    return (KueueDefaults if kueue_defaults else BenchControlPlane)(work)


def one_run(nodes: int, jobs: int, tenants: int, work: Path, kueue_defaults: bool = False, tas: bool = False) -> dict[str, Any]:
    from kubernetes import client, config

    from aion_factory import make_plan, spec_from_config
    from aion_factory.local.simulated import node_groups, node_manifest
    from aion_factory.view import cluster_view

    values = admission_values(nodes, tenants, tas)
    spec = spec_from_config(values)
    plan = make_plan(spec)
    if plan.violations:
        raise ValueError(f"admission spec does not fit: {plan.violations}")
    view = cluster_view(spec, plan, "local")
    nominal = sum(q.nominal for t in view.tenants for q in t.gpu_quotas)
    # A Job is one node: the quotas admit whole Jobs up to the nominal GPUs of the whole cohort.
    expected = min(nominal // GPUS_PER_JOB, jobs)
    manifests = [node_manifest(g, name) for g in node_groups(view) for name in g.node_names()]
    kubectl, _ = kubectl_binary()
    plane = control_plane(work, kueue_defaults)
    result: dict[str, Any] = {"nominal_gpus": nominal, "expected_admitted": expected}
    try:
        plane.start()
        pids = {name: plane.state()["pids"][name] for name in WATCHED}
        api = config.new_client_from_config(config_file=str(plane.kubeconfig))
        api.configuration.connection_pool_maxsize = WORKERS
        api.rest_client = client.rest.RESTClientObject(api.configuration)  # rebuild the pool at that size
        core, batch, custom = client.CoreV1Api(api), client.BatchV1Api(api), client.CustomObjectsApi(api)
        setup_deadline = time.monotonic() + 120 + len(manifests) * 0.5
        create_nodes(core, manifests, setup_deadline)
        wait_ready(core, len(manifests), setup_deadline)
        apply_platform(kubectl, plane.kubeconfig, render(values), work)
        wait_queues_active(custom, tenants, setup_deadline)
        time.sleep(5)  # let the queues' first reconciles pass before the baseline
        kueue_before = proc_rss_mib(pids["kueue"]) or 0.0
        cpu_before = {name: proc_cpu_s(pid) or 0.0 for name, pid in pids.items()}
        deadline = time.monotonic() + 300 + jobs * 0.5  # generous, but bounded
        with MemorySampler(pids) as memory:
            start = time.monotonic()
            created = submit(batch, [t.name for t in view.tenants], jobs // tenants, deadline)
            created_s = time.monotonic() - start
            admitted_s, admitted, reasons = wait_admitted(custom, created, expected, start, deadline)
            running_s = wait_running(core, admitted, start, deadline)
        result |= {
            "jobs": created,
            "create_s": created_s,
            "admitted": admitted,
            "all_fitting_admitted_s": admitted_s,
            "admitted_per_s": admitted / admitted_s,
            "all_running_s": running_s,
            "pending": created - admitted,
            "pending_reasons": dict(reasons.most_common(3)),
            "kueue_rss_before_mib": kueue_before,
            "kueue_rss_end_mib": memory.last["kueue"],
            "kueue_rss_peak_mib": max(memory.peak["kueue"], proc_hwm_mib(pids["kueue"]) or 0.0),
            "cpu_s": {name: (proc_cpu_s(pid) or 0.0) - cpu_before[name] for name, pid in pids.items()},
        }
    finally:
        plane.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3; each starts a control plane)")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--kueue-defaults", action="store_true", help="baseline: Kueue's own client rate (20/s), not the chart's (50/s)")
    parser.add_argument("--tas", choices=("on", "off"), default="off", help="Kueue's Topology Aware Scheduling (default off)")
    args = parser.parse_args()
    use_toolchain()
    info = print_machine()
    print(f"{args.runs} run(s), each on a fresh control plane: {args.nodes} GPU nodes, {args.jobs} Jobs of {GPUS_PER_JOB} GPUs "
          f"over {args.tenants} tenants; TAS {args.tas}; {WORKERS} concurrent creates; figures: median [min..max, IQR, n]\n")  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    samples = []
    for run in range(args.runs):
        work = Path(tempfile.mkdtemp(prefix="admission-", dir=OUT))
        try:
            sample = one_run(args.nodes, args.jobs, args.tenants, work, args.kueue_defaults, args.tas == "on")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        samples.append(sample)
        print(
            f"  run {run + 1}/{args.runs}: {sample['jobs']} Jobs created in {sample['create_s']:.1f} s; "
            f"{sample['admitted']} of {sample['expected_admitted']} that fit admitted at {sample['all_fitting_admitted_s']:.1f} s; "
            f"running at {sample['all_running_s']:.1f} s; Kueue RSS {sample['kueue_rss_end_mib']:.0f} MiB",
            flush=True,
        )
    keys = (("create_s", "s"), ("all_fitting_admitted_s", "s"), ("admitted_per_s", "/s"), ("all_running_s", "s"),
            ("kueue_rss_before_mib", "MiB"), ("kueue_rss_end_mib", "MiB"), ("kueue_rss_peak_mib", "MiB"))  # fmt: skip
    stats = {key: Stats.of([s[key] for s in samples]) for key in dict(keys)}
    stats |= {f"cpu_s {name}": Stats.of([s["cpu_s"][name] for s in samples]) for name in WATCHED}
    print(f"\n== {args.jobs} Jobs over {args.tenants} tenants on {args.nodes} simulated nodes, TAS {args.tas}")
    for key, unit in (*keys, *((f"cpu_s {name}", "s") for name in WATCHED)):
        print(f"  {key:<28} {stats[key].fmt(unit, 1)}")
    exact = all(s["admitted"] == s["expected_admitted"] for s in samples)
    print(f"  admitted exactly the Jobs that fit ({samples[0]['expected_admitted']}) in every run: {exact}")
    print(f"  {samples[0]['pending']} waiting; their reasons: {samples[0]['pending_reasons']}")
    result = {"machine": info, "load_avg_1m_at_end": os.getloadavg()[0], "args": vars(args),
              "stats": {k: v.as_dict() for k, v in stats.items()}, "runs": samples}  # fmt: skip
    name = "admission-kueue-defaults" if args.kueue_defaults else "admission"
    write_result(name if args.tas == "off" else f"{name}-tas", result)
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
