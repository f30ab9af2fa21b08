"""Generated stack configs for the benchmarks: an AION-scale site, and one local cluster with N tenants.

Deterministic (seeded), and valid: every generated config loads, validates and
plans without a violation (`check()` says so before a benchmark times it).
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT

LOCAL_STACK = ROOT / "stacks/Pulumi.local.yaml"
PUE = 1.15  # OpCore DC5's reported figure, as examples/aion-200mw.yaml uses
CLUSTERS_PER_HALL = 18
ROW_KW = 2_400.0
# Three GPU pools per cluster, rated 2,290 kW together (a row holds 2,400 kW):
# B300 for frontier training, capped H100 for training, L40S for inference.
POOLS = (
    {"name": "b300", "node_type": "B300-SXM-8-288G", "size": 100, "max_size": 110, "autoscaling": True, "multi_node_training": True},
    {"name": "h100", "node_type": "H100-SXM-8-80G", "size": 60, "gpu_power_cap_w": 600, "multi_node_training": True},
    {"name": "l40s", "node_type": "L40S-8-48G", "size": 40, "labels": {"workload": "inference"}},
)
EXTRA_POOL = {"name": "l4", "node_type": "L4-8-24G", "size": 10, "sharing": {"time_slicing_replicas": 4}}


def aion_site(halls: int = 4, tenants: int = 520, seed: int = 7) -> dict[str, Any]:
    """`halls` halls of 18 clusters (one per row), 3 or 4 GPU pools each, and `tenants` tenants
    on 1 to 4 clusters of one hall. 4 halls: 200 MW, 72 clusters, 236 pools."""
    rng = random.Random(seed)
    hall_kw = CLUSTERS_PER_HALL * ROW_KW * 0.995  # a hall's budget below its rows' sum: oversubscription is data
    site = {
        "name": "aion",
        "facility_power_mw": round(halls * 50.0, 3),  # 200 MW for 4 halls
        "pue": PUE,
        "halls": [
            {
                "name": f"hall-{h + 1}",
                "it_power_kw": round(hall_kw, 1),
                "rows": [{"name": f"row-{r + 1:02d}", "it_power_kw": ROW_KW} for r in range(CLUSTERS_PER_HALL)],
            }
            for h in range(halls)
        ],
    }
    clusters = []
    for h in range(halls):
        for r in range(CLUSTERS_PER_HALL):
            pools = [copy.deepcopy(p) for p in POOLS]
            if r % 4 == 0:  # a quarter of the clusters also serve small models on time-sliced L4s
                pools[2]["size"] = 30
                pools.append(copy.deepcopy(EXTRA_POOL))
            clusters.append(
                {
                    "name": f"h{h + 1}-c{r + 1:02d}",
                    "target": "scaleway",
                    "zone": "fr-par-2",
                    "hall": f"hall-{h + 1}",
                    "row": f"row-{r + 1:02d}",
                    "control_plane": "auto",
                    "subnet": _subnet(h * CLUSTERS_PER_HALL + r),
                    "system_pool": {"node_type": "POP2-8C-32G", "size": 2},
                    "pools": pools,
                }
            )
    # Tenants share about 85% of the site's IT budget, unevenly, each on 1 to 4 clusters of one hall.
    it_kw = halls * 50_000 / PUE
    weights = [rng.paretovariate(1.5) for _ in range(tenants)]
    scale = 0.85 * it_kw / sum(weights)
    tenant_list = []
    for t in range(tenants):
        hall = rng.randrange(halls)
        names = [f"h{hall + 1}-c{r + 1:02d}" for r in rng.sample(range(CLUSTERS_PER_HALL), rng.choice((1, 2, 2, 3, 4)))]
        tenant: dict[str, Any] = {"name": f"tenant-{t:04d}", "power_kw": round(weights[t] * scale, 1), "clusters": sorted(names)}
        if t % 3 == 0:
            tenant["borrowing_limit"] = 0.5
        if t % 5 == 0:
            tenant["lending_limit"] = 0.25
        tenant_list.append(tenant)
    values = {"site": site, "clusters": clusters, "tenants": tenant_list}
    within_budgets(values)
    return values


def within_budgets(values: dict[str, Any]) -> None:
    """Scale down the tenants drawing on a level allotted beyond its budget, until none is: the
    planner refuses allotments Kueue could turn into more power than a row or hall may draw."""
    from aion_factory import make_plan, spec_from_config
    from aion_factory.planner.power import allotted_levels, pools_by_cluster, tenant_kw_by_level

    for _ in range(20):
        spec = spec_from_config(values)
        plan = make_plan(spec)
        by_cluster = pools_by_cluster([p for p in plan.pools if p.flavor])
        allotted = tenant_kw_by_level(plan.levels[0].path, spec.tenants, by_cluster)
        over = {lv.path: lv.budget_kw / allotted[lv.path] for lv in plan.levels if allotted.get(lv.path, 0.0) > lv.budget_kw}
        if not over:
            return
        for tenant, spec_tenant in zip(values["tenants"], spec.tenants, strict=True):
            factors = [over[path] for path in allotted_levels(spec_tenant, by_cluster) if path in over]
            if factors:
                tenant["power_kw"] = round(tenant["power_kw"] * min(factors) * 0.99, 1)


def _subnet(index: int) -> str:
    """A /22 of its own per cluster, inside 10.0.0.0/8."""
    return f"10.{index // 64}.{index % 64 * 4}.0/22"


def local_values() -> dict[str, Any]:
    """The local stack's `aion:` values (stacks/Pulumi.local.yaml), keyed without namespace."""
    config = yaml.safe_load(LOCAL_STACK.read_text())["config"]
    return {key.removeprefix("aion:"): value for key, value in config.items() if key.startswith("aion:")}


def local_cluster(tenants: int) -> dict[str, Any]:
    """The local stack with `tenants` tenants sharing 75% of its row's budget (the pools stay as they are)."""
    values = local_values()
    row_kw = values["site"]["halls"][0]["rows"][0]["it_power_kw"]
    each_kw = round(0.75 * row_kw / tenants, 3)
    values["tenants"] = [
        {
            "name": f"tenant-{t:04d}",
            "power_kw": each_kw,
            "clusters": ["local"],
            **({"borrowing_limit": 0.5} if t % 2 else {"lending_limit": 0.5}),
        }
        for t in range(tenants)
    ]
    return values


def write_stack(path: Path, values: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"config": {f"aion:{k}": v for k, v in values.items()}}, sort_keys=False))
    return path


def counts(values: dict[str, Any]) -> dict[str, int]:
    clusters = values.get("clusters", [])
    return {
        "clusters": len(clusters),
        "pools": sum(len(c.get("pools", [])) for c in clusters),
        "tenants": len(values.get("tenants", [])),
        "multi_cluster_tenants": sum(len(t["clusters"]) > 1 for t in values.get("tenants", [])),
    }


def check(values: dict[str, Any]) -> None:
    """Valid and within every budget, or raise: a benchmark of a failing plan measures the wrong thing."""
    from aion_factory import make_plan, spec_from_config

    plan = make_plan(spec_from_config(values))
    if plan.violations:
        raise ValueError("generated site violates its budgets: " + "; ".join(f"{v.path}: {v.message}" for v in plan.violations[:5]))
