"""Benchmark 4: 500, 2,000 and 5,000 simulated GPU nodes in one local control plane.

Each run starts a fresh control plane in a temp folder under bench/out/ (one at a
time, stopped on the way out), creates the nodes of a local cluster planned for
that many nodes, with the same manifests as the SimulatedNodes resource
(`local.simulated.node_manifest`), through the `kubernetes` client from a
bounded thread pool; then times until KWOK has made them all Ready, and reads
the API server's and etcd's memory (VmRSS; VmHWM is the peak). Then a tenant
namespace with the planner's GPU quota (the platform's own tenancy builders)
must admit a pod at the quota and refuse one more GPU with the quota's message.

Every loop is bounded in count and time; everything listens on 127.0.0.1.

    .venv/bin/python bench/scale.py [--runs N] [--quick] [--nodes 500 2000 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import OUT, Stats, print_machine, proc_cpu_s, proc_hwm_mib, proc_rss_mib, ratio, use_toolchain, write_result

SCALES = (500, 2_000, 5_000)
WORKERS = 16  # concurrent creates: enough to keep a 2-core API server busy, few enough to stay polite
SIMULATED_SELECTOR = "aion-factory.io/simulated=true"
TENANT = "mistral-lab"  # borrowing_limit 0: its namespace cap is exactly its nominal quota
WATCHED = ("kube-apiserver", "etcd", "kwok", "kube-controller-manager")


def scale_values(nodes: int) -> dict[str, Any]:
    """A local cluster of `nodes` nodes at rated size: 1 system node, 80% H100 SXM, the rest L40S."""
    h100 = round(0.8 * (nodes - 1))
    l40s = nodes - 1 - h100
    it_kw = h100 * 10.2 + l40s * 3.3 + 1  # what the pools draw, plus room for the system node
    budget_kw = round(it_kw * 1.2, 1)
    return {
        "site": {"name": "scale", "facility_power_mw": round(budget_kw * 1.25 / 1000, 3), "pue": 1.25,
                 "halls": [{"name": "hall-a", "it_power_kw": budget_kw}]},
        "clusters": [{
            "name": "local", "target": "local", "hall": "hall-a",
            "system_pool": {"node_type": "POP2-4C-16G", "size": 1},
            "pools": [{"name": "h100", "node_type": "H100-SXM-8-80G", "size": h100},
                      {"name": "l40s", "node_type": "L40S-8-48G", "size": l40s}],
        }],
        "tenants": [
            {"name": "kyutai", "power_kw": round(0.5 * it_kw, 1), "clusters": ["local"]},
            {"name": TENANT, "power_kw": round(0.2 * it_kw, 1), "clusters": ["local"], "borrowing_limit": 0.0},
        ],
    }  # fmt: skip


class MemorySampler:
    """Peak and last VmRSS of the control plane's processes, sampled twice a second."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids, self.peak, self.last = pids, dict.fromkeys(pids, 0.0), dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                rss = proc_rss_mib(pid) or 0.0
                self.last[name], self.peak[name] = rss, max(self.peak[name], rss)
            self._stop.wait(0.5)


def create_all(create: Callable[[Any], object], items: Sequence[Any], deadline: float) -> int:
    """Create every item from a bounded pool; a throttled or failed create is retried at most 5
    times, and one already there (from a retried request) counts as created."""
    from kubernetes.client.rest import ApiException

    def create_one(item: Any) -> int:
        for attempt in range(5):
            if time.monotonic() > deadline:
                raise TimeoutError("creation ran over its deadline")
            try:
                create(item)
                return 1
            except ApiException as error:
                if error.status == 409:
                    return 1
                if error.status not in (429, 500, 503, 504) or attempt == 4:
                    raise
                time.sleep(0.2 * 2**attempt)
        return 0

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return sum(pool.map(create_one, items))


def create_nodes(core: Any, manifests: list[dict[str, Any]], deadline: float) -> int:
    # No model decoding: only the 201 matters.
    return create_all(lambda manifest: core.create_node(manifest, _preload_content=False), manifests, deadline)


def ready_count(core: Any) -> tuple[int, int]:
    """(nodes, Ready nodes) among the simulated ones, from the API server's watch cache."""
    response = core.list_node(label_selector=SIMULATED_SELECTOR, resource_version="0", _preload_content=False)
    items = json.loads(response.data)["items"]
    ready = sum(
        any(c.get("type") == "Ready" and c.get("status") == "True" for c in (n.get("status") or {}).get("conditions") or []) for n in items
    )
    return len(items), ready


def wait_ready(core: Any, expected: int, deadline: float) -> float:
    """Poll until all are Ready: every second, every 2 s at 5,000 nodes (a full list is itself load)."""
    interval_s = max(1.0, expected / 2500)
    while time.monotonic() < deadline:
        total, ready = ready_count(core)
        if total >= expected and ready >= expected:
            return time.monotonic()
        time.sleep(interval_s)
    raise TimeoutError(f"not all {expected} nodes Ready in time")


