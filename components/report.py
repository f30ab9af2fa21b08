"""A plan as a terminal table, and as a report: Markdown, an SVG chart and an HTML page (its JSON: `plan_document`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from markupsafe import Markup

from .catalog import load_catalog
from .errors import format_problems
from .planner import AccountPlan, HeadroomBuys, Plan, placeable_headroom_kw
from .planner.equivalence import headroom_buys
from .rendering import render
from .report_chart import kw, percent_text, power_chart, text_bars
from .spec import SystemPool
from .wording import count


def format_table(plan: Plan, stacks: Mapping[str, str] | None = None) -> str:
    """The plan as a terminal table; with `stacks` (cluster -> stack name), which stack deploys each cluster."""
    site = plan.site
    lines = [
        f"site {site.name}: facility {site.facility_budget_kw:,.0f} kW at PUE {site.pue:g} = IT budget {site.it_budget_kw:,.1f} kW",
        f"rated IT {site.rated_it_kw:,.1f} kW (facility {site.rated_facility_kw:,.1f} kW), headroom {site.headroom_kw:,.1f} kW",
        "",
        *format_levels(plan),
    ]
    stack_header = "  stack" if stacks is not None else ""
    lines += ["", f"{'cluster':<24} {'control plane':<22} {'nodes':>11} {'GPUs':>7} {'rated kW':>12}{stack_header}"]
    for c in plan.clusters:
        plane = c.control_plane or "(none fits)"
        stack = f"  {stacks.get(c.name, '(no stack)')}" if stacks is not None else ""
        lines.append(f"{c.name:<24} {plane:<22} {c.max_nodes:>5}/{c.node_limit:<5} {c.gpus:>7,} {c.rated_kw:>12,.1f}{stack}")
    lines += account_lines(plan.account)
    if plan.tenants:
        lines += ["", f"{'tenant':<24} {'kW':>10}  GPU quotas"]
        for t in plan.tenants:
            quotas = ", ".join(f"{flavor} {gpus:,}" for flavor, gpus in t.quotas.items()) or "none"
            lines.append(f"{t.name:<24} {t.allotted_kw:>10,.1f}  {quotas}")
    eq, buys = site.h100_equivalents, site.headroom_buys
    lines += [
        "",
        f"GPUs: {', '.join(f'{m} {n:,}' for m, n in site.gpus_by_model.items()) or 'none'}",
        f"H100-equivalents: {eq.fp8:,.1f} at FP8, {eq.bf16:,.1f} at BF16 (dense)",
        f"headroom buys: {buys.nodes:,} x {buys.node_type} = {buys.gpus:,} GPUs = {buys.h100_equivalents_fp8:,.0f} H100-eq FP8 "
        f"({buys.h100_equivalents_bf16:,.0f} BF16), in {count(buys.clusters_needed, 'cluster')}{_by_hall(buys.clusters_by_hall)}",
    ]
    if line := basis_line(plan):
        lines.append(f"  {line}")
    if plan.account.headroom:
        lines.append(f"  {headroom_quota_line(plan.account)}")
    if plan.violations:
        lines += ["", format_problems(plan.violations, "VIOLATIONS:", indent="  ")]
    return "\n".join(lines) + "\n"


def account_lines(account: AccountPlan) -> list[str]:
    """The account level: each Organization quota the clusters touch, what they need and against which figure."""
    if not account.quotas:
        return []
    where = ", ".join(f"{kind} {value}" for kind, value in (("Organization", account.organization), ("Project", account.project)) if value)
    how = "" if account.declared else "; no `account:` declared: Scaleway's published defaults, refusing nothing"
    lines = ["", f"account{f' ({where})' if where else ''}: Scaleway quotas hold per Organization{how}"]
    lines.append(f"{'quota':<46} {'needed':>10} {'elsewhere':>10} {'quota':>10}  figure")
    for use in account.quotas:
        figure = "raised" if use.raised else "default"
        flag = "" if use.fits else "  OVER"
        lines.append(f"{use.name:<46} {use.needed:>10,} {use.in_use:>10,} {use.limit:>10,}  {figure}{flag}")
    over = [use for use in account.quotas if not use.fits]
    if over and not account.declared:
        raises = ", ".join(f"{use.name} to {use.total:,}" for use in over)
        lines.append(f"to deploy it, raise by support tickets (and declare in `account.quotas`): {raises}")
    return lines


def headroom_quota_line(account: AccountPlan) -> str:
    """What buying the headroom too would ask of the Organization beyond its quotas."""
    raises = ", ".join(f"{use.name} to {use.total:,} (quota {use.limit:,})" for use in account.headroom)
    return f"buying it would pass Organization quotas: raise {raises}"


def format_levels(plan: Plan) -> list[str]:
    """Budget and rated power of every level, a line each."""
    lines = [f"{'level':<40} {'budget kW':>12} {'x over':>7} {'rated kW':>12} {'% budget':>9}"]
    for lv in plan.levels:
        flag = "" if lv.fits else "  OVER"
        lines.append(f"{lv.path:<40} {lv.budget_kw:>12,.1f} {lv.oversubscription:>7g} {lv.rated_kw:>12,.1f} {percent_text(lv):>9}{flag}")
    return lines


def headroom_at_wall(plan: Plan) -> tuple[float, float, HeadroomBuys] | None:
    """What the headroom buys with its node type counted at its wall maximum, where the catalog counts
    another basis (the DGX B300's 14.5 kW is an estimate at the DC bus; about 15 kW at the wall):
    (counted W, wall W, what it buys then), or None where the counted figure is the wall maximum."""
    catalog = load_catalog()
    buys = plan.site.headroom_buys
    node = catalog.gpu_node_types[buys.node_type]
    if node.wall_max_power_w is None:
        return None
    at_wall = headroom_buys(catalog, placeable_headroom_kw(list(plan.levels)), SystemPool().size, buys.node_type, node.wall_max_power_w)
    return node.node_max_power_w, node.wall_max_power_w, at_wall


def basis_line(plan: Plan) -> str | None:
    """How the headroom's answer moves when its node type is counted at the wall instead."""
    moved = headroom_at_wall(plan)
    if moved is None:
        return None
    counted_w, wall_w, at_wall = moved
    basis = load_catalog().gpu_node_types[at_wall.node_type].power_basis.replace("_", " ")
    return (
        f"counted at its wall maximum ({wall_w / 1000:,.1f} kW, not the {counted_w / 1000:,.1f} kW {basis}): "
        f"{at_wall.nodes:,} nodes = {at_wall.gpus:,} GPUs = {at_wall.h100_equivalents_fp8:,.0f} H100-eq FP8, "
        f"in {count(at_wall.clusters_needed, 'cluster')}"
    )


REPORT_FILES = ("report.md", "power.svg", "report.html")


def write_report(plan: Plan, directory: str | Path) -> list[Path]:
    """report.md (for a pull-request comment: the levels drawn in characters, no image), power.svg
    (the chart) and report.html (the same page with the chart inline: one self-contained file)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    chart = power_chart(plan)
    figures = {"plan": plan, "chart": chart, "basis_line": basis_line(plan), "kw": kw, "percent": percent_text, "count": count}
    svg_text = render("power.svg.j2", c=chart)
    written = {
        "report.md": render("report.md.j2", bars=text_bars(plan), **figures),
        "power.svg": svg_text,
        "report.html": render("report.html.j2", svg=Markup(svg_text), **figures),  # the SVG template escapes its own text
    }
    for name, text in written.items():
        (out / name).write_text(text)
    return [out / name for name in REPORT_FILES]


def _by_hall(clusters_by_hall: dict[str, int]) -> str:
    """Where the clusters go, when there is more than one hall to say it of."""
    if len(clusters_by_hall) < 2:
        return ""
    return " (" + ", ".join(f"{hall} {n}" for hall, n in clusters_by_hall.items()) + ")"
