"""The Pulumi program of a cluster stack: config -> site -> plan -> a FactoryCluster per cluster it deploys.

`__main__.py` calls `run()`. The stack plans its whole site (a site document it
names, or its own inline config) and deploys its own clusters. Bad config, a
violation anywhere in the site and what a target would refuse stop the program
before a single resource is registered. This is the application: stacks that
build on the toolkit import `aion_factory.factory`, not this.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pulumi
import yaml

from .catalog import load_catalog
from .checks import network_policy_warnings
from .derate_report import level_steps
from .errors import ConfigError, NotDeployable, format_problems
from .factory import FactoryCluster, deployable_clusters
from .keys import NAMESPACE
from .plan_document import plan_document
from .planner import Plan, make_plan
from .power_event import derates_beside
from .programme_plan import deployed_phase
from .site import SPEC_KEYS, SiteStack, stack_from_config
from .spec import FactorySpec
from .target import LocalSettings

# The site's plan, as the policy pack reads it: every stack of a site exports the same.
SITE_OUTPUT = "aion-spec"
# What stacks building on this one read with a StackReference (README: "Stack outputs").
CLUSTERS_OUTPUT, KUBECONFIGS_OUTPUT, PLAN_OUTPUT = "clusters", "kubeconfigs", "plan"


def stack_from_pulumi_config() -> SiteStack:
    config = pulumi.Config(NAMESPACE)
    values = {key: _value(config.get(key)) for key in _aion_keys()}
    return stack_from_config({k: v for k, v in values.items() if v is not None}, _stack_dir())


def _value(text: str | None) -> Any:
    """Objects and lists arrive as JSON text; a plain string (a path, a cluster's name) as itself."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _stack_dir() -> Path:
    """Where the stack files live (Pulumi.yaml's stackConfigDir): a site_file is relative to it."""
    root = Path(pulumi.get_root_directory() or ".")
    try:
        project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    except OSError:
        return root
    return root / str(project.get("stackConfigDir", ".")) if isinstance(project, dict) else root


def _aion_keys() -> set[str]:
    """Every `aion:` key the stack sets, so a misspelt one is reported, not ignored."""
    from pulumi.runtime import config as runtime_config  # the SDK keeps no public list of keys

    keys = {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}
    prefix = f"{NAMESPACE}:"
    return set(SPEC_KEYS) | {key.removeprefix(prefix) for key in keys if key.startswith(prefix)}


def run() -> None:
    try:
        stack = stack_from_pulumi_config()
        # Every phase is checked; the current one is deployed: no hardware before its power.
        current = deployed_phase(stack.spec, datetime.date.today())
        if current is None:
            pulumi.log.warn(f"no phase of site {stack.spec.site.name} has come yet (the first: {_first(stack.spec)}): nothing is deployed")
            return
        plan, spec = current.plan, current.view.spec
        # The power events in force beside the site (or an inline site's stack file): once one ends, the next up restores the plan.
        _, derates = derates_beside(stack.site_file or _stack_dir() / f"Pulumi.{pulumi.get_stack()}.yaml", stack.spec)
        if derates:
            plan = make_plan(spec, derates=derates)
        present = {c.name for c in spec.clusters}
        for name in (c for c in stack.clusters if c not in present):
            pulumi.log.warn(f"cluster {name} does not exist in {current.view.label}: nothing of it is deployed")
        deployed = [c for c in stack.clusters if c in present]
        deployments = deployable_clusters(spec, plan, deployed, LocalSettings(kubeconfig_path=stack.kubeconfig))
    except ConfigError as error:
        raise pulumi.RunError(format_problems(error.problems, "invalid stack config; nothing was deployed:")) from None
    except NotDeployable as error:
        raise pulumi.RunError(str(error)) from None
    for level in plan.derate.levels if plan.derate else ():  # what the deploy does about a power event, in kW
        pulumi.log.warn(f"power event: {level.kind} {level.level} derated to {level.derated_kw:,.1f} kW: " + "; ".join(level_steps(level)))
    for warning in network_policy_warnings(spec, load_catalog()):
        if warning.path.startswith(tuple(f"aion:clusters[{d.view.index}]." for d in deployments)):
            pulumi.log.warn(str(warning))
    clusters = {deployment.view.name: FactoryCluster(deployment.view.name, deployment) for deployment in deployments}
    export_outputs(clusters, plan)
    pulumi.export(SITE_OUTPUT, stack.spec.model_dump(mode="json"))


def _first(spec: FactorySpec) -> str:
    return f"{spec.phases[0].name} on {spec.phases[0].date}" if spec.phases else "-"


def export_outputs(clusters: dict[str, FactoryCluster], plan: Plan) -> None:
    """Per cluster what a consumer looks up, the kubeconfigs apart (one secret output, so the rest
    stays readable), and the site's whole plan as `aion plan --json` prints it."""
    pulumi.export(CLUSTERS_OUTPUT, {name: cluster.summary() for name, cluster in clusters.items()})
    kubeconfigs = pulumi.Output.all(**{name: cluster.kubeconfig for name, cluster in clusters.items()})
    pulumi.export(KUBECONFIGS_OUTPUT, pulumi.Output.secret(kubeconfigs.apply(lambda found: {k: v for k, v in found.items() if v})))
    pulumi.export(PLAN_OUTPUT, plan_document(plan).model_dump(mode="json"))