def gpu_pod(name: str, gpus: int) -> dict[str, Any]:
    """The engine test's pod: restricted Pod Security, GPUs requested and limited."""
    resources = {"nvidia.com/gpu": str(gpus), "cpu": "1", "memory": "1Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [{
                "name": "train", "image": "registry.invalid/train:1",
                "resources": {"requests": resources, "limits": resources},
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }],
        },
    }  # fmt: skip


def quota_check(core: Any, spec: Any, plan: Any, deadline: float) -> dict[str, Any]:
    """The tenant's namespace, quota and defaults from the platform's builders; then a pod at the quota
    and one GPU more."""
    from kubernetes.client.rest import ApiException

    from aion_factory.platform import tenancy
    from aion_factory.view import cluster_view

    tenant = next(t for t in cluster_view(spec, plan, "local").tenants if t.name == TENANT)
    ceiling = tenant.gpu_ceiling
    for obj in tenancy.tenant_objects(tenant):
        if obj["kind"] == "Namespace":
            core.create_namespace(obj)
        elif obj["kind"] == "ResourceQuota":
            core.create_namespaced_resource_quota(TENANT, obj)
        elif obj["kind"] == "LimitRange":
            core.create_namespaced_limit_range(TENANT, obj)
    # Admission needs the quota's status (quota controller) and the default ServiceAccount (its controller).
    while time.monotonic() < deadline:
        quota = core.read_namespaced_resource_quota(tenancy.QUOTA, TENANT)
        accounts = [a.metadata.name for a in core.list_namespaced_service_account(TENANT).items]
        if quota.status and quota.status.hard and "default" in accounts:
            break
        time.sleep(0.5)
    else:
        raise TimeoutError("the tenant quota's status never appeared")
    start = time.perf_counter()
    core.create_namespaced_pod(TENANT, gpu_pod("at-quota", ceiling))
    admitted_ms = 1000 * (time.perf_counter() - start)
    refused, message = False, ""
    start = time.perf_counter()
    try:
        core.create_namespaced_pod(TENANT, gpu_pod("one-more", 1))
    except ApiException as error:
        refused = error.status == 403 and "exceeded quota" in error.body and "requests.nvidia.com/gpu" in error.body
        message = json.loads(error.body).get("message", error.body)
    refused_ms = 1000 * (time.perf_counter() - start)
    core.delete_namespaced_pod("at-quota", TENANT, grace_period_seconds=0)
    return {"gpu_quota": ceiling, "admitted": True, "admitted_ms": admitted_ms, "refused": refused, "refused_ms": refused_ms,
            "message": message}  # fmt: skip


