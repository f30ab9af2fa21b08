"""What the toolkit does on a derate, step by step in kW: the text `aion plan` and `aion site derate` print."""

from __future__ import annotations

from .planner import LevelDeratePlan, Plan
from .power_event import PowerEvents


def format_derates(plan: Plan, events: PowerEvents, source: str) -> str:
    """Each derate in force and its steps, in order; scheduled and ended ones in a line each."""
    if not events.derates:
        return ""
    lines = [f"power events ({source}):"]
    in_force = {lv.level: lv for lv in plan.derate.levels} if plan.derate else {}
    for derate in events.derates:
        until = f" until {derate.until.isoformat()}" if derate.until else ", open-ended"
        why = f" ({derate.reason})" if derate.reason else ""
        level = in_force.get(derate.level)
        if level is None:
            lines.append(f"  {derate.level} to {derate.it_power_kw:,.1f} kW from {derate.start.isoformat()}{until}{why}: not in force now")
            continue
        lines.append(
            f"  {level.kind} {level.level} derated to {level.derated_kw:,.1f} kW (budget {level.budget_kw:,.1f} kW) "
            f"from {derate.start.isoformat()}{until}{why}"
        )
        lines += ["    " + line for line in level_steps(level)]
    return "\n".join(lines) + "\n"


def level_steps(level: LevelDeratePlan) -> list[str]:
    over = level.drawable_kw - level.derated_kw
    lines = [
        f"its work may draw {level.drawable_kw:,.1f} kW ({level.fixed_kw:,.1f} kW of it CPU system pools, which nothing sheds): "
        + (f"{over:,.1f} kW over" if over > 1e-6 else "within, nothing to do")
    ]
    step = 0
    for cap in level.caps:
        step += 1
        lines.append(
            f"{step}. cap pool {cap.cluster}/{cap.pool} ({cap.gpu_model}, serves {cap.priority}): "
            f"{cap.from_w} W -> {cap.to_w} W per GPU, -{cap.shed_kw:,.1f} kW"
        )
    for quota in level.quotas:
        step += 1
        lines.append(
            f"{step}. lower the quota of {quota.tenant} ({quota.priority}) on {quota.cluster}, {quota.flavor}: "
            f"{quota.from_gpus} -> {quota.to_gpus} GPUs, -{quota.shed_kw:,.1f} kW"
        )
    for stop in level.stops:
        step += 1
        lines.append(
            f"{step}. stop {stop.tenant} ({stop.priority}) on {stop.cluster}: its ClusterQueue held and drained, "
            f"its admitted work there (at most {stop.gpus} GPUs) evicted until the event ends, -{stop.kw:,.1f} kW"
        )
    if level.met:
        lines.append(
            f"after: work admitted from now may draw {level.drawable_after_kw:,.1f} kW, work still running at most "
            f"{level.running_after_kw:,.1f} kW: within {level.derated_kw:,.1f} kW"
        )
    else:
        lines.append(f"cannot be met: {level.fixed_kw:,.1f} kW of CPU system pools alone are over {level.derated_kw:,.1f} kW")
    return lines
