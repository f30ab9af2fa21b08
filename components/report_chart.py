"""The report's pictures as geometry: power per level (each on its own scale: percent of its budget,
stacked by what draws from it) and what the headroom buys per node type. Pure: the SVG template
(templates/power.svg.j2) only draws what this computes, and `text_bars` draws the same levels in
characters for a pull-request comment (GitHub strips data: image URIs from Markdown, so a comment
cannot carry the SVG)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .catalog import Catalog, load_catalog
from .planner import LevelPlan, Plan, PoolPlan, placeable_headroom_kw
from .planner.equivalence import headroom_buys
from .spec import SystemPool

# Text is measured, not rendered: 0.62 em a character is wider than the digits and most letters of
# the common sans-serif fonts (Arial 0.56, DejaVu Sans 0.64 for digits only), so labels fit the canvas.
FONT_PX = 12
CHAR_PX = FONT_PX * 0.62
SMALL_PX = 10
SMALL_CHAR_PX = SMALL_PX * 0.62
BAR_PX = 420
ROW_PX = 26
MARGIN = 12
MAX_SEGMENTS = 8  # more pools than this under a level: stack by cluster, then by hall or row
SYSTEM = "system pools (CPU)"
# One colour per GPU model (CPU-only: grey); segments of the same model are told apart by a white edge.
COLOURS = {
    "B300-SXM": "#2f6db5",
    "H100-SXM": "#2e8b57",
    "H100-PCIe": "#74b88a",
    "L40S": "#d0862f",
    "L4": "#b59a2f",
    "P100": "#8a6db5",
}
SPARE_COLOURS = ("#5a8fa8", "#a85a7a", "#6b8e23", "#8b5a2b")
CPU_COLOUR = "#9aa3ad"


def kw(value: float) -> str:
    """kW as the tables print it, so a figure in the chart is the same string as the table's."""
    return f"{value:,.1f}"


@dataclass(frozen=True)
class Segment:
    label: str
    kw: float
    x: float
    width: float
    colour: str
    show_label: bool


@dataclass(frozen=True)
class LevelBar:
    path: str
    label: str
    y: float
    budget_kw: float
    limit_kw: float
    rated_kw: float
    percent: float  # rated, % of the budget
    limit_x: float | None  # the oversubscription limit's mark, where it is not the budget
    over_x: float | None  # from the limit to the end of the bar, where rated is over the limit
    over_width: float
    fits: bool
    segments: tuple[Segment, ...]
    figures: str


@dataclass(frozen=True)
class LegendItem:
    kind: str  # swatch, budget, limit or over
    colour: str
    text: str
    x: float


@dataclass(frozen=True)
class BuysBar:
    label: str
    y: float
    width: float
    colour: str
    estimate: bool
    figures: str


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    bar_x: float
    figures_x: float
    top_percent: int
    ticks: tuple[tuple[float, int], ...]  # (x, percent)
    budget_x: float
    levels_top: float
    levels: tuple[LevelBar, ...]
    legend: tuple[LegendItem, ...]
    legend_y: float
    buys_title: str
    buys_y: float
    buys: tuple[BuysBar, ...]
    buys_note: str


def level_label(level: LevelPlan) -> str:
    """The level's own name, indented under its parent."""
    depth = level.path.count("/")
    return "  " * depth + level.path.rsplit("/", 1)[-1]


def level_figures(level: LevelPlan) -> str:
    limit = f", limit {kw(level.limit_kw)}" if level.oversubscription != 1 else ""
    over = f" · OVER by {kw(level.rated_kw - level.limit_kw)} kW" if not level.fits else ""
    return f"{percent_text(level)} · {kw(level.rated_kw)} / {kw(level.budget_kw)} kW{limit}{over}"


def percent_text(level: LevelPlan) -> str:
    percent = level.percent_of_budget
    return "-" if percent is None else f"{percent:.1f}%"


def top_percent(levels: tuple[LevelPlan, ...]) -> int:
    """The axis' end: 100 %, or past the highest limit or bar, to the next 10 %."""
    highest = max([100.0] + [100 * max(lv.rated_kw, lv.limit_kw) / lv.budget_kw for lv in levels if lv.budget_kw])
    return int(math.ceil(highest / 10 - 1e-9) * 10)