def one_run(nodes: int, work: Path) -> dict[str, Any]:
    from _plane import BenchControlPlane
    from kubernetes import client, config

    from aion_factory import make_plan, spec_from_config
    from aion_factory.local.simulated import node_groups, node_manifest
    from aion_factory.view import cluster_view

    spec = spec_from_config(scale_values(nodes))
    plan = make_plan(spec)
    if plan.violations:
        raise ValueError(f"scale spec does not fit: {plan.violations}")
    manifests = [node_manifest(g, name) for g in node_groups(cluster_view(spec, plan, "local")) for name in g.node_names()]
    assert len(manifests) == nodes, (len(manifests), nodes)
    plane = BenchControlPlane(work)
    result: dict[str, Any] = {}
    try:
        started = time.monotonic()
        plane.start()
        result["control_plane_start_s"] = time.monotonic() - started
        pids = {name: plane.state()["pids"][name] for name in WATCHED}
        api = config.new_client_from_config(config_file=str(plane.kubeconfig))
        api.configuration.connection_pool_maxsize = WORKERS
        api.rest_client = client.rest.RESTClientObject(api.configuration)  # rebuild the pool at that size
        core = client.CoreV1Api(api)
        time.sleep(5)  # let the fresh control plane settle before the baseline
        baseline = {name: proc_rss_mib(pid) or 0.0 for name, pid in pids.items()}
        cpu_before = {name: proc_cpu_s(pid) or 0.0 for name, pid in pids.items()}
        deadline = time.monotonic() + 60 + nodes * 0.5  # generous, but bounded
        with MemorySampler(pids) as memory:
            start, client_cpu = time.monotonic(), time.process_time()
            created = create_nodes(core, manifests, deadline)
            created_at, client_cpu = time.monotonic(), time.process_time() - client_cpu
            ready_at = wait_ready(core, nodes, deadline)
            time.sleep(15)  # steady state: KWOK's heartbeats keep going
        result |= {
            "nodes": created,
            "create_s": created_at - start,
            "create_per_s": created / (created_at - start),
            "client_cpu_s": client_cpu,  # this process's CPU while creating: is the client the bound?
            "all_ready_s": ready_at - start,
            "rss_baseline_mib": baseline,
            "rss_steady_mib": dict(memory.last),
            "rss_peak_mib": {name: max(memory.peak[name], proc_hwm_mib(pid) or 0.0) for name, pid in pids.items()},
            "cpu_s": {name: (proc_cpu_s(pid) or 0.0) - cpu_before[name] for name, pid in pids.items()},
            # The bbolt file (what etcd holds), not its preallocated WAL segments.
            "etcd_db_mib": (work / "etcd/member/snap/db").stat().st_size / 2**20,
        }
        result["quota"] = quota_check(core, spec, plan, time.monotonic() + 120)
    finally:
        plane.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per scale (default 5; each starts a control plane)")
    parser.add_argument("--quick", action="store_true", help="1 run of 500 nodes")
    parser.add_argument("--nodes", type=int, nargs="+", default=list(SCALES))
    args = parser.parse_args()
    use_toolchain()
    runs, scales = (1, args.nodes[:1]) if args.quick else (args.runs, args.nodes)
    info = print_machine()
    print(f"{runs} run(s) per scale, each on a fresh control plane; {WORKERS} concurrent creates; figures: median [min..max, IQR, n]\n")
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    baseline: dict[str, float] | None = None
    for nodes in scales:
        samples = []
        for run in range(runs):
            work = Path(tempfile.mkdtemp(prefix=f"scale-{nodes}-", dir=OUT))
            try:
                sample = one_run(nodes, work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            samples.append(sample)
            quota = sample["quota"]
            print(
                f"  {nodes} nodes, run {run + 1}/{runs}: created in {sample['create_s']:.1f} s, "
                f"all Ready at {sample['all_ready_s']:.1f} s; "
                f"apiserver RSS {sample['rss_steady_mib']['kube-apiserver']:.0f} MiB; quota {quota['gpu_quota']} GPUs: "
                f"admitted={quota['admitted']} refused={quota['refused']}",
                flush=True,
            )
        stat = {
            "create_s": Stats.of([s["create_s"] for s in samples]),
            "create_per_s": Stats.of([s["create_per_s"] for s in samples]),
            "client_cpu_s": Stats.of([s["client_cpu_s"] for s in samples]),
            "all_ready_s": Stats.of([s["all_ready_s"] for s in samples]),
            "per_node_ms": Stats.of([1000 * s["all_ready_s"] / nodes for s in samples]),
            "etcd_db_mib": Stats.of([s["etcd_db_mib"] for s in samples]),
        }
        for kind in ("rss_baseline_mib", "rss_steady_mib", "rss_peak_mib", "cpu_s"):
            for name in WATCHED:
                stat[f"{kind} {name}"] = Stats.of([s[kind][name] for s in samples])
        medians = {k: v.median for k, v in stat.items()}
        baseline = baseline or {**medians, "nodes": nodes}
        print(f"== {nodes} simulated nodes ({nodes / baseline['nodes']:.0f}x the first scale)")
        rows = (("create_s", "s"), ("create_per_s", "/s"), ("client_cpu_s", "s"), ("all_ready_s", "s"),
                ("per_node_ms", "ms"), ("etcd_db_mib", "MiB"))  # fmt: skip
        for key, unit in rows:
            print(f"  {key:<36} {stat[key].fmt(unit, 2):<52} {ratio(medians[key], baseline[key])}")
        for kind, unit in (("rss_baseline_mib", "MiB"), ("rss_steady_mib", "MiB"), ("rss_peak_mib", "MiB"), ("cpu_s", "s")):
            for name in WATCHED:
                key = f"{kind} {name}"
                print(f"  {key:<36} {stat[key].fmt(unit, 1):<52} {ratio(medians[key], baseline[key])}")
        quotas = [s["quota"] for s in samples]
        ok = all(q["admitted"] and q["refused"] for q in quotas)
        print(f"  quota: {quotas[0]['gpu_quota']} GPUs; at quota admitted, one more refused in every run: {ok}")
        print(f"    admitted in {Stats.of([q['admitted_ms'] for q in quotas]).fmt('ms', 1)}; "
              f"refused in {Stats.of([q['refused_ms'] for q in quotas]).fmt('ms', 1)}")  # fmt: skip
        print(f"    refusal: {quotas[0]['message']}\n")
        results.append({"nodes": nodes, "stats": {k: v.as_dict() for k, v in stat.items()}, "runs": samples})
    write_result("scale", {"machine": info, "load_avg_1m_at_end": os.getloadavg()[0], "runs": runs, "workers": WORKERS, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
