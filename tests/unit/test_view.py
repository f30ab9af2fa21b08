"""The cluster view joins spec and plan once: every figure in it is the planner's, every label the label module's."""

from typing import Any

from aion_factory import load_stack_file, make_plan, spec_from_config
from aion_factory.labels import CLUSTER, GPU_PRESENT, GPU_TAINT, HALL, POOL, POWER_LEVEL, RACK, ROW
from aion_factory.local.simulated import node_groups
from aion_factory.spec import Taint
from support import ROOT, view_of

SPEC = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
PLAN = make_plan(SPEC)
VIEW = view_of(SPEC, "local")


def test_pools_carry_the_planners_counts_and_power():
    planned = {p.name: p for p in PLAN.pools_of("local")}
    assert [p.name for p in VIEW.pools] == ["h100", "l40s", "system"]
    for pool in VIEW.pools:
        assert (pool.rated_nodes, pool.node_power_w, pool.rated_kw) == (
            planned[pool.name].nodes,
            planned[pool.name].node_power_w,
            planned[pool.name].rated_kw,
        )
        assert (pool.vcpus, pool.ram_gib, pool.gpus_per_node) == (
            planned[pool.name].vcpus,
            planned[pool.name].ram_gib,
            planned[pool.name].gpus_per_node,
        )
    assert sum(p.rated_kw for p in VIEW.pools) == PLAN.cluster("local").rated_kw
    assert VIEW.rated_nodes == PLAN.cluster("local").max_nodes


def test_pool_sizes_are_always_explicit(config: dict[str, Any]):
    config["clusters"][0]["pools"][1].update(size=3, min_size=1, max_size=9, autoscaling=True)
    fixed, scaling = view_of(spec_from_config(config), "c").gpu_pools
    assert (fixed.size, fixed.min_size, fixed.max_size, fixed.rated_nodes) == (4, 0, 4, 4)
    assert (scaling.size, scaling.min_size, scaling.max_size, scaling.rated_nodes) == (3, 1, 9, 9)


def test_taints_default_to_the_gpu_taint_and_an_empty_list_means_none(config: dict[str, Any]):
    config["clusters"][0]["pools"][1]["taints"] = []
    default, none = view_of(spec_from_config(config), "c").gpu_pools
    assert (default.taints, none.taints) == ((GPU_TAINT,), ())
    assert VIEW.system_pool.taints == ()


def test_flavors_add_up_their_pools_gpus_and_taints(config: dict[str, Any]):
    config["clusters"][0]["pools"].append(
        {"name": "h100-b", "node_type": "H100-SXM-8-80G", "size": 1, "taints": [{"key": "k", "effect": "NoExecute"}]}
    )
    view = view_of(spec_from_config(config), "c")
    flavors = {f.name: f for f in view.flavors}
    assert (
        {name: f.gpus for name, f in flavors.items()}
        == make_plan(spec_from_config(config)).cluster("c").gpus_by_flavor
        == {"h100-sxm": 40, "l4": 16}
    )
    assert flavors["h100-sxm"].taints == (Taint(key="k", effect="NoExecute"), GPU_TAINT)


def test_labels_of_every_pool_say_where_it_stands(config: dict[str, Any]):
    config["clusters"][0]["pools"][0]["labels"] = {"team": "ml", POOL: "not-ours"}
    view = view_of(spec_from_config(config), "c")
    h100 = view.gpu_pools[0]
    assert h100.labels["team"] == "ml" and h100.labels[POOL] == "h100"  # ours win
    assert (h100.labels["aion-factory.io/gpu-flavor"], h100.labels["aion-factory.io/gpu-model"]) == ("h100-sxm", "H100-SXM")
    assert dict(view.system_pool.labels) == {POOL: "system", CLUSTER: "c", HALL: "h", ROW: "r", POWER_LEVEL: "row"}
    config["clusters"][0].pop("row")
    assert ROW not in view_of(spec_from_config(config), "c").system_pool.labels
    assert view_of(spec_from_config(config), "c").system_pool.labels[POWER_LEVEL] == "hall"


def test_a_pool_in_a_rack_says_its_row_and_rack(config: dict[str, Any]):
    config["site"]["halls"][0]["rows"][0]["racks"] = [{"name": "k1", "it_power_kw": 100}]
    config["clusters"][0]["pools"][0]["rack"] = "k1"
    view = view_of(spec_from_config(config), "c")
    h100, l4 = view.gpu_pools
    assert (h100.labels[ROW], h100.labels[RACK], h100.labels[POWER_LEVEL]) == ("r", "k1", "rack")
    assert RACK not in l4.labels and l4.labels[POWER_LEVEL] == "row"
    # Each GPU flavor's pools draw from one level (the rack, the row): their Kueue flavors keep their names.
    assert (h100.flavor, l4.flavor) == ("h100-sxm", "l4")


def test_simulated_nodes_carry_the_views_labels_the_same_as_any_target():
    groups = {g.pool: g for g in node_groups(VIEW)}
    for pool in VIEW.pools:
        extra = {GPU_PRESENT: "true"} if pool.is_gpu else {}
        assert groups[pool.name].labels == dict(pool.labels) | extra


def test_tenants_get_the_planners_quotas_per_flavor_and_their_ceiling():
    for tenant in VIEW.tenants:
        planned = PLAN.tenant(tenant.name)
        assert {q.flavor: q.nominal for q in tenant.gpu_quotas} == planned.quotas_by_cluster["local"]
        assert {q.flavor: q.borrowing for q in tenant.gpu_quotas} == planned.borrowing_by_cluster["local"]
        assert tenant.gpu_ceiling == planned.gpu_ceiling("local") == sum(q.nominal + q.borrowing for q in tenant.gpu_quotas)
    kyutai, mistral = (next(t for t in VIEW.tenants if t.name == name) for name in ("kyutai", "mistral-lab"))
    assert {q.lending for q in kyutai.gpu_quotas} == {None}  # no lending limit: it may lend all
    assert all(q.lending == q.nominal // 2 for q in mistral.gpu_quotas)


def test_cohorts_follow_the_power_tree_and_the_view_knows_its_place():
    assert (VIEW.site_cohort, VIEW.hall_cohort) == ("lab", "lab-hall-a")
    assert (VIEW.index, VIEW.target, VIEW.level, VIEW.control_plane) == (
        0,
        "local",
        "lab/hall-a/row-1",
        PLAN.cluster("local").control_plane,
    )
