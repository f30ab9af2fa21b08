"""A programme's plan as a terminal table: the ramp (the programme per phase), then each phase's
sites (their levels, clusters and tenants), or with one phase chosen, each site's whole table."""

from __future__ import annotations

from .errors import format_problems
from .programme_plan import PhaseTotal, ProgrammePlan, phase_label
from .report import format_levels, format_table
from .spec import Phase
from .wording import count


def format_programme(plan: ProgrammePlan, current: Phase | None, phase: int | None = None) -> str:
    """The programme; `phase`: only that phase (its index), each site's whole table."""
    names = ", ".join(phase_label(p) for p in plan.phases if p is not None) or "none (one moment)"
    first = next((p for p in plan.phases if p is not None), None)
    deployed = (
        f"phase {phase_label(current)}" if current is not None else f"nothing yet (no phase has come; the first: {phase_label(first)})"
    )
    lines = [
        f"programme {plan.name}: {count(len(plan.sites), 'site')}; phases {names}",
        f"the stacks deploy: {deployed}" if plan.phases != (None,) else "no phases: the stacks deploy the whole site",
        "",
        *format_ramp(plan.totals),
    ]
    shown = range(len(plan.phases)) if phase is None else [phase]
    for i in shown:
        lines += ["", f"== phase {phase_label(plan.phases[i])}" if plan.phases[i] is not None else "== sites"]
        for site in plan.sites:
            site_plan = site.plans[i].plan
            account = f" (deploys into {site.organization}/{site.project or '-'})" if site.organization else ""
            if phase is not None:
                lines += ["", f"-- site {site.name}: {site.label}{account}", format_table(site_plan).rstrip("\n")]
                continue
            if site_plan.site.facility_budget_kw == 0 and not site_plan.clusters:
                lines += ["", f"-- site {site.name}: {site.label}{account}: not powered in this phase"]
                continue
            gpus = ", ".join(f"{m} {n:,}" for m, n in site_plan.site.gpus_by_model.items()) or "no GPUs"
            lines += [
                "",
                f"-- site {site.name}: {site.label}{account}",
                f"   {count(len(site_plan.clusters), 'cluster')}, {count(len(site_plan.tenants), 'tenant')}, {gpus}; "
                f"rated IT {site_plan.site.rated_it_kw:,.1f} kW of {site_plan.site.it_budget_kw:,.1f} kW",
                *format_levels(site_plan),
            ]
    lines += format_quotas_to_raise(plan)
    if plan.violations:
        lines += ["", format_problems(plan.violations, "VIOLATIONS:", indent="  ")]
    return "\n".join(lines) + "\n"


def format_quotas_to_raise(plan: ProgrammePlan) -> list[str]:
    """Each Organization's quotas that a phase passes: which to raise, to what, and by when (the phase's
    date: Scaleway raises them by support ticket, so ask before the hardware arrives)."""
    if not plan.organizations:
        return []
    lines = ["", "== account quotas (Scaleway Organization: figure now -> needed, by the phase's date)"]
    for organization in plan.organizations:
        when = phase_label(organization.phase)
        if not organization.to_raise:
            lines.append(f"{organization.organization} in {when}: every quota holds")
            continue
        for use in organization.to_raise:
            lines.append(
                f"{organization.organization} in {when}: raise {use.name} from {use.limit:,} to {use.total:,}"
                + (f" ({use.in_use:,} in use elsewhere)" if use.in_use else "")
            )
    return lines


def format_ramp(totals: tuple[PhaseTotal, ...]) -> list[str]:
    """The programme per phase: budgets, rated power, GPUs and H100-equivalents, all sites added up."""
    lines = [
        f"{'phase':<20} {'facility MW':>11} {'IT MW':>9} {'rated IT MW':>11} {'rated fac. MW':>13} "
        f"{'GPUs':>9} {'H100-eq FP8':>11} {'BF16':>9} {'clusters':>8} {'tenants':>7}  fits"
    ]
    for t in totals:
        lines.append(
            f"{phase_label(t.phase):<20} {t.facility_budget_kw / 1000:>11,.1f} {t.it_budget_kw / 1000:>9,.1f} "
            f"{t.rated_it_kw / 1000:>11,.1f} {t.rated_facility_kw / 1000:>13,.1f} {sum(t.gpus_by_model.values()):>9,} "
            f"{t.h100_equivalents.fp8:>11,.0f} {t.h100_equivalents.bf16:>9,.0f} {t.clusters:>8,} {t.tenants:>7,}  "
            f"{'yes' if t.fits else 'NO'}"
        )
    models = sorted({m for t in totals for m in t.gpus_by_model})
    for model in models:
        lines.append(
            f"  {model + ' GPUs':<18} "
            + "  ".join(f"{phase_label(t.phase).split(' ')[0]}: {t.gpus_by_model.get(model, 0):,}" for t in totals)
        )
    return lines
