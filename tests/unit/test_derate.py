"""A derate, planned: caps lowest priority first, then quotas, then drained queues, every figure by hand.

From the catalog: H100-SXM-8-80G draws 10,200 W for 8 GPUs (1.275 kW a GPU); an H100 SXM takes a
power limit from 200 W to 700 W, so a cap of C W takes (700 - C) W off each GPU. POP2-4C-16G, the
system pool's node, draws 18.4 W.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import CATALOG, admissible_kw, configs

from aion_factory import make_plan, spec_from_config
from aion_factory.planner import LevelDerate
from aion_factory.platform import queues
from aion_factory.view import cluster_view
from support import power_cap_configs

ROW = "dr/hall-a/row-1"
SYSTEM_KW = 0.0184  # one POP2-4C-16G per cluster
ONE_CLUSTER: dict[str, Any] = {
    "site": {"name": "dr", "facility_power_mw": 0.2, "pue": 1.25,
             "halls": [{"name": "hall-a", "it_power_kw": 100, "rows": [{"name": "row-1", "it_power_kw": 60}]}]},
    "clusters": [
        {"name": "c", "target": "local", "hall": "hall-a", "row": "row-1", "system_pool": {"size": 1},
         "pools": [{"name": "h100", "node_type": "H100-SXM-8-80G", "size": 4}]},
    ],
    # 20.4 kW of a pool rated 40.8 kW for 32 GPUs: 16 GPUs each.
    "tenants": [
        {"name": "serve", "power_kw": 20.4, "clusters": ["c"], "priority_classes": ["inference", "batch"]},
        {"name": "crunch", "power_kw": 20.4, "clusters": ["c"], "priority_classes": ["batch"]},
    ],
}  # fmt: skip


def two_clusters() -> dict[str, Any]:
    """serve alone on c1, crunch alone on c2: two pools, each serving one priority."""
    values = copy.deepcopy(ONE_CLUSTER)
    pool = {"name": "h100", "node_type": "H100-SXM-8-80G", "size": 2}
    values["clusters"] = [
        {"name": name, "target": "local", "hall": "hall-a", "row": "row-1", "system_pool": {"size": 1}, "pools": [pool]}
        for name in ("c1", "c2")
    ]
    values["tenants"][0]["clusters"], values["tenants"][1]["clusters"] = ["c1"], ["c2"]
    return values


def derated(values: dict[str, Any], budget_kw: float, level: str = ROW) -> Any:
    spec = spec_from_config(values)
    return spec, make_plan(spec, derates=(LevelDerate(level, budget_kw),))


def test_without_an_event_the_plan_is_as_before():
    spec = spec_from_config(ONE_CLUSTER)
    plan = make_plan(spec)
    assert plan.derate is None and make_plan(spec, derates=()) == plan
    assert plan.tenant("serve").quotas_by_cluster == plan.tenant("crunch").quotas_by_cluster == {"c": {"h100-sxm": 16}}


def test_a_derate_caps_alone_meet_is_met_by_caps_and_nothing_stops():
    # 32 GPUs x 1.275 kW + 0.0184 = 40.8184 kW under a 30 kW derate: 10.8184 kW over, 338.075 W a GPU.
    # The highest whole-watt cap that sheds it: floor(700 - 338.075) = 361 W, shedding 32 x 339 W = 10.848 kW.
    _, plan = derated(ONE_CLUSTER, 30)
    [level] = plan.derate.levels
    assert level.drawable_kw == pytest.approx(40.8184)
    [cap] = level.caps
    assert (cap.cluster, cap.pool, cap.from_w, cap.to_w, cap.priority) == ("c", "h100", 700, 361, "inference")
    assert cap.shed_kw == pytest.approx(10.848)
    assert level.quotas == level.stops == ()
    assert level.drawable_after_kw == pytest.approx(32 * (1.275 - 0.339) + SYSTEM_KW) == pytest.approx(29.9704)
    assert level.met and plan.fits
    [pool] = [p for p in plan.pools if p.name == "h100"]
    assert pool.gpu_power_cap_w == 361 and pool.node_power_w == pytest.approx(10_200 - 8 * 339)
    # The capped hardware is rated lower too: 4 nodes x 7,488 W + 18.4 W, in the row, the hall and the site.
    rated = {lv.path: lv.rated_kw for lv in plan.levels}
    assert rated[ROW] == rated["dr/hall-a"] == rated["dr"] == plan.site.rated_it_kw == pytest.approx(29.9704)


def test_caps_go_to_the_pools_of_the_lowest_priority_first():
    # Two clusters of 16 GPUs, each 20.4 kW, + 2 x 0.0184: 40.8368 kW under 35 kW, 5.8368 kW over.
    # crunch's pool (batch) first: 5,836.8 W / 16 GPUs = 364.8 W a GPU, cap floor(335.2) = 335 W, -16 x 365 W.
    _, plan = derated(two_clusters(), 35)
    [level] = plan.derate.levels
    [cap] = level.caps
    assert (cap.cluster, cap.to_w, cap.priority) == ("c2", 335, "batch")
    assert cap.shed_kw == pytest.approx(5.84)
    assert {p.cluster: p.gpu_power_cap_w for p in plan.pools if p.name == "h100"} == {"c1": None, "c2": 335}
    assert level.drawable_after_kw == pytest.approx(40.8368 - 5.84)


def test_where_caps_are_not_enough_the_lowest_priority_quota_is_lowered_and_its_queue_drained():
    # Under 15 kW: the cap goes to the H100's floor, 200 W (-32 x 500 W = 16 kW; 0.775 kW a GPU), leaving
    # 24.8184 - 15 = 9.8184 kW. crunch (batch) draws 16 x 0.775 = 12.4 kW: it keeps 1 - 9.8184 / 12.4 of
    # its quota, floor(16 x 0.20819) = 3 GPUs (-13 x 0.775 = 10.075 kW). Kueue keeps what crunch admitted
    # under its 16 GPUs, so its queue is drained: 12.4 kW stop, and its quota goes to 0.
    spec, plan = derated(ONE_CLUSTER, 15)
    [level] = plan.derate.levels
    [cap] = level.caps
    assert (cap.to_w, cap.shed_kw) == (200, pytest.approx(16.0))
    [quota] = level.quotas
    assert (quota.tenant, quota.cluster, quota.flavor, quota.from_gpus, quota.to_gpus) == ("crunch", "c", "h100-sxm", 16, 3)
    assert quota.shed_kw == pytest.approx(10.075)
    [stop] = level.stops
    assert (stop.tenant, stop.cluster, stop.gpus, stop.priority) == ("crunch", "c", 16, "batch")
    assert stop.kw == pytest.approx(12.4)
    assert level.running_after_kw == level.drawable_after_kw == pytest.approx(16 * 0.775 + SYSTEM_KW)
    assert level.met and plan.fits
    assert plan.tenant("serve").quotas_by_cluster == {"c": {"h100-sxm": 16}}  # inference untouched
    assert plan.tenant("crunch").quotas_by_cluster == {"c": {"h100-sxm": 0}}
    # Its GPU ceiling (the namespace's ResourceQuota) stays 16 + 16: what the quota lost it may borrow, but only
    # from other queues' idle quota, which the 15 kW holds; drained, it admits nothing anyway.
    assert plan.tenant("crunch").borrowing_by_cluster == {"c": {"h100-sxm": 32}}
    assert plan.tenant("crunch").gpu_ceiling("c") == make_plan(spec).tenant("crunch").gpu_ceiling("c") == 32

    # What a deploy makes of it: crunch's ClusterQueue holds and drains, serve's is as it was, the pool's cap is 200 W.
    view = cluster_view(spec, plan, "c")
    by_tenant = {t.name: queues.cluster_queue(view, t)["spec"] for t in view.tenants}
    assert by_tenant["crunch"]["stopPolicy"] == "HoldAndDrain" and "stopPolicy" not in by_tenant["serve"]
    [crunch_gpus] = [g for g in by_tenant["crunch"]["resourceGroups"] if g["coveredResources"] == ["nvidia.com/gpu"]]
    assert crunch_gpus["flavors"][0]["resources"][0]["nominalQuota"] == "0"
    assert power_cap_configs(view) == {"h100": "200"}


def test_tenants_of_one_priority_keep_the_same_share():
    # Both batch: under 15 kW, after the 200 W cap 9.8184 kW over of their 24.8 kW: each keeps
    # 1 - 9.8184 / 24.8 = 0.6041 of 16 GPUs, floor(9.666) = 9 (-7 x 0.775 = 5.425 kW each).
    values = copy.deepcopy(ONE_CLUSTER)
    values["tenants"][0]["priority_classes"] = ["batch"]
    _, plan = derated(values, 15)
    [level] = plan.derate.levels
    assert [(q.tenant, q.from_gpus, q.to_gpus) for q in level.quotas] == [("serve", 16, 9), ("crunch", 16, 9)]
    assert all(q.shed_kw == pytest.approx(5.425) for q in level.quotas)
    # Their old 32 GPUs (24.8184 kW) are over 15 kW; stopping one leaves 12.4184 kW: one queue drained,
    # the first by name among equals.
    assert [s.tenant for s in level.stops] == ["crunch"]
    assert level.met


def test_a_hall_derate_counts_what_its_rows_draw():
    # The hall holds the row: 40.8184 kW under the hall's 30 kW derate, the same steps as the row's.
    _, plan = derated(ONE_CLUSTER, 30, "dr/hall-a")
    [level] = plan.derate.levels
    assert (level.level, level.kind) == ("dr/hall-a", "hall")
    assert [c.to_w for c in level.caps] == [361]


def test_a_derate_below_the_system_pools_is_a_violation_naming_the_level():
    _, plan = derated(ONE_CLUSTER, 0.01)
    [violation] = plan.violations
    assert violation.path == ROW and violation.level == "violation"
    assert "cannot be met" in violation.message and "18.4" not in violation.message  # kW, not W
    assert "0.0 kW" in violation.message and "allowed: a derate to at least" in violation.message
    assert not plan.fits and not plan.derate.levels[0].met
    assert plan.derate.levels[0].caps == ()  # no step is taken for a derate nothing can meet


def test_derates_are_applied_deepest_first():
    # A row and its hall both derated: the row's cap comes first, then the hall needs nothing more.
    spec = spec_from_config(ONE_CLUSTER)
    plan = make_plan(spec, derates=(LevelDerate("dr/hall-a", 35), LevelDerate(ROW, 30)))
    assert [lv.level for lv in plan.derate.levels] == [ROW, "dr/hall-a"]
    assert [c.to_w for c in plan.derate.levels[0].caps] == [361]
    assert plan.derate.levels[1].caps == () and plan.derate.levels[1].drawable_kw == pytest.approx(29.9704)


@settings(max_examples=150, deadline=None)
@given(configs(), st.floats(0, 1), st.sampled_from(["site", "hall"]))
def test_any_derate_is_met_or_refused_naming_its_level(config: dict[str, Any], share: float, kind: str):
    """Whatever the site and the derate: what Kueue may admit afterwards (counted as the plan's properties
    count it, not as the derate does), what may still run, caps within each GPU's range, quotas never
    raised, every GPU ceiling kept; or, below the system pools, a violation naming the level."""
    spec = spec_from_config(config, CATALOG)
    base = make_plan(spec, CATALOG)
    level = next(lv for lv in base.levels if lv.kind == kind)
    budget_kw = level.budget_kw * share
    plan = make_plan(spec, CATALOG, derates=(LevelDerate(level.path, budget_kw),))
    system_kw = sum(p.rated_kw for p in plan.pools if p.flavor is None)  # every cluster sits in hall h
    [derate] = plan.derate.levels
    if system_kw > budget_kw + 1e-9:
        assert [v.path for v in plan.violations if v.path == level.path] and not derate.met
        return
    assert derate.met
    assert admissible_kw(plan, level.path) + system_kw <= budget_kw + 1e-6
    assert derate.running_after_kw <= budget_kw + 1e-6
    before = {(p.cluster, p.name): p for p in base.pools}
    for pool in plan.pools:
        if pool.gpu_power_cap_w is not None and pool.gpu_model is not None:
            model = CATALOG.gpu_models[pool.gpu_model]
            assert model.min_power_limit_w <= pool.gpu_power_cap_w <= (before[pool.cluster, pool.name].gpu_power_cap_w or model.max_power_w)
    for tenant in plan.tenants:
        planned = base.tenant(tenant.name)
        for cluster, per_flavor in tenant.quotas_by_cluster.items():
            assert all(0 <= n <= planned.quotas_by_cluster[cluster][f] for f, n in per_flavor.items())
            assert tenant.gpu_ceiling(cluster) == planned.gpu_ceiling(cluster)
