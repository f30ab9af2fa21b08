"""Benchmark 9: a Kueue flavor per row against one TAS flavor over two rows, by the kW each row's admitted work draws.

examples/two-rows.yaml, the cluster of tests/engine/test_topology.py: H100 SXM nodes (8 GPUs, 10.2 kW) in two rows of
one hall, row-1 with 4 nodes under a 20.4 kW budget (oversubscribed twice), row-2 with 2 under
20.4 kW, one tenant of 30.6 kW. Two layouts, each on a fresh local control plane with Kueue's
manager and TAS:

- `per-row` (what the platform builds): a flavor per row, each with the tenant's quota there
  (16 GPUs in row-1, 8 in row-2);
- `one-flavor`: the same objects with the two flavors merged into one over both rows
  (24 GPUs of quota), the way a flavor per GPU model with TAS levels would be.

Then the same work: a Job of 3 whole nodes that requires one row
(`kueue.x-k8s.io/podset-required-topology: aion-factory.io/row`), then 4 Jobs of one whole node.
It reports what Kueue admitted and where the pods run: GPUs and kW per row against the budget.

    .venv/bin/python bench/row_budgets.py
"""

from __future__ import annotations

import copy
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import OUT, print_machine, use_toolchain, write_result
from admission import apply_platform, job, wait_queues_active, workload_states
from engine import kubectl_binary, render
from scale import create_nodes, wait_ready

NODE_KW, GPUS = 10.2, 8
BUDGET_KW = {"row-1": 20.4, "row-2": 20.4}
CLUSTER, TENANT = "tp", "tp-train"


def values() -> dict[str, Any]:
    """examples/two-rows.yaml's `aion:` values, as the engine test deploys them."""
    from aion_factory.site import read_yaml, stack_values

    path = Path(__file__).resolve().parent.parent / "examples/two-rows.yaml"
    return stack_values(read_yaml(path, "stack file"), path)


SETTLED_S = 10


