"""Rung 3: a derate deployed. Two tenants of different priority fill a row's budget with Jobs; the
row is derated to half with `aion site derate`, and `pulumi up`: the caps' ConfigMap says the plan's
cap, the lower-priority tenant's queue is drained (its work evicted, waiting), the admitted kW is
within the new budget; ending the event and deploying again admits the waiting work again.

Figures by hand, from the catalog: H100-SXM-8-80G draws 10,200 W for 8 GPUs (1.275 kW a GPU), an H100
SXM takes 200 W to 700 W; POP2-4C-16G draws 18.4 W. The row's 3 nodes (24 GPUs, 30.6 kW rated) sit
under a 26 kW budget (oversubscription 1.2). Each tenant is allotted 12.75 kW: floor(12.75 x 24 /
30.6) = 10 GPUs, and both fill them: 20 x 1.275 = 25.5 kW admitted.

Derated to 13 kW: 25.5 + 0.0184 = 25.5184 kW, 12.5184 kW over. 1. The pool serves both tenants
(inference at most): its cap goes to the H100's floor, 200 W, taking 500 W off each of the 20 GPUs
(-10 kW; 0.775 kW a GPU), 2.5184 kW still over. 2. dr-batch, the lower priority, draws 10 x 0.775
= 7.75 kW: it keeps 1 - 2.5184 / 7.75 of its quota, floor(6.75) = 6 GPUs. 3. Kueue keeps admitted
work when a quota drops, and the old quotas would draw 15.5184 kW: dr-batch's queue is drained.
What runs: dr-serve's 10 GPUs x 0.775 = 7.75 kW, within 13 kW.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from test_kueue_admission import KUEUE, Tenant, job

from aion_factory import make_plan, spec_from_config
from engine_support import PulumiProject, deployed, wait_for

ROW = {"name": "row-1", "it_power_kw": 26.0, "oversubscription": 1.2}
VALUES: dict[str, Any] = {
    "site": {"name": "dr", "facility_power_mw": 0.05, "pue": 1.25, "halls": [{"name": "hall-a", "it_power_kw": 40, "rows": [ROW]}]},
    "clusters": [
        {"name": "dr", "target": "local", "hall": "hall-a", "row": "row-1", "system_pool": {"size": 1},
         "pools": [{"name": "h100", "node_type": "H100-SXM-8-80G", "size": 3}]}
    ],
    "tenants": [
        {"name": "dr-serve", "power_kw": 12.75, "clusters": ["dr"], "borrowing_limit": 0,
         "priority_classes": ["inference", "training", "batch"]},
        {"name": "dr-batch", "power_kw": 12.75, "clusters": ["dr"], "borrowing_limit": 0, "priority_classes": ["batch"]},
    ],
}  # fmt: skip
GPUS_EACH = 10
KW_PER_GPU, CAPPED_KW_PER_GPU = 1.275, 1.275 - 0.5
DERATED_KW = 13.0
BOUND_S = 180  # from the end of `pulumi up` to the admitted work within the new budget


@pytest.fixture(scope="module")
def project(new_project: Any) -> Iterator[PulumiProject]:
    yield from deployed(new_project, "derate", VALUES)


def cluster_queue(api_client: Any, name: str) -> dict[str, Any]:
    found: dict[str, Any] = client.CustomObjectsApi(api_client).get_cluster_custom_object(*KUEUE, "clusterqueues", name)
    return found


def gpu_nominal(queue: dict[str, Any]) -> int:
    [group] = [g for g in queue["spec"]["resourceGroups"] if g["coveredResources"] == ["nvidia.com/gpu"]]
    return int(group["flavors"][0]["resources"][0]["nominalQuota"])


def reserved_gpus(api_client: Any, name: str) -> int:
    """The GPUs Kueue counts against a ClusterQueue: admitted work, and evicted work whose pods are not gone yet."""
    status = cluster_queue(api_client, name).get("status") or {}
    return sum(
        int(r.get("total", 0)) for f in status.get("flavorsReservation") or [] for r in f["resources"] if r["name"] == "nvidia.com/gpu"
    )


def cap_config(api_client: Any) -> str:
    config_map = client.CoreV1Api(api_client).read_namespaced_config_map("gpu-power-cap-h100", "aion-system")
    return str(config_map.data["cap_w"])


def daemonset_generation(api_client: Any) -> int:
    return int(client.AppsV1Api(api_client).read_namespaced_daemon_set("gpu-power-cap-h100", "aion-system").metadata.generation)


def test_a_row_derated_to_half_stops_the_lower_priority_and_restoring_it_readmits(
    project: PulumiProject, api_client: Any, control_plane: Any, aion: Any
) -> None:
    plan = make_plan(spec_from_config(VALUES))
    assert plan.tenant("dr-serve").quotas_by_cluster == plan.tenant("dr-batch").quotas_by_cluster == {"dr": {"h100-sxm": GPUS_EACH}}
    serve, batch = Tenant(api_client, "dr-serve"), Tenant(api_client, "dr-batch")
    batch.submit(*(job(f"batch-{i:02d}") for i in range(GPUS_EACH)))
    serve.submit(*(job(f"serve-{i:02d}") for i in range(GPUS_EACH)))
    wait_for(lambda: len(serve.admitted()) == len(batch.admitted()) == GPUS_EACH, what="both tenants' work admitted")
    assert 2 * GPUS_EACH * KW_PER_GPU == 25.5 <= ROW["it_power_kw"]  # the row's budget, full
    assert cap_config(api_client) == "default"  # an uncapped pool: its GPUs' own limit
    generation = daemonset_generation(api_client)

    derate = aion("site", "derate", str(project.stack_file), "hall-a/row-1", "--to", "50%")
    assert derate.returncode == 0, derate.stderr
    assert "1. cap pool dr/h100 (H100-SXM, serves inference): 700 W -> 200 W per GPU, -10.0 kW" in derate.stdout
    assert "2. lower the quota of dr-batch (batch) on dr, h100-sxm: 10 -> 6 GPUs, -3.1 kW" in derate.stdout
    assert "3. stop dr-batch (batch) on dr" in derate.stdout
    project.pulumi("up", "--yes", "--skip-preview")

    # Within the bound: the lower priority's work evicted and waiting (Kueue counts an evicted workload's
    # GPUs until its pods are gone), the higher's still admitted, within 13 kW.
    wait_for(lambda: not batch.admitted() and reserved_gpus(api_client, "dr-batch") == 0, timeout_s=BOUND_S, what="dr-batch's work evicted")
    assert len(serve.admitted()) == reserved_gpus(api_client, "dr-serve") == GPUS_EACH
    admitted_kw = (reserved_gpus(api_client, "dr-serve") + reserved_gpus(api_client, "dr-batch")) * CAPPED_KW_PER_GPU
    assert admitted_kw == pytest.approx(7.75) and admitted_kw <= DERATED_KW
    assert len(batch.pending()) == GPUS_EACH  # waiting, not gone
    # What the API server holds is the plan's: the cap in the DaemonSet's config, without a new pod template.
    assert cap_config(api_client) == "200"
    assert daemonset_generation(api_client) == generation
    batch_queue, serve_queue = cluster_queue(api_client, "dr-batch"), cluster_queue(api_client, "dr-serve")
    assert batch_queue["spec"]["stopPolicy"] == "HoldAndDrain" and gpu_nominal(batch_queue) == 0
    assert serve_queue["spec"].get("stopPolicy", "None") == "None" and gpu_nominal(serve_queue) == GPUS_EACH

    shown = aion("queues", str(project.stack_file), "--kubeconfig", str(control_plane.kubeconfig))
    assert shown.returncode == 0, shown.stderr
    assert "power event: row dr/hall-a/row-1 derated to 13.0 kW (budget 26.0 kW); admitted here now: 7.8 kW" in shown.stdout, shown.stdout
    assert "stopped by the power event (ClusterQueue held and drained, its work waits until the event ends): dr-batch" in shown.stdout

    # The event ends: the next deploy restores the plan, and the waiting work is admitted again.
    ended = aion("site", "derate", str(project.stack_file), "hall-a/row-1", "--end")
    assert ended.returncode == 0, ended.stderr
    project.pulumi("up", "--yes", "--skip-preview")
    wait_for(lambda: len(batch.admitted()) == GPUS_EACH, timeout_s=BOUND_S, what="dr-batch's work admitted again")
    assert len(serve.admitted()) == GPUS_EACH
    assert cap_config(api_client) == "default"
    batch_queue = cluster_queue(api_client, "dr-batch")
    assert batch_queue["spec"].get("stopPolicy", "None") == "None" and gpu_nominal(batch_queue) == GPUS_EACH