def power_chart(plan: Plan, catalog: Catalog | None = None) -> Chart:
    catalog = catalog or load_catalog()
    levels = plan.levels
    top = top_percent(levels)
    scale = BAR_PX / top  # px per percent
    label_px = max(len(level_label(lv)) for lv in levels) * CHAR_PX
    bar_x = MARGIN + max(label_px, 16 * CHAR_PX) + 12
    figures_x = bar_x + BAR_PX + 12
    figures_px = max(len(level_figures(lv)) for lv in levels) * CHAR_PX
    levels_top = 56.0
    bars = tuple(_level_bar(plan, lv, levels_top + i * ROW_PX, bar_x, scale) for i, lv in enumerate(levels))
    legend = _legend(plan)
    legend_y = levels_top + len(levels) * ROW_PX + 14
    buys_title, buys, note = _buys(plan, catalog, legend_y + 40, bar_x)
    buys_px = max([len(b.figures) * CHAR_PX for b in buys] + [0.0])
    height = legend_y + 40 + (len(buys) + 1) * ROW_PX + (20 if note else 0)
    width = max(figures_x + max(figures_px, buys_px), len(_TITLE) * CHAR_PX + MARGIN, len(buys_title) * CHAR_PX + MARGIN) + MARGIN
    return Chart(
        width=round(width),
        height=round(height),
        bar_x=round(bar_x, 1),
        figures_x=round(figures_x, 1),
        top_percent=top,
        ticks=tuple((round(bar_x + p * scale, 1), p) for p in range(0, top + 1, 25 if top <= 150 else 50)),
        budget_x=round(bar_x + 100 * scale, 1),
        levels_top=levels_top,
        levels=bars,
        legend=legend,
        legend_y=legend_y,
        buys_title=buys_title,
        buys_y=legend_y + 40,
        buys=buys,
        buys_note=note,
    )


_TITLE = "IT power per level, as a share of its own budget (100% = the level's budget)"


def _level_bar(plan: Plan, level: LevelPlan, y: float, bar_x: float, scale: float) -> LevelBar:
    per_kw = 100 * scale / level.budget_kw if level.budget_kw else 0.0
    segments, x = [], bar_x
    for label, group in _groups(plan, level):
        power = sum(p.rated_kw for p in group)
        if power <= 0:
            continue
        width = power * per_kw
        segments.append(Segment(label, power, round(x, 1), round(width, 1), _group_colour(group), len(label) * SMALL_CHAR_PX + 6 <= width))
        x += width
    limit_x = bar_x + level.limit_kw * per_kw if level.oversubscription != 1 else None
    over = not level.fits
    return LevelBar(
        path=level.path,
        label=level_label(level),
        y=y,
        budget_kw=level.budget_kw,
        limit_kw=level.limit_kw,
        rated_kw=level.rated_kw,
        percent=level.percent_of_budget or 0.0,
        limit_x=None if limit_x is None else round(limit_x, 1),
        over_x=round(bar_x + level.limit_kw * per_kw, 1) if over else None,
        over_width=round((level.rated_kw - level.limit_kw) * per_kw, 1) if over else 0.0,
        fits=level.fits,
        segments=tuple(segments),
        figures=level_figures(level),
    )


def _groups(plan: Plan, level: LevelPlan) -> list[tuple[str, list[PoolPlan]]]:
    """What draws from the level, in as few groups as read well: its pools, else its clusters,
    else the levels under it; the system pools (CPU, a few hundred W each) as one group."""
    pools = [p for p in plan.pools if p.level == level.path or p.level.startswith(level.path + "/")]
    gpu = [p for p in pools if p.gpu_model]
    system = [p for p in pools if not p.gpu_model]
    depth = level.path.count("/") + 1

    def pool_key(p: PoolPlan) -> str:
        return f"{p.cluster}/{p.name}"

    def cluster_key(p: PoolPlan) -> str:
        return p.cluster

    def child_key(p: PoolPlan) -> str:  # the hall or row under the level it draws from
        return p.level.split("/")[depth] if p.level.count("/") >= depth else p.cluster

    clusters = {p.cluster for p in gpu}
    by_pool = len(clusters) == 1 or len(clusters) < len(gpu)  # one GPU pool a cluster: the cluster's name says it shorter
    keys: list[Callable[[PoolPlan], str]] = [pool_key, cluster_key, child_key] if by_pool else [cluster_key, child_key]
    groups: dict[str, list[PoolPlan]] = {}
    for key in keys:
        groups = {}
        for pool in gpu if key is pool_key else pools:
            groups.setdefault(key(pool), []).append(pool)
        if len(groups) <= MAX_SEGMENTS:
            break
    if key is pool_key and system:
        groups[SYSTEM] = system
    return list(groups.items())


def _legend(plan: Plan) -> tuple[LegendItem, ...]:
    """Only what the chart draws: its GPU models, the budget line, and the limit and overrun where there are."""
    models = sorted({pool.gpu_model for pool in plan.pools if pool.gpu_model})
    items = [("swatch", _colour(m), m) for m in models] + [("swatch", CPU_COLOUR, "CPU")] * bool(plan.pools)
    items.append(("budget", "#111111", "budget (100%)"))
    if any(lv.oversubscription != 1 for lv in plan.levels):
        items.append(("limit", "#333333", "oversubscription limit"))
    if not all(lv.fits for lv in plan.levels):
        items.append(("over", "#d0343a", "over the limit"))
    legend, x = [], float(MARGIN)
    for kind, colour, text in items:
        legend.append(LegendItem(kind, colour, text, round(x, 1)))
        x += 14 + len(text) * SMALL_CHAR_PX + 14
    return tuple(legend)


