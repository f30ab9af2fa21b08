"""Planner figures, each recomputed by hand from the catalog."""

import pytest

from aion_factory import load_catalog, load_stack_file, make_plan, spec_from_config, split_fleet
from aion_factory.planner import node_power_w
from support import ROOT


def test_node_power_with_a_gpu_cap():
    catalog = load_catalog()
    # DGX B300 14.5 kW, 8 GPUs capped from 1,100 W to 1,000 W: 14,500 - 8 x 100
    assert node_power_w(catalog, "B300-SXM-8-288G", 1000) == 13_700
    assert node_power_w(catalog, "H100-SXM-8-80G") == 10_200


def test_dc5_example_matches_hand_computation():
    plan = make_plan(load_stack_file(ROOT / "stacks/Pulumi.dc5-train-1.yaml"))
    levels = {lv.path: lv for lv in plan.levels}
    # h100: autoscaling, max 88 nodes x 10.2 kW; b300: 48 x 13.7 kW; system: 3 x POP2-8C-32G 36.8 W
    assert levels["dc5/hall-1/row-a"].rated_kw == pytest.approx(88 * 10.2)
    assert levels["dc5/hall-1/row-b"].rated_kw == pytest.approx(48 * 13.7)
    assert levels["dc5/hall-1"].rated_kw == pytest.approx(897.6 + 657.6 + 3 * 0.0368)
    assert levels["dc5"].budget_kw == pytest.approx(16_000 / 1.15)
    assert levels["dc5/hall-1"].limit_kw == pytest.approx(4000 * 1.1)
    assert plan.site.rated_facility_kw == pytest.approx(1555.3104 * 1.15)
    cluster = plan.cluster("train-1")
    assert (cluster.max_nodes, cluster.control_plane, cluster.node_limit) == (88 + 48 + 3, "kapsule", 150)
    assert cluster.gpus_by_flavor == {"b300": 384, "h100-sxm": 704}
    # FP8: 704 x 1 + 384 x 4500 / 1979; BF16: 704 + 384 x 2250 / 989.5
    assert plan.site.h100_equivalents.fp8 == pytest.approx(704 + 384 * 4500 / 1979)
    assert plan.site.h100_equivalents.bf16 == pytest.approx(704 + 384 * 2250 / 989.5)
    assert plan.fits


def test_dc5_tenant_quotas_are_their_kw_in_gpus_when_the_cluster_holds_them():
    plan = make_plan(load_stack_file(ROOT / "stacks/Pulumi.dc5-train-1.yaml"))
    # GPU pools rate 1,555.2 kW: kyutai 1,000 kW -> floor(1000 x 704 / 1555.2) = 452 H100, floor(1000 x 384 / 1555.2) = 246 B300;
    # hf-research 550 kW -> 248 H100, 135 B300. 700 <= 704 and 381 <= 384: nothing is scaled, nothing warned.
    assert plan.tenant("kyutai").quotas == {"b300": 246, "h100-sxm": 452}
    assert plan.tenant("hf-research").quotas == {"b300": 135, "h100-sxm": 248}
    assert not plan.warnings


