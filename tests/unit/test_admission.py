"""What admitted work draws: Kueue's queue usage in kW, and waiting work's reason in power terms."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from aion_factory import spec_from_config
from aion_factory.admission import format_queue_power, queue_power
from aion_factory.planner import make_plan
from support import view_of

# The engine test's oversubscribed row (tests/engine/test_power_admission.py): 24 H100s under a
# 26 kW budget, all of it allotted to one tenant: 20 GPUs' worth.
VALUES: dict[str, Any] = {
    "site": {"name": "pw", "facility_power_mw": 0.05, "pue": 1.25,
             "halls": [{"name": "hall-a", "it_power_kw": 40, "rows": [{"name": "row-1", "it_power_kw": 26, "oversubscription": 1.2}]}]},
    "clusters": [{"name": "pw", "target": "local", "hall": "hall-a", "row": "row-1", "system_pool": {"size": 1},
                  "pools": [{"name": "h100", "node_type": "H100-SXM-8-80G", "size": 3}]}],
    "tenants": [{"name": "pw-train", "power_kw": 26, "clusters": ["pw"]}],
}  # fmt: skip
VIEW = view_of(spec_from_config(VALUES), "pw")


def cluster_queue(name: str, gpus: int, pending: int) -> dict[str, Any]:
    """A ClusterQueue as Kueue reports it: GPUs reserved per flavor, workloads pending."""
    resources = [{"name": "nvidia.com/gpu", "total": str(gpus), "borrowed": "0"}]
    return {
        "metadata": {"name": name},
        "status": {"flavorsReservation": [{"name": "h100-sxm", "resources": resources}], "pendingWorkloads": pending},
    }


def test_admitted_gpus_are_counted_in_kw_of_the_flavors_node_power():
    [row], [flavor] = queue_power(VIEW, [cluster_queue("pw-train", 20, 4)])
    assert (row.tenant, row.flavor, row.quota_gpus, row.admitted_gpus, row.waiting) == ("pw-train", "h100-sxm", 20, 20, 4)
    assert row.kw_per_gpu == pytest.approx(10.2 / 8)  # H100-SXM-8-80G at its maximum, per GPU
    assert row.admitted_kw == pytest.approx(25.5) and row.admitted_kw <= 26
    assert (flavor.installed_gpus, flavor.powered_gpus, flavor.unpowered_gpus) == (24, 20, 4)


def test_a_flavor_of_pools_with_different_caps_is_counted_at_the_figure_its_quotas_were_made_with():
    # Two H100 pools, one capped at 500 W: 8 GPUs x 200 W below the 700 W maximum, so 10.2 - 1.6 = 8.6 kW
    # a node. The quota of a tenant allotted all the power is every GPU (32), and at the flavor's
    # figure, (2 x 10.2 + 2 x 8.6) kW / 32 GPUs = 1.175 kW, they draw exactly its 37.6 kW: not 32 x
    # 1.275 kW = 40.8 kW, as counting every GPU at the uncapped pool's figure did.
    site = {
        "name": "pw",
        "facility_power_mw": 0.1,
        "pue": 1.25,
        "halls": [{"name": "hall-a", "it_power_kw": 60, "rows": [{"name": "row-1", "it_power_kw": 45}]}],
    }
    values = {
        "site": site,
        "clusters": [{**VALUES["clusters"][0], "pools": [
            {"name": "full", "node_type": "H100-SXM-8-80G", "size": 2},
            {"name": "capped", "node_type": "H100-SXM-8-80G", "size": 2, "gpu_power_cap_w": 500},
        ]}],
        "tenants": [{"name": "pw-train", "power_kw": 37.6, "clusters": ["pw"]}],
    }  # fmt: skip
    spec = spec_from_config(values)
    assert make_plan(spec).fits
    [row], _ = queue_power(view_of(spec, "pw"), [cluster_queue("pw-train", 32, 0)])
    assert row.quota_gpus == 32 and row.kw_per_gpu == pytest.approx(37.6 / 32)
    assert row.admitted_kw == pytest.approx(37.6) and row.quota_kw == pytest.approx(37.6)


def test_work_waiting_while_all_the_power_is_admitted_is_said_to_wait_for_power():
    text = format_queue_power(VIEW, *queue_power(VIEW, [cluster_queue("pw-train", 20, 4)]))
    assert "work waits for power: 25.5 kW admitted" in text
    assert "4 GPUs installed beyond the power stay idle" in text


def test_work_waiting_under_its_power_is_said_to_wait_for_quota_not_power():
    text = format_queue_power(VIEW, *queue_power(VIEW, [cluster_queue("pw-train", 16, 1)]))
    assert "work waits for quota" in text and "waits for power" not in text


def test_nothing_waits_nothing_is_explained_and_a_queue_not_there_yet_counts_as_empty():
    text = format_queue_power(VIEW, *queue_power(VIEW, []))
    assert "0 of 20 powered GPUs admitted (24 installed)" in text and "waits" not in text


def test_aion_queues_names_the_kubeconfig_that_reaches_no_cluster(aion: Any, tmp_path: Path):
    kubeconfig = tmp_path / "kubeconfig"
    cluster = {"cluster": {"server": "https://127.0.0.1:1"}, "name": "nowhere"}
    user = {"name": "nobody", "user": {"token": "x"}}
    context = {"context": {"cluster": "nowhere", "user": "nobody"}, "name": "nowhere"}
    kubeconfig.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": [cluster], "users": [user],
                                          "contexts": [context], "current-context": "nowhere"}))  # fmt: skip
    stack = tmp_path / "Pulumi.pw.yaml"
    stack.write_text(yaml.safe_dump({"config": {f"aion:{key}": value for key, value in VALUES.items()}}))
    unreachable = aion("queues", str(stack), "--kubeconfig", str(kubeconfig))
    assert (unreachable.returncode, unreachable.stdout) == (2, "")
    assert unreachable.stderr.startswith("error: --kubeconfig:") and "does not reach a cluster" in unreachable.stderr
    unknown = aion("queues", str(stack), "--cluster", "nope")
    assert unknown.returncode == 2 and "--cluster" in unknown.stderr and "'nope'" in unknown.stderr


def test_under_a_power_event_the_capped_kw_the_event_and_who_was_stopped_are_shown():
    # Two tenants of 10 GPUs (tests/engine/test_derate_deployed.py), the row derated to 13 kW: the cap goes to 200 W
    # (0.775 kW a GPU) and dr-batch's queue is drained; dr-serve's 10 admitted GPUs draw 7.75 kW.
    from aion_factory import make_plan
    from aion_factory.planner import LevelDerate
    from aion_factory.view import cluster_view

    values = {**VALUES, "tenants": [
        {"name": "dr-serve", "power_kw": 12.75, "clusters": ["pw"]},
        {"name": "dr-batch", "power_kw": 12.75, "clusters": ["pw"], "priority_classes": ["batch"]},
    ]}  # fmt: skip
    spec = spec_from_config(values)
    plan = make_plan(spec, derates=(LevelDerate("pw/hall-a/row-1", 13),))
    view = cluster_view(spec, plan, "pw")
    rows, flavors = queue_power(view, [cluster_queue("dr-serve", 10, 0), cluster_queue("dr-batch", 0, 10)])
    assert {r.tenant: (r.admitted_kw, r.stopped) for r in rows} == {"dr-serve": (pytest.approx(7.75), False), "dr-batch": (0.0, True)}
    text = format_queue_power(view, rows, flavors, plan.derate.levels)
    assert "power event: row pw/hall-a/row-1 derated to 13.0 kW (budget 26.0 kW); admitted here now: 7.8 kW" in text
    assert "stopped by the power event (ClusterQueue held and drained, its work waits until the event ends): dr-batch" in text
