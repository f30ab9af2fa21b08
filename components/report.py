"""A plan as JSON, as a terminal table, and as a Markdown report with an SVG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .planner import Plan
from .rendering import render


def _kw(value: float) -> float:
    return round(value, 3)


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    site = plan.site
    buys = site.headroom_buys
    return {
        "fits": plan.fits,
        "site": {
            "name": site.name,
            "pue": site.pue,
            "facility_budget_kw": _kw(site.facility_budget_kw),
            "it_budget_kw": _kw(site.it_budget_kw),
            "rated_it_kw": _kw(site.rated_it_kw),
            "rated_facility_kw": _kw(site.rated_facility_kw),
            "headroom_kw": _kw(site.headroom_kw),
            "gpus_by_model": site.gpus_by_model,
            "h100_equivalents": {"fp8": round(site.h100_equivalents.fp8, 2), "bf16": round(site.h100_equivalents.bf16, 2)},
            "headroom_buys": {
                "node_type": buys.node_type,
                "nodes": buys.nodes,
                "gpus": buys.gpus,
                "h100_equivalents_fp8": round(buys.h100_equivalents_fp8, 2),
                "h100_equivalents_bf16": round(buys.h100_equivalents_bf16, 2),
                "clusters_needed": buys.clusters_needed,
            },
        },
        "levels": [
            {
                "path": lv.path,
                "kind": lv.kind,
                "budget_kw": _kw(lv.budget_kw),
                "oversubscription": lv.oversubscription,
                "rated_kw": _kw(lv.rated_kw),
            }
            for lv in plan.levels
        ],
        "clusters": [
            {
                "name": c.name,
                "target": c.target,
                "control_plane": c.control_plane,
                "node_limit": c.node_limit,
                "max_nodes": c.max_nodes,
                "gpus": c.gpus,
                "gpus_by_flavor": c.gpus_by_flavor,
                "rated_kw": _kw(c.rated_kw),
            }
            for c in plan.clusters
        ],
        "pools": [
            {
                "cluster": p.cluster,
                "name": p.name,
                "node_type": p.node_type,
                "flavor": p.flavor,
                "nodes": p.nodes,
                "gpus": p.gpus,
                "node_power_w": round(p.node_power_w, 1),
                "rated_kw": _kw(p.rated_kw),
                "level": p.level,
            }
            for p in plan.pools
        ],
        "tenants": [
            {"name": t.name, "allotted_kw": t.allotted_kw, "quotas": t.quotas, "quotas_by_cluster": t.quotas_by_cluster}
            for t in plan.tenants
        ],
        "violations": [{"path": v.path, "message": v.message} for v in plan.violations],
    }


def format_table(plan: Plan) -> str:
    site = plan.site
    lines = [
        f"site {site.name}: facility {site.facility_budget_kw:,.0f} kW at PUE {site.pue:g} = IT budget {site.it_budget_kw:,.1f} kW",
        f"rated IT {site.rated_it_kw:,.1f} kW (facility {site.rated_facility_kw:,.1f} kW), headroom {site.headroom_kw:,.1f} kW",
        "",
        f"{'level':<40} {'budget kW':>12} {'x over':>7} {'rated kW':>12} {'use':>7}",
    ]
    for lv in plan.levels:
        use = f"{100 * lv.rated_kw / lv.limit_kw:.1f}%" if lv.limit_kw else "-"
        flag = "" if lv.fits else "  OVER"
        lines.append(f"{lv.path:<40} {lv.budget_kw:>12,.1f} {lv.oversubscription:>7g} {lv.rated_kw:>12,.1f} {use:>7}{flag}")
    lines += ["", f"{'cluster':<24} {'control plane':<22} {'nodes':>11} {'GPUs':>7} {'rated kW':>12}"]
    for c in plan.clusters:
        plane = c.control_plane or "(none fits)"
        lines.append(f"{c.name:<24} {plane:<22} {c.max_nodes:>5}/{c.node_limit:<5} {c.gpus:>7} {c.rated_kw:>12,.1f}")
    if plan.tenants:
        lines += ["", f"{'tenant':<24} {'kW':>10}  GPU quotas"]
        for t in plan.tenants:
            quotas = ", ".join(f"{flavor} {gpus}" for flavor, gpus in t.quotas.items()) or "none"
            lines.append(f"{t.name:<24} {t.allotted_kw:>10,.1f}  {quotas}")
    eq, buys = site.h100_equivalents, site.headroom_buys
    lines += [
        "",
        f"GPUs: {', '.join(f'{m} {n}' for m, n in site.gpus_by_model.items()) or 'none'}",
        f"H100-equivalents: {eq.fp8:,.1f} at FP8, {eq.bf16:,.1f} at BF16 (dense)",
        f"headroom buys: {buys.nodes:,} x {buys.node_type} = {buys.gpus:,} GPUs = {buys.h100_equivalents_fp8:,.0f} H100-eq FP8 "
        f"({buys.h100_equivalents_bf16:,.0f} BF16), in {buys.clusters_needed} clusters",
    ]
    if plan.violations:
        lines += ["", "VIOLATIONS:"] + [f"  {v.path}: {v.message}" for v in plan.violations]
    return "\n".join(lines) + "\n"


def chart_rows(plan: Plan, width: float = 480.0) -> list[dict[str, Any]]:
    """Bar geometry for the SVG: each level's limit and rated power on one scale."""
    top = max([lv.limit_kw for lv in plan.levels] + [lv.rated_kw for lv in plan.levels] + [1.0])
    return [
        {
            "path": lv.path,
            "limit_kw": lv.limit_kw,
            "rated_kw": lv.rated_kw,
            "limit_width": round(width * lv.limit_kw / top, 1),
            "rated_width": round(width * lv.rated_kw / top, 1),
            "fits": lv.fits,
        }
        for lv in plan.levels
    ]


def write_report(plan: Plan, directory: str | Path) -> list[Path]:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    svg = out / "power.svg"
    svg.write_text(render("power.svg.j2", rows=chart_rows(plan)))
    markdown = out / "report.md"
    markdown.write_text(render("report.md.j2", plan=plan, chart=svg.name))
    return [markdown, svg]