def test_dc5_tenant_quotas_scale_down_to_capacity():
    config = load_stack_file(ROOT / "stacks/Pulumi.dc5-train-1.yaml").model_dump(mode="json", exclude_defaults=True)
    config["tenants"][0]["power_kw"], config["tenants"][1]["power_kw"] = 1100, 600
    plan = make_plan(spec_from_config(config))
    # GPU pools rate 1,555.2 kW. kyutai 1,100 kW -> floor(1100 x 704 / 1555.2) = 497 H100, floor(1100 x 384 / 1555.2) = 271 B300;
    # hf-research 600 kW -> 271 H100, 148 B300: 768 > 704 and 419 > 384, so both scale by capacity / demand (rounded down).
    kyutai, hf = {"b300": 271 * 384 // 419, "h100-sxm": 497 * 704 // 768}, {"b300": 148 * 384 // 419, "h100-sxm": 271 * 704 // 768}
    assert (plan.tenant("kyutai").quotas, plan.tenant("hf-research").quotas) == (kyutai, hf)
    assert kyutai["b300"] + hf["b300"] <= 384 and kyutai["h100-sxm"] + hf["h100-sxm"] <= 704
    # kyutai may borrow 0.25 of its quota; hf-research has no limit: up to what the cluster has beyond its own.
    assert plan.tenant("kyutai").borrowing_by_cluster["train-1"] == {f: n // 4 for f, n in kyutai.items()}
    assert plan.tenant("hf-research").borrowing_by_cluster["train-1"] == {"b300": 384 - hf["b300"], "h100-sxm": 704 - hf["h100-sxm"]}
    assert plan.tenant("hf-research").lending_by_cluster == {"train-1": {f: n // 2 for f, n in hf.items()}}
    assert plan.tenant("kyutai").gpu_ceiling("train-1") == sum(kyutai.values()) + sum(n // 4 for n in kyutai.values())


def test_auto_control_plane_picks_the_smallest_that_fits(config):
    pools = config["clusters"][0]["pools"]
    for nodes, expected in [(148, "kapsule"), (149, "kapsule-dedicated-4"), (498, "kapsule-dedicated-8")]:
        pools[0]["size"], pools[1]["size"] = nodes - 1, 1  # plus 2 system nodes
        config["site"]["facility_power_mw"], config["site"]["halls"][0]["it_power_kw"] = 10_000, 8_000_000
        config["site"]["halls"][0]["rows"][0]["it_power_kw"] = 8_000_000
        assert make_plan(spec_from_config(config)).clusters[0].control_plane == expected


def test_cluster_over_every_control_plane_is_a_violation(config):
    config["site"].update(facility_power_mw=100)
    config["site"]["halls"][0].update(it_power_kw=80_000, rows=[])
    config["clusters"][0].pop("row")
    config["clusters"][0]["pools"] = [{"name": "l4", "node_type": "L4-1-24G", "size": 600}]
    plan = make_plan(spec_from_config(config))
    [violation] = plan.violations
    assert violation.path == "aion:clusters[0].control_plane"
    assert "needs 602 nodes" in violation.message and "split it into 2 clusters, or take 102 nodes off it" in violation.message
    assert plan.clusters[0].control_plane is None


def test_explicit_control_plane_too_small(config):
    config["clusters"][0]["control_plane"] = "kapsule"
    config["clusters"][0]["pools"][1]["size"] = 200
    config["site"]["halls"][0]["rows"][0]["it_power_kw"] = 900
    plan = make_plan(spec_from_config(config))
    assert [v.path for v in plan.violations] == ["aion:clusters[0].control_plane"]
    assert "over the 150-node limit of kapsule" in plan.violations[0].message


def test_over_budget_row_names_the_level(config):
    # 60 x 10.2 kW + 2 L4-8 x 918.4 W + 2 system x 18.4 W = 613.9 kW in a 500 kW row
    config["clusters"][0]["pools"][0]["size"] = 60
    plan = make_plan(spec_from_config(config))
    assert [v.path for v in plan.violations] == ["s/h/r"]
    assert plan.violations[0].message.startswith("row s/h/r draws 613.9 kW rated, over its limit of 500.0 kW")


def test_an_over_budget_row_says_the_fewest_nodes_of_its_largest_pool_or_the_cap_that_fit_it(config):
    # 613.9 kW in a 500 kW row: 113.8736 kW over. h100 nodes draw 10.2 kW: ceil(113.8736 / 10.2) = 12 nodes (48 x 10.2 +
    # 1.8736 = 491.5 kW fits, 49 would be 501.7). Or a cap on its 480 GPUs: 700 - 113,873.6 / 480 = 462.76 -> 462 W
    # (60 x (10,200 - 8 x 238) W + 1,873.6 W = 499.6 kW; 463 W would be 500.1).
    config["clusters"][0]["pools"][0]["size"] = 60
    [violation] = make_plan(spec_from_config(config)).violations
    fix = "to fit: shrink pool c/h100 by 12 nodes (to 48), or gpu_power_cap_w 462 on pool c/h100; clusters drawing on it: c"
    assert violation.message.endswith(fix)
    config["clusters"][0]["pools"][0].update(size=48)
    assert make_plan(spec_from_config(config)).fits
    config["clusters"][0]["pools"][0].update(size=60, gpu_power_cap_w=462)
    assert make_plan(spec_from_config(config)).fits


def test_when_the_largest_pool_cannot_fit_a_row_alone_the_next_shrinks_too(config):
    # A 5 kW row: 1 h100 node (10.2 kW) + 10 L4-8 (9.184 kW) + 2 system (0.0368 kW) = 19.4208 kW, 14.4208 over.
    # The whole h100 pool sheds 10.2; 4.2208 kW left: ceil(4,220.8 / 918.4) = 5 L4 nodes. No cap sheds 14.4 kW from 8 GPUs.
    config["site"]["halls"][0]["rows"][0]["it_power_kw"] = 5
    config["clusters"][0]["pools"][0]["size"] = 1
    config["clusters"][0]["pools"][1]["size"] = 10
    config["tenants"][0]["power_kw"] = 4
    [violation] = make_plan(spec_from_config(config)).violations
    assert "to fit: shrink pool c/h100 by 1 node (to 0) and shrink pool c/l4 by 5 nodes (to 5); clusters" in violation.message


def test_oversubscription_raises_the_limit(config):
    config["clusters"][0]["pools"][0]["size"] = 60
    config["site"]["halls"][0]["rows"][0]["oversubscription"] = 1.3
    assert make_plan(spec_from_config(config)).fits


def test_tenants_allotted_more_than_the_site(config):
    config["tenants"][0]["power_kw"] = 1001  # site IT budget: 1,250 kW / 1.25; its cluster is in row r (500) of hall h (1,000)
    plan = make_plan(spec_from_config(config))
    assert [v.path for v in plan.violations] == ["s", "s/h", "s/h/r"]
    assert plan.violations[0].message.startswith("tenants are allotted 1,001.0 kW of site s, over its budget of 1,000.0 kW")


def test_an_oversubscribed_row_fits_its_hardware_but_not_more_allotment_than_its_budget(config):
    """Rated above its budget is allowed (up to the ratio): the extra hardware is in no tenant's quota.
    Allotting tenants more than the budget is not: Kueue would admit work that draws more."""
    config["site"]["halls"][0]["rows"][0].update(it_power_kw=400, oversubscription=1.2)  # rated 61.2 kW + ... fits 480
    config["tenants"][0]["power_kw"] = 400
    assert make_plan(spec_from_config(config)).fits
    config["tenants"][0]["power_kw"] = 401
    [violation] = make_plan(spec_from_config(config)).violations
    assert (violation.path, violation.level) == ("s/h/r", "violation")
    assert violation.message.endswith("which could then draw more than the row may; tenants drawing on it: t")


def test_what_200_mw_buys():
    plan = make_plan(load_stack_file(ROOT / "examples/aion-200mw.yaml"))
    buys = plan.site.headroom_buys
    nodes = int(200_000 / 1.15 / 14.5)  # IT budget / DGX B300 power
    assert (buys.node_type, buys.nodes, buys.gpus) == ("B300-SXM-8-288G", nodes, nodes * 8)
    assert buys.h100_equivalents_fp8 == pytest.approx(nodes * 8 * 4500 / 1979)
    assert buys.clusters_needed == -(-nodes // 498)  # 500-node planes less 2 system nodes each


@pytest.mark.parametrize(
    ("nodes", "limit", "reserved", "expected"),
    [(0, 500, 0, []), (500, 500, 0, [500]), (501, 500, 0, [251, 250]), (1200, 500, 2, [400, 400, 400]), (7, 3, 1, [2, 2, 2, 1])],
)
def test_split_fleet(nodes, limit, reserved, expected):
    assert split_fleet(nodes, limit, reserved) == expected


def test_plan_is_deterministic():
    spec = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
    assert make_plan(spec) == make_plan(spec)
