"""Rung 3: power enforced at admission. A row rated 1.2 times its budget (allowed by its
oversubscription) admits work up to its budget and queues the rest while GPUs are still free:
the tenants' quotas, which are all Kueue admits, hold no more than the budget's worth of GPUs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from test_kueue_admission import FLAVOR, Tenant, job, wait_for

from aion_factory import labels, load_catalog, make_plan, spec_from_config
from engine_support import PulumiProject, deployed

ROW_BUDGET_KW = 26.0
ROW = {"name": "row-1", "it_power_kw": ROW_BUDGET_KW, "oversubscription": 1.2}
VALUES: dict[str, Any] = {
    "site": {"name": "pw", "facility_power_mw": 0.05, "pue": 1.25, "halls": [{"name": "hall-a", "it_power_kw": 40, "rows": [ROW]}]},
    "clusters": [
        {"name": "pw", "target": "local", "hall": "hall-a", "row": "row-1", "system_pool": {"size": 1},
         "pools": [{"name": "h100", "node_type": "H100-SXM-8-80G", "size": 3}]}
    ],
    # The whole row budget to one tenant: the most the planner lets anyone allot there.
    "tenants": [{"name": "pw-train", "power_kw": ROW_BUDGET_KW, "clusters": ["pw"]}],
}  # fmt: skip
PLAN = make_plan(spec_from_config(VALUES))


@pytest.fixture(scope="module")
def project(new_project: Any) -> Iterator[PulumiProject]:
    yield from deployed(new_project, "power", VALUES)


@pytest.fixture(scope="module")
def tenant(project: PulumiProject, api_client: Any) -> Tenant:
    return Tenant(api_client, "pw-train")


def test_an_oversubscribed_row_admits_up_to_its_budget_and_queues_the_rest_while_gpus_are_free(
    tenant: Tenant, project: PulumiProject, control_plane: Any, aion: Any
) -> None:
    [row] = [lv for lv in PLAN.levels if lv.kind == "row"]
    assert PLAN.fits and row.rated_kw > row.budget_kw * 1.17  # 30.6 kW of hardware under a 26 kW budget
    node = load_catalog().gpu_node_types["H100-SXM-8-80G"]
    per_gpu_kw = node.node_max_power_w / node.gpus / 1000
    admissible = PLAN.tenant("pw-train").quotas_by_cluster["pw"][FLAVOR]
    assert admissible == int(ROW_BUDGET_KW / per_gpu_kw) == 20  # of the 24 GPUs the row holds

    tenant.submit(*(job(f"train-{i:02d}") for i in range(24)))
    wait_for(lambda: len(tenant.admitted()) == admissible, what=f"{admissible} admitted")
    # Queued, each with Kueue's reason (a workload not looked at yet has none).
    pending = wait_for(lambda: (p := tenant.pending()) and len(p) == 24 - admissible and all(p.values()) and p, what="the rest queued")
    assert all("insufficient unused quota" in why for why in pending.values()), pending
    assert len(tenant.admitted()) * per_gpu_kw <= ROW_BUDGET_KW  # what runs draws within the budget

    # ... while the row's nodes still have GPUs no pod holds.
    core = client.CoreV1Api(tenant.batch.api_client)
    nodes = core.list_node(label_selector=f"{labels.CLUSTER}=pw,{labels.POOL}=h100").items
    capacity = sum(int(n.status.allocatable[labels.GPU_RESOURCE]) for n in nodes)
    running = wait_for(
        lambda: (pods := [p for p in core.list_namespaced_pod("pw-train").items if p.spec.node_name]) and len(pods) == admissible and pods,
        what="the admitted jobs' pods placed",
    )
    assert capacity - len(running) == 4

    # `aion queues` says the waiting work waits for power, in kW, while those GPUs stand idle.
    shown = aion("queues", str(project.stack_file), "--kubeconfig", str(control_plane.kubeconfig))
    assert shown.returncode == 0, shown.stderr
    assert f"work waits for power: {admissible * per_gpu_kw:.1f} kW admitted" in shown.stdout, shown.stdout
    assert "4 GPUs installed beyond the power stay idle" in shown.stdout
