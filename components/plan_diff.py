"""What a change does to a site's plan: nodes per pool, kW per level and each tenant's quotas,
before and after; as text for the terminal and Markdown for a pull-request comment. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .planner import LevelPlan, Plan
from .report_chart import kw

Count = int | None  # None: not there on that side


@dataclass(frozen=True)
class LevelChange:
    path: str
    rated_kw: tuple[float | None, float | None]
    budget_kw: tuple[float | None, float | None]
    limit_kw: tuple[float | None, float | None]
    fits: bool  # after


@dataclass(frozen=True)
class PoolChange:
    cluster: str
    pool: str
    node_type: str
    nodes: tuple[Count, Count]


@dataclass(frozen=True)
class QuotaChange:
    tenant: str
    cluster: str
    flavor: str
    nominal: tuple[Count, Count]
    ceiling: tuple[Count, Count]


@dataclass(frozen=True)
class SiteDiff:
    site: str
    rated_it_kw: tuple[float, float]
    gpus: tuple[int, int]
    h100_equivalents_fp8: tuple[float, float]
    fits: tuple[bool | None, bool]  # None: the site did not exist before
    levels: tuple[LevelChange, ...]
    pools: tuple[PoolChange, ...]
    quotas: tuple[QuotaChange, ...]

    @property
    def changed(self) -> bool:
        return bool(self.levels or self.pools or self.quotas) or self.fits[0] != self.fits[1]


def diff_plans(before: Plan | None, after: Plan) -> SiteDiff:
    """What changed from `before` (None: the site is new) to `after`."""
    return SiteDiff(
        site=after.site.name,
        rated_it_kw=(before.site.rated_it_kw if before else 0.0, after.site.rated_it_kw),
        gpus=(_gpus(before), _gpus(after)),
        h100_equivalents_fp8=(before.site.h100_equivalents.fp8 if before else 0.0, after.site.h100_equivalents.fp8),
        fits=(before.fits if before else None, after.fits),
        levels=_levels(before, after),
        pools=_pools(before, after),
        quotas=_quotas(before, after),
    )


def _gpus(plan: Plan | None) -> int:
    return sum(plan.site.gpus_by_model.values()) if plan else 0


def _levels(before: Plan | None, after: Plan) -> tuple[LevelChange, ...]:
    old = {lv.path: lv for lv in before.levels} if before else {}
    new = {lv.path: lv for lv in after.levels}
    changes = []
    for path in [*new, *(p for p in old if p not in new)]:
        was, now = old.get(path), new.get(path)
        if _figures(was) == _figures(now):
            continue
        changes.append(
            LevelChange(
                path,
                (was.rated_kw if was else None, now.rated_kw if now else None),
                (was.budget_kw if was else None, now.budget_kw if now else None),
                (was.limit_kw if was else None, now.limit_kw if now else None),
                now.fits if now else True,
            )
        )
    return tuple(changes)


def _figures(level: LevelPlan | None) -> tuple[float, ...] | None:
    return None if level is None else (round(level.rated_kw, 3), round(level.budget_kw, 3), round(level.limit_kw, 3))


def _pools(before: Plan | None, after: Plan) -> tuple[PoolChange, ...]:
    old = {(p.cluster, p.name): p for p in before.pools} if before else {}
    new = {(p.cluster, p.name): p for p in after.pools}
    changes = []
    for key in [*new, *(k for k in old if k not in new)]:
        was, now = old.get(key), new.get(key)
        if was and now and (was.nodes, was.node_type) == (now.nodes, now.node_type):
            continue
        node_type = now.node_type if now else was.node_type  # type: ignore[union-attr]  # one of them is there
        if was and now and was.node_type != now.node_type:
            node_type = f"{was.node_type} -> {now.node_type}"
        changes.append(PoolChange(key[0], key[1], node_type, (was.nodes if was else None, now.nodes if now else None)))
    return tuple(changes)


def _quotas(before: Plan | None, after: Plan) -> tuple[QuotaChange, ...]:
    def quotas(plan: Plan | None) -> dict[tuple[str, str, str], tuple[int, int]]:
        return {
            (t.name, cluster, q.flavor): (q.nominal, q.ceiling)
            for t in (plan.tenants if plan else ())
            for cluster in t.quotas_by_cluster
            for q in t.flavor_quotas(cluster)
        }

    old, new = quotas(before), quotas(after)
    changes = []
    for key in [*new, *(k for k in old if k not in new)]:
        was, now = old.get(key), new.get(key)
        if was != now:
            changes.append(
                QuotaChange(*key, (was[0] if was else None, now[0] if now else None), (was[1] if was else None, now[1] if now else None))
            )
    return tuple(changes)


def _from_to(pair: tuple[float | None, float | None], figure: str = "{:,}") -> str:
    was, now = pair
    shown = [("-" if v is None else figure.format(v)) for v in pair]
    delta = ""
    if was is not None and now is not None and was != now:
        delta = " (" + ("+" if now > was else "-") + figure.format(abs(now - was)) + ")"
    return f"{shown[0]} -> {shown[1]}{delta}"


def _kw(pair: tuple[float | None, float | None]) -> str:
    return _from_to(pair, "{:,.1f}")


def _verdict(fits: bool | None) -> str:
    return "new" if fits is None else ("fits" if fits else "VIOLATED")


def _rows(diff: SiteDiff) -> dict[str, list[list[str]]]:
    """The changes as table rows: one list of cells a row, per section."""
    return {
        "levels": [
            [
                lv.path,
                _kw(lv.rated_kw),
                _kw(lv.budget_kw) if lv.budget_kw[0] != lv.budget_kw[1] else kw(lv.budget_kw[1] or 0),
                _kw(lv.limit_kw) if lv.limit_kw[0] != lv.limit_kw[1] else kw(lv.limit_kw[1] or 0),
                "yes" if lv.fits else "OVER",
            ]
            for lv in diff.levels
        ],
        "pools": [[f"{p.cluster}/{p.pool}", p.node_type, _from_to(p.nodes)] for p in diff.pools],
        "quotas": [[q.tenant, q.cluster, q.flavor, _from_to(q.nominal), _from_to(q.ceiling)] for q in diff.quotas],
    }


HEADERS = {
    "levels": ["level", "rated kW", "budget kW", "limit kW", "fits"],
    "pools": ["pool", "node type", "nodes"],
    "quotas": ["tenant", "cluster", "flavor", "GPU quota", "GPU ceiling"],
}
TITLES = {"levels": "kW per level", "pools": "nodes", "quotas": "tenants' quotas"}


def _summary(diff: SiteDiff) -> str:
    return (
        f"rated IT {_kw(diff.rated_it_kw)} kW, GPUs {_from_to(diff.gpus)}, "
        f"H100-eq FP8 {_from_to(diff.h100_equivalents_fp8, '{:,.0f}')}; plan {_verdict(diff.fits[0])} -> {_verdict(diff.fits[1])}"
    )


def format_diff(diff: SiteDiff, base: str) -> str:
    """The changes as aligned text for the terminal."""
    lines = [f"site {diff.site} against {base}: " + (_summary(diff) if diff.changed else "no change to nodes, power or quotas")]
    for section, rows in _rows(diff).items():
        if not rows:
            continue
        table = [HEADERS[section], *rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        lines += ["", f"{TITLES[section]}:"]
        lines += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table]
    return "\n".join(lines) + "\n"


def markdown_diff(diff: SiteDiff, base: str) -> str:
    """The changes as Markdown tables, for a pull-request comment."""
    lines = [f"### What this change does to site {diff.site} (against `{base}`)", ""]
    if not diff.changed:
        return "\n".join([*lines, "No change to nodes, power or quotas.", ""])
    lines += [_summary(diff).replace(" -> ", " → ") + ".", ""]
    for section, rows in _rows(diff).items():
        if not rows:
            continue
        headers = HEADERS[section]
        lines += [
            f"**{TITLES[section][0].upper()}{TITLES[section][1:]}**",
            "",
            "| " + " | ".join(headers) + " |",
            "|" + "---|" * len(headers),
        ]
        lines += ["| " + " | ".join(cell.replace(" -> ", " → ").replace("|", "\\|") for cell in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)
