"""The programme's ramp as a picture: per level (each site and hall) and phase, rated IT power
against the budget of that phase, and the H100-equivalents of each phase. Geometry here, drawing in
templates/ramp.svg.j2; ramp.html is the same picture in a page with the ramp's table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from .programme_plan import PhaseTotal, ProgrammePlan, phase_label
from .rendering import render
from .report_chart import CHAR_PX, MARGIN, ROW_PX

LEVEL_PX = 36  # a level's line: its bar, and its figures under it

CELL_PX = 170  # a phase's column: its bar and its figures
BAR_PX = 120
OVER = "#d0343a"
RATED = "#2f6db5"
FP8, BF16 = "#2f6db5", "#74b88a"
RAMP_FILES = ("ramp.svg", "ramp.html")


@dataclass(frozen=True)
class Cell:
    x: float
    rated_width: float
    budget_x: float | None  # None: no budget in that phase (not yet powered)
    fits: bool
    figures: str


@dataclass(frozen=True)
class LevelRow:
    label: str
    y: float
    heading: bool  # a site's own line
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class EquivalentsBar:
    label: str
    y: float
    fp8_width: float
    bf16_width: float
    figures: str


@dataclass(frozen=True)
class RampChart:
    width: float
    height: float
    title: str
    columns: tuple[tuple[float, str], ...]  # (x, phase label)
    rows: tuple[LevelRow, ...]
    equivalents_title: str
    equivalents_y: float
    equivalents: tuple[EquivalentsBar, ...]
    bar_x: float


def ramp_chart(plan: ProgrammePlan) -> RampChart:
    """Each level's bars on its own scale (the most it is budgeted or rated in any phase: one bar's
    width), so a hall of 40 MW reads as well as a site of 500 MW; the budget is a black mark."""
    levels: list[tuple[str, bool, list[tuple[float, float, bool]]]] = []
    for site in plan.sites:
        paths = [lv.path for lv in site.plans[-1].plan.levels if lv.kind in ("site", "hall")]
        for path in paths:
            per_phase = []
            for phase_plan in site.plans:
                level = next(lv for lv in phase_plan.plan.levels if lv.path == path)
                per_phase.append((level.rated_kw, level.budget_kw, level.fits))
            label = path if "/" not in path else "  " + path.split("/", 1)[1]
            levels.append((label, "/" not in path, per_phase))
    label_px = max(len(label) for label, _, _ in levels) * CHAR_PX + 12
    bar_x = MARGIN + label_px
    top = 64.0
    columns = tuple((round(bar_x + i * CELL_PX, 1), phase_label(p) if p else "the site") for i, p in enumerate(plan.phases))
    rows = []
    for n, (label, heading, per_phase) in enumerate(levels):
        scale = BAR_PX / max([max(rated, budget) for rated, budget, _ in per_phase] + [1e-9])
        cells = tuple(
            Cell(
                x=columns[i][0],
                rated_width=round(rated * scale, 1),
                budget_x=round(columns[i][0] + budget * scale, 1) if budget > 0 else None,
                fits=fits,
                figures=f"{rated / 1000:,.1f} / {budget / 1000:,.1f} MW" if budget > 0 or rated > 0 else "not powered",
            )
            for i, (rated, budget, fits) in enumerate(per_phase)
        )
        rows.append(LevelRow(label, top + n * LEVEL_PX, heading, cells))
    equivalents_y = top + len(rows) * LEVEL_PX + 40
    bars = _equivalents(plan.totals, equivalents_y, bar_x)
    width = bar_x + max(len(plan.phases) * CELL_PX, BAR_PX * 2 + max(len(b.figures) for b in bars) * CHAR_PX + 12) + MARGIN
    return RampChart(
        width=round(width),
        height=round(equivalents_y + len(bars) * 2 * ROW_PX + 24),
        title=f"Programme {plan.name}: rated IT power against each phase's budget, per site and hall (rated / budget, MW)",
        columns=columns,
        rows=tuple(rows),
        equivalents_title="H100-equivalents per phase (dense; FP8 above, BF16 below), every site",
        equivalents_y=equivalents_y,
        equivalents=bars,
        bar_x=round(bar_x, 1),
    )


def _equivalents(totals: tuple[PhaseTotal, ...], top: float, bar_x: float) -> tuple[EquivalentsBar, ...]:
    longest = max([t.h100_equivalents.fp8 for t in totals] + [t.h100_equivalents.bf16 for t in totals] + [1e-9])
    return tuple(
        EquivalentsBar(
            label=phase_label(t.phase) if t.phase else "the site",
            y=top + i * 2 * ROW_PX,
            fp8_width=round(2 * BAR_PX * t.h100_equivalents.fp8 / longest, 1),
            bf16_width=round(2 * BAR_PX * t.h100_equivalents.bf16 / longest, 1),
            figures=f"{t.h100_equivalents.fp8:,.0f} FP8, {t.h100_equivalents.bf16:,.0f} BF16 "
            f"({sum(t.gpus_by_model.values()):,} GPUs, {t.rated_it_kw / 1000:,.1f} MW IT)",
        )
        for i, t in enumerate(totals)
    )


def write_ramp(plan: ProgrammePlan, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    chart = ramp_chart(plan)
    svg = render("ramp.svg.j2", c=chart, rated=RATED, over=OVER, fp8=FP8, bf16=BF16)
    (folder / "ramp.svg").write_text(svg)
    (folder / "ramp.html").write_text(render("ramp.html.j2", plan=plan, svg=Markup(svg), label=phase_label))
    return [folder / name for name in RAMP_FILES]