def _colour(gpu_model: str) -> str:
    return COLOURS.get(gpu_model) or SPARE_COLOURS[sum(map(ord, gpu_model)) % len(SPARE_COLOURS)]


def _group_colour(group: list[PoolPlan]) -> str:
    """The colour of the GPU model that draws the most of the group's power."""
    by_model: dict[str, float] = {}
    for pool in group:
        if pool.gpu_model:
            by_model[pool.gpu_model] = by_model.get(pool.gpu_model, 0.0) + pool.rated_kw
    return _colour(max(sorted(by_model), key=lambda m: by_model[m])) if by_model else CPU_COLOUR


def _buys(plan: Plan, catalog: Catalog, top: float, bar_x: float) -> tuple[str, tuple[BuysBar, ...], str]:
    """What the headroom buys in each GPU model's best node type, beside what the site has now,
    in FP8 H100-equivalents on one scale; node types that buy no node are named, not drawn."""
    placeable = placeable_headroom_kw(list(plan.levels))
    # GPU model -> node type, H100-eq, nodes, GPUs: a published power figure first (as the planner's answer
    # is), then the most H100-eq (small nodes fill what is left of a hall better)
    best: dict[str, tuple[str, float, int, int]] = {}
    ranked: dict[str, tuple[bool, float]] = {}
    for name, node in catalog.gpu_node_types.items():
        buys = headroom_buys(catalog, placeable, SystemPool().size, name)
        rank = (not catalog.is_estimate(node.power_source), buys.h100_equivalents_fp8)
        if node.gpu_model not in ranked or rank > ranked[node.gpu_model]:
            ranked[node.gpu_model] = rank
            best[node.gpu_model] = (name, buys.h100_equivalents_fp8, buys.nodes, buys.gpus)
    rows: list[tuple[str, float, str, bool, str]] = []
    now = plan.site.h100_equivalents.fp8
    if now > 0:
        gpus = sum(plan.site.gpus_by_model.values())
        rows.append(("the site now", now, CPU_COLOUR, False, f"{gpus:,} GPUs = {now:,.0f} H100-eq"))
    no_fp8: list[str] = []
    too_big: list[str] = []
    for model, (name, equivalents, nodes, gpus) in sorted(best.items(), key=lambda item: (-item[1][1], item[0])):
        if equivalents <= 0:
            (too_big if nodes == 0 else no_fp8).append(f"{name} ({model})")
            continue
        estimate = catalog.is_estimate(catalog.gpu_node_types[name].power_source)
        basis = ", power estimated" if estimate else ""
        rows.append((name, equivalents, _colour(model), estimate, f"+{nodes:,} nodes = {gpus:,} GPUs = {equivalents:,.0f} H100-eq{basis}"))
    longest = max([r[1] for r in rows] + [1.0])
    bars = tuple(  # at least 2 px: a bar is never drawn empty
        BuysBar(label, top + i * ROW_PX, max(2.0, round(BAR_PX * value / longest, 1)), colour, estimate, figures)
        for i, (label, value, colour, estimate, figures) in enumerate(rows)
    )
    title = f"What the headroom ({kw(plan.site.headroom_kw)} kW) buys: FP8 H100-equivalents (dense), each GPU model's best node type"
    notes = [f"too little headroom for one node of {', '.join(too_big)}"] * bool(too_big)
    notes += [f"no FP8, so no H100-equivalents: {', '.join(no_fp8)}"] * bool(no_fp8)
    note = "; ".join(notes)
    return title, bars, note


def text_bars(plan: Plan, width: int = 40) -> str:
    """The levels as character bars, for a pull-request comment: `|` is the budget, `¦` the limit."""
    top = top_percent(plan.levels)
    label_width = max(len(level_label(lv)) for lv in plan.levels)
    budget_at = round(width * 100 / top)
    lines = [f"{'':<{label_width}}  0%{'':<{budget_at - 6}}100%"]
    for level in plan.levels:
        cells = [" "] * (width + 1)
        filled = width * (100 * level.rated_kw / level.budget_kw) / top if level.budget_kw else 0.0
        for i in range(min(int(filled), width)):
            cells[i] = "█"
        if filled > int(filled) and int(filled) < width:
            cells[int(filled)] = " ▏▎▍▌▋▊▉"[min(7, int((filled - int(filled)) * 8))]
        if cells[budget_at] == " ":
            cells[budget_at] = "|"
        if level.oversubscription != 1 and level.budget_kw:
            limit_at = min(width, round(width * 100 * level.oversubscription / top))
            if cells[limit_at] == " ":
                cells[limit_at] = "¦"
        lines.append(f"{level_label(level):<{label_width}}  {''.join(cells)}  {level_figures(level)}")
    return "\n".join(line.rstrip() for line in lines)
