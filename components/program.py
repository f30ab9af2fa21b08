"""The Pulumi program of a cluster stack: config -> spec -> plan -> a FactoryCluster per cluster.

`__main__.py` calls `run()`. Bad config, plan violations and what a target would
refuse stop the program before a single resource is registered. This is the
application: stacks that build on the toolkit import `aion_factory.factory`, not this.
"""

from __future__ import annotations

import pulumi

from .config import spec_from_config
from .errors import ConfigError, NotDeployable, format_problems
from .factory import FactoryCluster, deployable_clusters
from .keys import NAMESPACE
from .planner import make_plan
from .spec import FactorySpec

CONFIG_KEYS = ("site", "clusters", "tenants")


def spec_from_pulumi_config() -> FactorySpec:
    config = pulumi.Config(NAMESPACE)
    values = {key: config.get_object(key) for key in _aion_keys()}
    return spec_from_config({k: v for k, v in values.items() if v is not None})


def _aion_keys() -> set[str]:
    """Every `aion:` key the stack sets, so a misspelt one is reported, not ignored."""
    from pulumi.runtime import config as runtime_config  # the SDK keeps no public list of keys

    keys = {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}
    prefix = f"{NAMESPACE}:"
    return set(CONFIG_KEYS) | {key.removeprefix(prefix) for key in keys if key.startswith(prefix)}


def run() -> None:
    try:
        spec = spec_from_pulumi_config()
        plan = make_plan(spec)
        deployments = deployable_clusters(spec, plan)
    except ConfigError as error:
        raise pulumi.RunError(format_problems(error.problems, "invalid stack config; nothing was deployed:")) from None
    except NotDeployable as error:
        raise pulumi.RunError(str(error)) from None
    for deployment in deployments:
        FactoryCluster(deployment.view.name, deployment)
    pulumi.export("plan", {"rated_it_kw": round(plan.site.rated_it_kw, 3), "it_budget_kw": round(plan.site.it_budget_kw, 3)})
