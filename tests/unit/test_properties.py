"""Invariants over random specs: no accepted plan exceeds a budget, quotas never
exceed capacity, every cluster of an accepted plan fits its control plane."""

from hypothesis import given, settings
from hypothesis import strategies as st

from aion_factory import load_catalog, make_plan, spec_from_config, split_fleet

CATALOG = load_catalog()
GPU_TYPES = sorted(n for n, t in CATALOG.gpu_node_types.items() if "fr-par-2" in t.zones)


@st.composite
def configs(draw):
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
            pool = {"name": f"p{p}", "node_type": node_type, "size": draw(st.integers(0, 300))}
            if draw(st.booleans()):
                pool.update(autoscaling=True, max_size=pool["size"] + draw(st.integers(0, 100)))
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


@settings(max_examples=200, deadline=None)
@given(configs())
def test_accepted_plans_respect_every_budget_and_limit(config):
    plan = make_plan(spec_from_config(config, CATALOG))
    if plan.fits:
        assert all(lv.rated_kw <= lv.limit_kw + 1e-6 for lv in plan.levels)
        assert all(c.max_nodes <= c.node_limit for c in plan.clusters)
        assert sum(t.allotted_kw for t in plan.tenants) <= plan.levels[0].budget_kw + 1e-6
        # Power enforced at admission: what Kueue may admit (every tenant's nominal quota) draws
        # no more than each hall's budget, whatever the hardware is rated at.
        for hall in (lv for lv in plan.levels if lv.kind == "hall"):
            assert admissible_kw(plan, hall.path) <= hall.budget_kw + 1e-6
    else:
        assert plan.violations


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
