"""PowerPlan: the planner's verdict on a spec, as outputs. It registers nothing.

For stacks in other languages that want the plan's figures (or to stop on a
plan that does not fit) without deploying a cluster.
"""

from typing import Any, NotRequired, TypedDict

import pulumi

from aion_factory import ConfigError, make_plan, spec_from_config

from .errors import refused
from .tokens import token


class PowerPlanArgs(TypedDict):
    """The spec, as a stack's `aion:` config writes it (a site document's shape: stacks/aion-site.schema.json)."""

    site: dict[str, Any]
    """The site and its power tree (aion:site)."""
    clusters: NotRequired[list[dict[str, Any]]]
    """Clusters (aion:clusters)."""
    tenants: NotRequired[list[dict[str, Any]]]
    """Tenants and their power allotments (aion:tenants)."""


class PowerPlan(pulumi.ComponentResource):
    """What the declared hardware draws against each level of the site's power budget."""

    fits: pulumi.Output[bool]
    """True when no level is over budget and no cluster over its control plane's node limit."""
    violations: pulumi.Output[list[str]]
    """One line per violation, naming the level or config key."""
    it_budget_kw: pulumi.Output[float]
    """The site's IT budget: facility power / PUE, kW."""
    rated_it_kw: pulumi.Output[float]
    """Rated IT power of every pool of the spec, kW."""
    h100_equivalents_fp8: pulumi.Output[float]
    """The spec's GPUs counted in H100 SXM at dense FP8."""

    def __init__(self, name: str, args: PowerPlanArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        try:
            spec = spec_from_config(dict(args))
        except ConfigError as error:
            raise refused("invalid spec", str(error)) from None
        super().__init__(token("PowerPlan"), name, None, opts)
        plan = make_plan(spec)
        self.fits = pulumi.Output.from_input(plan.fits)
        self.violations = pulumi.Output.from_input([str(v) for v in plan.violations])
        self.it_budget_kw = pulumi.Output.from_input(round(plan.site.it_budget_kw, 3))
        self.rated_it_kw = pulumi.Output.from_input(round(plan.site.rated_it_kw, 3))
        self.h100_equivalents_fp8 = pulumi.Output.from_input(round(plan.site.h100_equivalents.fp8, 3))
        self.register_outputs(
            {
                "fits": self.fits,
                "violations": self.violations,
                "it_budget_kw": self.it_budget_kw,
                "rated_it_kw": self.rated_it_kw,
                "h100_equivalents_fp8": self.h100_equivalents_fp8,
            }
        )
