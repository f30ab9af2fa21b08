"""Benchmark 8: from a derate deployed to the admitted kW within the new budget, on Kueue's real manager.

Each run starts a fresh local control plane (Kueue's manager included), creates 200 simulated
H100 SXM nodes in one hall and the platform's objects for 4 tenants of equal power
(`platform_manifest`, applied with `kubectl apply --server-side`, as bench/admission.py does):
two serve inference, one trains, one runs batch. Each submits 50 Jobs of one whole node (8 GPUs):
200 Jobs, all admitted (the hall's budget, full). Then the hall is derated to half: the platform's
objects as the plan makes them with the derate in force (caps' ConfigMaps, lowered quotas, the
drained ClusterQueue) are applied the same way, and the clock runs from the start of that apply
until the admitted Jobs' kW (the GPUs Kueue's ClusterQueues count, evicted work whose pods are
not gone yet included, x the capped kW per GPU of the plan) is within the derated budget, and
until the evicted workloads' pods are gone.

    .venv/bin/python bench/derate.py [--runs 3] [--nodes 200] [--share 0.5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import OUT, Stats, print_machine, use_toolchain, write_result
from admission import (
    GPUS_PER_JOB,
    KUEUE,
    admission_values,
    apply_platform,
    control_plane,
    submit,
    wait_admitted,
    wait_queues_active,
    workload_states,
)
from engine import kubectl_binary
from scale import WORKERS, create_nodes, wait_ready

TENANTS = 4
PRIORITIES = (("inference", "training", "batch"), ("inference", "training", "batch"), ("training", "batch"), ("batch",))


def derate_values(nodes: int) -> dict[str, Any]:
    values = admission_values(nodes, TENANTS)
    for tenant, classes in zip(values["tenants"], PRIORITIES, strict=True):
        tenant["priority_classes"] = list(classes)
        tenant["borrowing_limit"] = 0  # each fills its own quota, no more: 200 Jobs, all admitted
    return values


def platform(values: dict[str, Any], derates: tuple[Any, ...]) -> tuple[Any, list[dict[str, Any]]]:
    from aion_factory import make_plan, spec_from_config
    from aion_factory.platform import StorageClassChoice, platform_manifest
    from aion_factory.view import cluster_view

    spec = spec_from_config(values)
    plan = make_plan(spec, derates=derates)
    objects = platform_manifest(cluster_view(spec, plan, "local"), StorageClassChoice.local()).objects()
    objects.sort(key=lambda o: o["kind"] != "Namespace")
    return plan, objects


def reserved_gpus(custom: Any) -> int:
    """The GPUs Kueue counts against every ClusterQueue: admitted work, and evicted work whose pods are not gone yet."""
    queues = custom.list_cluster_custom_object(*KUEUE, "clusterqueues")["items"]
    return sum(
        int(r.get("total", 0))
        for q in queues
        for f in (q.get("status") or {}).get("flavorsReservation") or []
        for r in f["resources"]
        if r["name"] == "nvidia.com/gpu"
    )


def pods_of_evicted_gone(core: Any, expected: int, start: float, deadline: float) -> float:
    """Seconds until no more than `expected` Job pods are left (the evicted ones deleted)."""
    while time.monotonic() < deadline:
        pods = core.list_pod_for_all_namespaces(label_selector="batch.kubernetes.io/job-name", resource_version="0").items
        if len([p for p in pods if p.metadata.deletion_timestamp is None]) <= expected:
            return time.monotonic() - start
        time.sleep(0.5)
    raise TimeoutError("the evicted workloads' pods were not deleted before the deadline")


def one_run(nodes: int, share: float, work: Path) -> dict[str, Any]:
    from kubernetes import client, config

    from aion_factory import spec_from_config
    from aion_factory.local.simulated import node_groups, node_manifest
    from aion_factory.planner import LevelDerate
    from aion_factory.view import cluster_view

    values = derate_values(nodes)
    plan, objects = platform(values, ())
    hall = next(lv for lv in plan.levels if lv.kind == "hall")
    derate = LevelDerate(hall.path, hall.budget_kw * share)
    derated, derated_objects = platform(values, (derate,))
    [steps] = derated.derate.levels
    kw_per_gpu = next(p for p in derated.pools if p.flavor).node_power_w / 8 / 1000
    view = cluster_view(spec_from_config(values), plan, "local")
    jobs = sum(q.nominal for t in view.tenants for q in t.gpu_quotas) // GPUS_PER_JOB
    kubectl, _ = kubectl_binary()
    manifests = [node_manifest(g, name) for g in node_groups(view) for name in g.node_names()]
    plane = control_plane(work, kueue_defaults=False)
    try:
        plane.start()
        api = config.new_client_from_config(config_file=str(plane.kubeconfig))
        api.configuration.connection_pool_maxsize = WORKERS
        api.rest_client = client.rest.RESTClientObject(api.configuration)
        core, batch, custom = client.CoreV1Api(api), client.BatchV1Api(api), client.CustomObjectsApi(api)
        deadline = time.monotonic() + 300 + len(manifests) + jobs
        create_nodes(core, manifests, deadline)
        wait_ready(core, len(manifests), deadline)
        apply_platform(kubectl, plane.kubeconfig, objects, work)
        wait_queues_active(custom, TENANTS, deadline)
        start = time.monotonic()
        created = submit(batch, [t.name for t in view.tenants], jobs // TENANTS, deadline)
        _, admitted, _ = wait_admitted(custom, created, jobs, start, deadline)

        start = time.monotonic()
        apply_platform(kubectl, plane.kubeconfig, derated_objects, work)
        applied_s = time.monotonic() - start
        while time.monotonic() < deadline:
            reserved = reserved_gpus(custom)
            admitted_kw = reserved * kw_per_gpu + steps.fixed_kw
            if admitted_kw <= derate.budget_kw:
                _, now_admitted, _ = workload_states(custom)
                within_s = time.monotonic() - start
                break
            time.sleep(0.2)
        else:
            raise TimeoutError("the admitted kW never came within the derated budget")
        gone_s = pods_of_evicted_gone(core, now_admitted, start, deadline)
    finally:
        plane.stop()
    return {
        "jobs_admitted_before": admitted,
        "jobs_admitted_after": now_admitted,
        "derated_kw": derate.budget_kw,
        "admitted_kw_after": admitted_kw,
        "steps": {"caps": len(steps.caps), "quotas": len(steps.quotas), "stops": [s.tenant for s in steps.stops]},
        "apply_s": applied_s,
        "within_budget_s": within_s,
        "evicted_pods_gone_s": gone_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3; each starts a control plane)")
    parser.add_argument("--nodes", type=int, default=200, help="simulated H100 SXM nodes: one Job each (default 200)")
    parser.add_argument("--share", type=float, default=0.5, help="the hall's budget while derated, as a share (default 0.5)")
    args = parser.parse_args()
    use_toolchain()
    info = print_machine()
    print(f"{args.runs} run(s): {args.nodes} Jobs of {GPUS_PER_JOB} GPUs over {TENANTS} tenants, the hall derated to {args.share:.0%}\n")
    samples = []
    for run in range(args.runs):
        work = Path(tempfile.mkdtemp(prefix="derate-", dir=OUT))
        try:
            sample = one_run(args.nodes, args.share, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        samples.append(sample)
        print(
            f"  run {run + 1}/{args.runs}: {sample['jobs_admitted_before']} Jobs admitted; derate applied in {sample['apply_s']:.1f} s, "
            f"{sample['admitted_kw_after']:,.1f} kW admitted <= {sample['derated_kw']:,.1f} kW at {sample['within_budget_s']:.1f} s "
            f"({sample['jobs_admitted_after']} Jobs left, stopped: {', '.join(sample['steps']['stops'])}); "
            f"evicted pods gone at {sample['evicted_pods_gone_s']:.1f} s",
            flush=True,
        )
    keys = (("apply_s", "s"), ("within_budget_s", "s"), ("evicted_pods_gone_s", "s"))
    stats = {key: Stats.of([s[key] for s in samples]) for key, _ in keys}
    print(f"\n== a derate of the hall to {args.share:.0%} with {args.nodes} admitted Jobs over {TENANTS} tenants")
    for key, unit in keys:
        print(f"  {key:<24} {stats[key].fmt(unit, 1)}")
    result = {"machine": info, "load_avg_1m_at_end": os.getloadavg()[0], "args": vars(args),
              "stats": {k: v.as_dict() for k, v in stats.items()}, "runs": samples}  # fmt: skip
    write_result("derate", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