def one_flavor(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The platform's objects with the per-row H100 flavors merged into one `h100-sxm` over both rows."""
    from aion_factory.labels import FLAVOR, GPU_RESOURCE

    merged: list[dict[str, Any]] = []
    for obj in copy.deepcopy(objects):
        name = obj["metadata"]["name"]
        if obj["kind"] == "ResourceFlavor" and name.startswith("h100-sxm."):
            if name.endswith("row-1"):
                obj["metadata"]["name"] = "h100-sxm"
                obj["spec"]["nodeLabels"] = {FLAVOR: "h100-sxm"}
                merged.append(obj)
            continue
        if obj["kind"] == "ClusterQueue":
            for group in obj["spec"]["resourceGroups"]:
                rows = [f for f in group["flavors"] if f["name"].startswith("h100-sxm.")]
                if rows:
                    gpus = sum(int(next(r for r in f["resources"] if r["name"] == GPU_RESOURCE)["nominalQuota"]) for f in rows)
                    first = rows[0]
                    first["name"] = "h100-sxm"
                    for resource in first["resources"]:
                        if resource["name"] == GPU_RESOURCE:
                            resource.update(nominalQuota=str(gpus), borrowingLimit="0")
                    group["flavors"] = [f for f in group["flavors"] if f not in rows[1:]]
        merged.append(obj)
    return merged


def whole_nodes(name: str, pods: int, topology: str | None = None) -> dict[str, Any]:
    body = job(name)
    body["spec"].update(parallelism=pods, completions=pods)
    if topology:
        body["spec"]["template"]["metadata"]["annotations"]["kueue.x-k8s.io/podset-required-topology"] = topology
    return body


def one_run(layout: str, work: Path) -> dict[str, Any]:
    from _plane import BenchControlPlane
    from kubernetes import client, config

    from aion_factory import labels, make_plan, spec_from_config
    from aion_factory.local.simulated import node_groups, node_manifest
    from aion_factory.view import cluster_view

    spec = spec_from_config(values())
    view = cluster_view(spec, make_plan(spec), CLUSTER)
    manifests = [node_manifest(g, name) for g in node_groups(view) for name in g.node_names()]
    objects = render(values(), CLUSTER)
    if layout == "one-flavor":
        objects = one_flavor(objects)
    kubectl, _ = kubectl_binary()
    plane = BenchControlPlane(work)
    try:
        plane.start()
        api = config.new_client_from_config(config_file=str(plane.kubeconfig))
        core, batch, custom = client.CoreV1Api(api), client.BatchV1Api(api), client.CustomObjectsApi(api)
        deadline = time.monotonic() + 300
        create_nodes(core, manifests, deadline)
        wait_ready(core, len(manifests), deadline)
        apply_platform(kubectl, plane.kubeconfig, objects, work)
        wait_queues_active(custom, 1, deadline)
        batch.create_namespaced_job(TENANT, whole_nodes("row-job", 3, labels.ROW))
        for i in range(4):
            batch.create_namespaced_job(TENANT, whole_nodes(f"node-{i}", 1))
        last, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:  # the admitted count settles
            total, admitted, _ = workload_states(custom)
            if admitted != last:
                last, last_change = admitted, time.monotonic()
            if total == 5 and time.monotonic() - last_change >= SETTLED_S:
                break
            time.sleep(1.0)
        admitted_jobs = sorted(
            w["metadata"]["ownerReferences"][0]["name"]
            for w in custom.list_namespaced_custom_object("kueue.x-k8s.io", "v1beta2", TENANT, "workloads")["items"]
            if any(c["type"] == "Admitted" and c["status"] == "True" for c in w.get("status", {}).get("conditions", []))
        )
        pods_expected = sum(3 if j == "row-job" else 1 for j in admitted_jobs)
        gpus_by_row: dict[str, int] = {}
        while time.monotonic() < deadline:
            running = [p for p in core.list_namespaced_pod(TENANT).items if p.status.phase == "Running"]
            if len(running) >= pods_expected:
                break
            time.sleep(1.0)
        rows = {n.metadata.name: n.metadata.labels.get(labels.ROW, "") for n in core.list_node().items}
        row_job_rows = sorted(
            {rows[p.spec.node_name] for p in running if p.metadata.labels.get("batch.kubernetes.io/job-name") == "row-job"}
        )
        for pod in running:
            gpus_by_row[rows[pod.spec.node_name]] = gpus_by_row.get(rows[pod.spec.node_name], 0) + GPUS
    finally:
        plane.stop()
    return {"layout": layout, "admitted_jobs": admitted_jobs, "row_job_rows": row_job_rows, "gpus_by_row": gpus_by_row,
            "kw_by_row": {row: gpus * NODE_KW / GPUS for row, gpus in gpus_by_row.items()}}  # fmt: skip


def main() -> int:
    use_toolchain()
    info = print_machine()
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for layout in ("per-row", "one-flavor"):
        work = Path(tempfile.mkdtemp(prefix="row-budgets-", dir=OUT))
        try:
            results.append(one_run(layout, work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print("\n| layout | Jobs admitted | the 3-node row Job runs in | row-1 kW (budget 20.4) | row-2 kW (budget 20.4) |")
    print("|---|---|---|---|---|")
    for r in results:
        kw = r["kw_by_row"]
        print(f"| {r['layout']} | {', '.join(r['admitted_jobs']) or 'none'} | {', '.join(r['row_job_rows']) or 'waits'} "
              f"| {kw.get('row-1', 0.0):.1f} | {kw.get('row-2', 0.0):.1f} |")  # fmt: skip
    write_result("row-budgets", {"machine": info, "runs": results})
    within = all(kw <= BUDGET_KW[row] + 1e-9 for row, kw in results[0]["kw_by_row"].items())  # per-row: each row within its budget
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
