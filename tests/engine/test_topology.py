"""Rung 3: the power tree as Kueue's topology. Kueue's real manager admits work by row.

examples/two-rows.yaml: one local cluster whose H100 SXM pool spans two rows of hall-a: row-1 holds 4 nodes
(40.8 kW rated) under a 20.4 kW budget (oversubscribed twice), row-2 holds 2 nodes under
20.4 kW. The H100 flavor is split per row, each with the tenant's quota there, and both
reference the power-tree Topology (hall, row, node). Figures by hand from the catalog:
an H100-SXM-8-80G node is 8 GPUs at 10.2 kW, 1.275 kW a GPU. The GPU pools rate 6 x 10.2 =
61.2 kW; the tenant's 30.6 kW spread by rated power put 20.4 kW in row-1 (its whole budget)
and 10.2 kW in row-2: floor(30.6 x 32 / 61.2) = 16 GPUs in row-1, floor(30.6 x 16 / 61.2) = 8
in row-2. The tests run in file order and share the jobs they leave running.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from test_kueue_admission import Tenant, job

from aion_factory import labels, make_plan, spec_from_config
from engine_support import PulumiProject, deployed, stack_values, wait_for
from support import ROOT

H100_GPUS, KW_PER_GPU = 8, 10.2 / 8
ROW_BUDGET_KW = {"row-1": 20.4, "row-2": 20.4}
VALUES = stack_values(ROOT / "examples/two-rows.yaml")
ROW_1, ROW_2 = "h100-sxm.hall-a.row-1", "h100-sxm.hall-a.row-2"
QUOTA = {ROW_1: 16, ROW_2: 8}


def whole_nodes(name: str, pods: int, topology: str | None = None) -> dict[str, Any]:
    """A Job of `pods` pods of a whole node each (8 GPUs); with `topology`, all of them required in one domain of that level."""
    body = job(name)
    template = body["spec"]["template"]
    body["spec"].update(parallelism=pods, completions=pods)
    template["spec"]["nodeSelector"] = {labels.GPU_MODEL: "H100-SXM"}  # any H100 node, whichever row
    for key in ("requests", "limits"):
        template["spec"]["containers"][0]["resources"][key][labels.GPU_RESOURCE] = str(H100_GPUS)
    if topology:
        template["metadata"]["annotations"]["kueue.x-k8s.io/podset-required-topology"] = topology
    return body


@pytest.fixture(scope="module")
def project(new_project: Any) -> Iterator[PulumiProject]:
    yield from deployed(new_project, "topology", VALUES)


@pytest.fixture(scope="module")
def tenant(project: PulumiProject, api_client: Any) -> Tenant:
    return Tenant(api_client, "tp-train")


def rows_of_running_pods(core: Any, job_name: str) -> list[str]:
    """The row label of the node of each of the Job's running pods."""
    pods = core.list_namespaced_pod("tp-train", label_selector=f"batch.kubernetes.io/job-name={job_name}").items
    return [core.read_node(p.spec.node_name).metadata.labels[labels.ROW] for p in pods if p.status.phase == "Running"]


def test_the_plan_gives_a_flavor_and_a_quota_per_row_and_each_row_within_its_budget() -> None:
    plan = make_plan(spec_from_config(VALUES))
    assert plan.fits
    assert {lv.path: lv.budget_kw for lv in plan.levels if lv.kind == "row"} == {f"tp/hall-a/{r}": kw for r, kw in ROW_BUDGET_KW.items()}
    assert plan.tenant("tp-train").quotas_by_cluster["tp"] == QUOTA
    assert QUOTA[ROW_1] * KW_PER_GPU == pytest.approx(ROW_BUDGET_KW["row-1"])  # row-1's quota is its whole budget


def test_kueue_holds_the_topology_and_a_flavor_per_row(tenant: Tenant) -> None:
    custom = tenant.custom
    topology = custom.get_cluster_custom_object("kueue.x-k8s.io", "v1beta2", "topologies", "power-tree")
    assert [level["nodeLabel"] for level in topology["spec"]["levels"]] == [labels.HALL, labels.ROW, labels.HOSTNAME]
    for flavor, row in ((ROW_1, "row-1"), (ROW_2, "row-2")):
        spec = custom.get_cluster_custom_object("kueue.x-k8s.io", "v1beta2", "resourceflavors", flavor)["spec"]
        assert spec["topologyName"] == "power-tree"
        assert spec["nodeLabels"] == {labels.FLAVOR: "h100-sxm", labels.POWER_LEVEL: "row", labels.ROW: row}


def test_a_job_that_requires_one_row_lands_in_one_row(tenant: Tenant) -> None:
    """Two whole nodes, required in one row: row-1's quota holds them both (its flavor comes first)."""
    core = client.CoreV1Api(tenant.batch.api_client)
    tenant.submit(whole_nodes("together", pods=2, topology=labels.ROW))
    rows = wait_for(lambda: (r := rows_of_running_pods(core, "together")) and len(r) == 2 and r, what="both pods running")
    assert rows == ["row-1", "row-1"]


def test_a_row_at_its_budget_admits_nothing_more_while_the_other_row_still_can(tenant: Tenant) -> None:
    """row-1 now runs 16 GPUs: 20.4 kW, its budget. Two more whole-node Jobs that may run in either row:
    one is admitted in row-2 (8 GPUs of quota there), the other waits, while row-1 has 2 idle nodes."""
    core = client.CoreV1Api(tenant.batch.api_client)
    tenant.submit(whole_nodes("more-0", pods=1), whole_nodes("more-1", pods=1))

    def more_admitted() -> list[str]:
        return [j for j in tenant.admitted() if j.startswith("more-")]

    admitted = wait_for(lambda: (a := more_admitted()) and a, what="one more admitted")
    wait_for(lambda: (p := tenant.pending()) and len(p) == 1 and all(p.values()), what="the other waiting with a reason")
    time.sleep(3)  # and no more than one, once Kueue has looked at both
    [placed], pending = more_admitted(), tenant.pending()
    assert admitted == [placed] and list(pending) == [{"more-0", "more-1"}.difference([placed]).pop()]
    [why] = pending.values()
    assert f"insufficient unused quota for {labels.GPU_RESOURCE} in flavor {ROW_1}" in why, why
    assert wait_for(lambda: rows_of_running_pods(core, placed), what="its pod running") == ["row-2"]

    # What runs draws within each row's budget, counted from the rows of the nodes the pods run on,
    # while row-1 still has GPUs no pod holds.
    running = [p for p in core.list_namespaced_pod("tp-train").items if p.status.phase == "Running"]
    gpus_by_row: dict[str, int] = {}
    for pod in running:
        row = core.read_node(pod.spec.node_name).metadata.labels[labels.ROW]
        gpus_by_row[row] = gpus_by_row.get(row, 0) + int(pod.spec.containers[0].resources.requests[labels.GPU_RESOURCE])
    assert gpus_by_row == {"row-1": 16, "row-2": 8}
    for row, gpus in gpus_by_row.items():
        assert gpus * KW_PER_GPU <= ROW_BUDGET_KW[row] + 1e-9
    row_1_nodes = core.list_node(label_selector=f"{labels.CLUSTER}=tp,{labels.ROW}=row-1").items
    assert sum(int(n.status.allocatable[labels.GPU_RESOURCE]) for n in row_1_nodes) - gpus_by_row["row-1"] == 16
