"""The Pulumi program: config -> spec -> plan -> components, for one cluster stack.

`__main__.py` calls `run()`. Bad config and plan violations stop the program
before a single resource is registered.
"""

from __future__ import annotations

import os
from pathlib import Path

import pulumi

from .config import spec_from_config
from .errors import AionError, ConfigError
from .planner import Plan, make_plan
from .platform import ClusterPlatform, KueueInstall, PlatformArgs, StorageClassChoice
from .spec import Cluster, FactorySpec

CONFIG_KEYS = ("site", "clusters", "tenants")
LOCAL_KUBECONFIG_ENV = "AION_LOCAL_KUBECONFIG"
KUEUE_CRDS_ENV = "AION_KUEUE_CRDS"


def spec_from_pulumi_config() -> FactorySpec:
    config = pulumi.Config("aion")
    values = {key: config.get_object(key) for key in _aion_keys()}
    try:
        return spec_from_config({k: v for k, v in values.items() if v is not None})
    except ConfigError as error:
        raise pulumi.RunError(f"invalid stack config:\n{error}") from None


def _aion_keys() -> set[str]:
    """Every `aion:` key the stack sets, so a misspelt one is reported, not ignored."""
    from pulumi.runtime import config as runtime_config  # the SDK keeps no public list of keys

    keys = {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}
    return set(CONFIG_KEYS) | {key.split(":", 1)[1] for key in keys if key.startswith("aion:")}


def checked_plan(spec: FactorySpec) -> Plan:
    plan = make_plan(spec)
    if plan.violations:
        lines = "\n".join(f"{v.path}: {v.message}" for v in plan.violations)
        raise pulumi.RunError(f"the plan violates the site's budgets or limits; nothing was deployed:\n{lines}")
    return plan


def run() -> None:
    spec = spec_from_pulumi_config()
    plan = checked_plan(spec)
    if any(c.target == "scaleway" for c in spec.clusters):
        from .scaleway.credentials import require_credentials
        from .scaleway.preflight import problems

        require_credentials()
        # Every cluster's Kapsule-specific problems, before the first resource of any.
        if found := problems(spec, plan):
            raise pulumi.RunError("cannot deploy on Scaleway; nothing was deployed:\n" + "\n".join(map(str, found)))
    try:
        choices = {cluster.name: platform_choices(cluster) for cluster in spec.clusters}
    except AionError as error:
        raise pulumi.RunError(f"{error}; nothing was deployed") from None
    for cluster in spec.clusters:
        deploy_cluster(spec, plan, cluster, *choices[cluster.name])
    pulumi.export("plan", {"rated_it_kw": round(plan.site.rated_it_kw, 3), "it_budget_kw": round(plan.site.it_budget_kw, 3)})


def platform_choices(cluster: Cluster) -> tuple[KueueInstall, StorageClassChoice]:
    """The two things the platform does differently per target, decided here and only here."""
    if cluster.target == "scaleway":
        return KueueInstall.helm(), StorageClassChoice.scaleway(cluster.storage.default_class)
    # No Kueue controller locally (its webhooks need in-cluster Services): the real CRDs only.
    return KueueInstall.crds(os.environ.get(KUEUE_CRDS_ENV)), StorageClassChoice.local()


def deploy_cluster(spec: FactorySpec, plan: Plan, cluster: Cluster, kueue: KueueInstall, storage: StorageClassChoice) -> None:
    """The cluster itself (target-specific), then the same in-cluster platform on any target."""
    infra: pulumi.ComponentResource
    if cluster.target == "scaleway":
        from .scaleway import KapsuleClusterStack, ScalewayClusterArgs

        infra = kapsule = KapsuleClusterStack(cluster.name, ScalewayClusterArgs(spec, plan, cluster.name))
        provider = kapsule.provider
        pulumi.export(f"{cluster.name}-kubeconfig", kapsule.kubeconfig)
    else:
        from .local import LocalCluster, LocalClusterArgs

        kubeconfig = os.environ.get(LOCAL_KUBECONFIG_ENV, str(Path(".state/local/kubeconfig").resolve()))
        infra = local = LocalCluster(cluster.name, LocalClusterArgs(spec, plan, cluster.name, kubeconfig_path=kubeconfig))
        provider = local.provider
    ClusterPlatform(
        f"{cluster.name}-platform",
        PlatformArgs(spec, plan, cluster.name, kueue, storage),
        opts=pulumi.ResourceOptions(providers={"kubernetes": provider}, depends_on=[infra]),
    )
