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
import os
from pathlib import Path
from typing import Any

import psutil
import pulumi

from .catalog import load_catalog
from .derate_report import level_steps
from .environment import STACK_DIR
from .errors import ConfigError, NotDeployable, format_problems
from .factory import FactoryCluster, deployable_clusters
from .fleet.stacks import stack_dir_of
from .keys import NAMESPACE
from .plan_document import plan_document
from .planner import PhasePlan, Plan, make_plan
from .power_event import derates_beside
from .programme_stack import deployed_phase
from .site import SPEC_KEYS, SiteStack, stack_from_config
from .target import LocalSettings, config_warnings

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
    """The folder of this stack's file, for its site_file. A runner that selected the stack says it
    (`aion fleet`: AION_STACK_DIR). Else it is found from the project's folder: Pulumi.yaml's there,
    with its stackConfigDir. The project's folder is `pulumi.get_root_directory()` where the language
    host passes it; older hosts do not, and run the program in `main:`'s folder, so the working
    folders of the processes that started this one (the `pulumi` CLI's is the project's) are
    tried next, each accepted only if its project's stack folder holds this stack's file."""
    named = os.environ.get(STACK_DIR)
    if named:
        return Path(named)
    root = pulumi.get_root_directory()
    starts = [Path(root)] if root else []
    found = stack_dir_of(pulumi.get_project(), pulumi.get_stack(), [*starts, *_ancestor_folders(), Path.cwd()])
    return found or Path.cwd()


def _ancestor_folders(depth: int = 4) -> list[Path]:
    """The working folders of this process's parent, grandparent...: the language host, then the
    CLI (psutil: on any system that lets a process read its parents' working folders)."""
    folders = []
    for parent in psutil.Process().parents()[:depth]:
        try:
            folders.append(Path(parent.cwd()))
        except psutil.Error:  # gone, or not ours to read: the others may still say it
            continue
    return folders


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
        current = deployed_phase(stack, datetime.date.today())
        present = {cluster.name for cluster in current.view.spec.clusters} if current else set()
        deployed = [name for name in stack.clusters if name in present]
        if current is None or not deployed:
            # An update that registers nothing deletes whatever the stack holds: never by default.
            raise pulumi.RunError(
                f"{_not_yet(stack, current)}; refused: an update now could only delete what the stack holds "
                "(`pulumi destroy` takes a stack down on purpose)"
            )
        plan, spec = current.plan, current.view.spec
        # The power events in force beside the site (or an inline site's stack file): once one ends, the next up restores the plan.
        _, derates = derates_beside(stack.site_file or _stack_dir() / f"Pulumi.{pulumi.get_stack()}.yaml", stack.spec)
        if derates:
            plan = make_plan(spec, derates=derates)
        for name in (c for c in stack.clusters if c not in deployed):
            pulumi.log.warn(f"cluster {name} does not exist in {current.view.label}: nothing of it is deployed")
        deployments = deployable_clusters(spec, plan, deployed, LocalSettings(kubeconfig_path=stack.kubeconfig))
    except ConfigError as error:
        raise pulumi.RunError(format_problems(error.problems, "invalid stack config; nothing was deployed:")) from None
    except NotDeployable as error:
        raise pulumi.RunError(str(error)) from None
    for level in plan.derate.levels if plan.derate else ():  # what the deploy does about a power event, in kW
        pulumi.log.warn(f"power event: {level.kind} {level.level} derated to {level.derated_kw:,.1f} kW: " + "; ".join(level_steps(level)))
    for warning in config_warnings(spec, load_catalog()):
        if warning.path.startswith(tuple(f"aion:clusters[{d.view.index}]." for d in deployments)):
            pulumi.log.warn(str(warning))
    clusters = {deployment.view.name: FactoryCluster(deployment.view.name, deployment) for deployment in deployments}
    export_outputs(clusters, plan)
    pulumi.export(SITE_OUTPUT, stack.spec.model_dump(mode="json"))


def _not_yet(stack: SiteStack, current: PhasePlan | None) -> str:
    """Why a stack deploys nothing today: no phase has come, or none of its clusters exists in this one."""
    if current is None:
        first = stack.spec.phases[0]
        return f"no phase of site {stack.spec.site.name} has come yet (the first: {first.name} on {first.date}): nothing is deployed"
    starts = {c.name: c.from_phase for c in stack.spec.clusters}
    coming = ", ".join(f"{name} from phase {starts[name]}" for name in stack.clusters)
    return f"no cluster of this stack exists in {current.view.label} ({coming}): nothing is deployed"


def export_outputs(clusters: dict[str, FactoryCluster], plan: Plan) -> None:
    """Per cluster what a consumer looks up, the kubeconfigs apart (one secret output, so the rest
    stays readable), and the site's whole plan as `aion plan --json` prints it."""
    pulumi.export(CLUSTERS_OUTPUT, {name: cluster.summary() for name, cluster in clusters.items()})
    kubeconfigs = pulumi.Output.all(**{name: cluster.kubeconfig for name, cluster in clusters.items()})
    pulumi.export(KUBECONFIGS_OUTPUT, pulumi.Output.secret(kubeconfigs.apply(lambda found: {k: v for k, v in found.items() if v})))
    pulumi.export(PLAN_OUTPUT, plan_document(plan).model_dump(mode="json"))
