"""Invariants over random specs: no accepted plan exceeds a budget, quotas never
exceed capacity, every cluster of an accepted plan fits its control plane."""

from hypothesis import given, settings
from hypothesis import strategies as st

from aion_factory import load_catalog, make_plan, spec_from_config, split_fleet

CATALOG = load_catalog()
GPU_TYPES = sorted(n for n, t in CATALOG.gpu_node_types.items() if "fr-par-2" in t.zones)


@st.composite
def configs(draw, max_pool_nodes=300):
    rows = [
        {"name": f"r{i}", "it_power_kw": draw(st.floats(1, 5_000)), "oversubscription": draw(st.floats(1, 1.5))}
        for i in range(draw(st.integers(0, 3)))
    ]
    hall = {"name": "h", "it_power_kw": draw(st.floats(1, 20_000)), "rows": rows}
    clusters = []
    for c in range(draw(st.integers(1, 3))):
        pools = []
        for p in range(draw(st.integers(0, 3))):
            node_type = draw(st.sampled_from(GPU_TYPES))
            model = CATALOG.gpu_model_of(node_type)
            pool = {"name": f"p{p}", "node_type": node_type, "size": draw(st.integers(0, max_pool_nodes))}
            if draw(st.booleans()):
                pool.update(autoscaling=True, max_size=pool["size"] + draw(st.integers(0, max_pool_nodes // 3)))
            if draw(st.booleans()):
                pool["gpu_power_cap_w"] = draw(st.integers(int(model.min_power_limit_w), int(model.max_power_w)))
            if rows and draw(st.booleans()):
                pool["row"] = draw(st.sampled_from(rows))["name"]
            pools.append(pool)
        clusters.append({"name": f"c{c}", "target": draw(st.sampled_from(["scaleway", "local"])), "hall": "h", "pools": pools})
    names = [c["name"] for c in clusters]
    tenants = [
        {
            "name": f"t{t}",
            "power_kw": draw(st.floats(0.1, 5_000)),
            "clusters": draw(st.lists(st.sampled_from(names), min_size=1, unique=True)),
        }
        for t in range(draw(st.integers(0, 4)))
    ]
    site = {"name": "s", "facility_power_mw": draw(st.floats(0.01, 50)), "pue": draw(st.floats(1, 2)), "halls": [hall]}
    return {"site": site, "clusters": clusters, "tenants": tenants}


def rated_kw(config) -> dict[str, float]:
    """Rated kW per row name and for the hall itself, computed from the catalog alone (not by the
    planner under test): a node's maximum less GPUs x (GPU maximum - cap); system pools in the hall."""
    drawn: dict[str, float] = {}
    for cluster in config["clusters"]:
        system = CATALOG.cpu_node_types["POP2-4C-16G"].node_max_power_w * 2 / 1000  # the default system pool
        drawn["h"] = drawn.get("h", 0.0) + system
        for pool in cluster["pools"]:
            node = CATALOG.gpu_node_types[pool["node_type"]]
            cap = pool.get("gpu_power_cap_w")
            watts = node.node_max_power_w - (node.gpus * (CATALOG.gpu_models[node.gpu_model].max_power_w - cap) if cap else 0)
            nodes = pool.get("max_size", pool["size"]) if pool.get("autoscaling") else pool["size"]
            drawn[pool.get("row", "h")] = drawn.get(pool.get("row", "h"), 0.0) + nodes * watts / 1000
    return drawn


@st.composite
def fitting_configs(draw):
    """Configs that fit by construction: each row's budget x its oversubscription holds what its pools
    are rated, the hall's holds its rows' budgets, what draws on it directly and all it is rated, the
    site's holds the hall, and the tenants share at most the smallest budget of any level between them."""
    config = draw(configs(max_pool_nodes=100))  # 3 pools + 2 system nodes fit the largest control plane
    drawn = rated_kw(config)
    hall = config["site"]["halls"][0]
    for row in hall["rows"]:
        row["it_power_kw"] = max(drawn.get(row["name"], 0.0) / row["oversubscription"], 1.0) * draw(st.floats(1.0, 2.0)) + 0.01
    # The hall (not oversubscribed) holds all it is rated, its oversubscribed rows' excess included.
    holds = max(sum(r["it_power_kw"] for r in hall["rows"]) + drawn["h"], sum(drawn.values()))
    hall["it_power_kw"] = holds * draw(st.floats(1.0, 2.0)) + 0.01
    config["site"]["facility_power_mw"] = hall["it_power_kw"] * config["site"]["pue"] * draw(st.floats(1.0, 2.0)) / 1000 + 1e-5
    smallest = min([hall["it_power_kw"], *(r["it_power_kw"] for r in hall["rows"])])
    shares = [draw(st.floats(0.01, 1.0)) for _ in config["tenants"]]
    for tenant, share in zip(config["tenants"], shares, strict=True):
        tenant["power_kw"] = smallest * share / max(sum(shares), 1.0)
    return config


@settings(max_examples=200, deadline=None)
@given(fitting_configs())
def test_plans_that_fit_keep_what_kueue_may_admit_within_every_budget(config):
    plan = make_plan(spec_from_config(config, CATALOG))
    assert plan.fits, plan.violations  # the generator's budgets hold the hardware: the planner agrees
    assert all(lv.rated_kw <= lv.limit_kw + 1e-6 for lv in plan.levels)
    assert all(c.max_nodes <= c.node_limit for c in plan.clusters)
    assert sum(t.allotted_kw for t in plan.tenants) <= plan.levels[0].budget_kw + 1e-6
    # Power enforced at admission: what Kueue may admit (every tenant's nominal quota) draws no more
    # than the site's and each hall's budget, whatever the hardware is rated at.
    for level in (lv for lv in plan.levels if lv.kind in ("site", "hall")):
        assert admissible_kw(plan, level.path) <= level.budget_kw + 1e-6


@settings(max_examples=200, deadline=None)
@given(configs())
def test_a_plan_over_a_budget_names_the_level(config):
    plan = make_plan(spec_from_config(config, CATALOG))
    over = {lv.path for lv in plan.levels if lv.rated_kw > lv.limit_kw + 1e-6}
    assert over <= {v.path for v in plan.violations}


def admissible_kw(plan, level: str) -> float:
    """kW drawn by every tenant's nominal quota in the clusters under `level`, at each flavor's
    average per-GPU power in that cluster (Kueue places a flavor's GPUs on any of its pools)."""
    kw = 0.0
    for cluster in (c for c in plan.clusters if c.level == level or c.level.startswith(level + "/")):
        pools = [p for p in plan.pools_of(cluster.name) if p.flavor]
        for tenant in plan.tenants:
            for flavor, gpus in tenant.quotas_by_cluster.get(cluster.name, {}).items():
                of_flavor = [p for p in pools if p.flavor == flavor]
                total = sum(p.gpus for p in of_flavor)
                kw += gpus * sum(p.rated_kw for p in of_flavor) / total if total else 0.0
    return kw


@settings(max_examples=200, deadline=None)
@given(configs())
def test_quotas_never_exceed_capacity(config):
    plan = make_plan(spec_from_config(config, CATALOG))
    for cluster in plan.clusters:
        for flavor, capacity in cluster.gpus_by_flavor.items():
            granted = [t.quotas_by_cluster.get(cluster.name, {}).get(flavor, 0) for t in plan.tenants]
            assert all(0 <= g <= capacity for g in granted)
            assert sum(granted) <= capacity


@given(st.integers(0, 100_000), st.integers(1, 5_000), st.integers(0, 10))
def test_fleet_split_is_minimal_and_within_limits(nodes, limit, reserved):
    if reserved >= limit:
        return
    sizes = split_fleet(nodes, limit, reserved)
    room = limit - reserved
    assert sum(sizes) == nodes
    assert all(0 < s <= room for s in sizes)
    assert len(sizes) == -(-nodes // room)  # ceil: no fewer clusters can hold them
    assert not sizes or max(sizes) - min(sizes) <= 1


@settings(max_examples=200, deadline=None)
@given(configs(), st.floats(0, 1), st.floats(0, 1))
def test_borrowing_never_takes_a_tenant_past_the_cluster(config, borrow, lend):
    for tenant in config["tenants"][::2]:
        tenant.update(borrowing_limit=borrow, lending_limit=lend)
    plan = make_plan(spec_from_config(config, CATALOG))
    for tenant in plan.tenants:
        for cluster, per_flavor in tenant.quotas_by_cluster.items():
            capacity = plan.cluster(cluster).gpus_by_flavor
            for flavor, nominal in per_flavor.items():
                assert 0 <= nominal + tenant.borrowing_by_cluster[cluster][flavor] <= capacity[flavor]
                if tenant.lending_by_cluster is not None:
                    assert 0 <= tenant.lending_by_cluster[cluster][flavor] <= nominal
            assert tenant.gpu_ceiling(cluster) <= plan.cluster(cluster).gpus
