"""Where a cluster lives, behind one small interface.

Each target (`scaleway`, `local`) owns its preflight, its credentials, the
platform choices it makes and the infrastructure it builds. `target_for()` maps
a spec's `target:` to its adapter: the only place that tells targets apart.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from . import environment
from .catalog import Catalog, load_catalog
from .errors import Problem, shown
from .keys import key_path
from .planner import Plan
from .spec import FactorySpec
from .view import ClusterView, cluster_views

if TYPE_CHECKING:
    import pulumi

    from .platform.args import PlatformChoices


@dataclass(frozen=True)
class Infrastructure:
    """What a target built for one cluster, as the platform above it needs it."""

    resource: pulumi.Resource  # the platform waits for it
    provider: pulumi.ProviderResource  # the Kubernetes provider of the cluster
    kubeconfig: pulumi.Output[str] | None  # secret; None where the target reads an existing one
    # What stacks building on this one look up; None where the target makes no such thing.
    cluster_id: pulumi.Output[str] | None = None
    private_network_id: pulumi.Output[str] | None = None
    bucket: pulumi.Output[str | None] | None = None


class Target(Protocol):
    name: str

    def preflight(self, view: ClusterView) -> list[Problem]:
        """What this target would refuse about the cluster, found before any resource is registered:
        its credentials, and `config_refusals(view)`."""
        ...

    def platform_choices(self, view: ClusterView) -> PlatformChoices:
        """How Kueue is installed and which StorageClass is the default, on this target."""
        ...

    def infrastructure(self, name: str, view: ClusterView, opts: pulumi.ResourceOptions) -> Infrastructure:
        """The cluster itself and a Kubernetes provider for it."""
        ...


@dataclass(frozen=True)
class LocalSettings:
    """Where the local target finds its cluster; unset: from the environment."""

    kubeconfig_path: str | None = None


# Imported on demand: a local stack never loads the Scaleway provider's SDK.
ADAPTERS = {"scaleway": "aion_factory.scaleway.target", "local": "aion_factory.local.target"}
# Each target's rules about a cluster's config: pure (no Pulumi, no credentials), so `aion plan` runs
# them without loading an SDK, and each adapter's preflight runs the same ones before deploy.
# A module refuses with `cluster_problems(view)` and warns with `cluster_warnings(spec, index, catalog)`.
CONFIG_RULES = {"scaleway": "aion_factory.scaleway.preflight"}
# Where a target's cluster is reached when the stack names no kubeconfig: the local target's is the one
# `make local` writes; a Kapsule cluster's is an output of its own deploy, so a client's default then.
KUBECONFIGS = {"local": environment.local_kubeconfig}


def target_for(name: str, local: LocalSettings | None = None) -> Target:
    """The adapter of the target a cluster's `target:` names (the spec allows only these names)."""
    adapter: Target = importlib.import_module(ADAPTERS[name]).adapter(local or LocalSettings())
    return adapter


def config_refusals(view: ClusterView) -> list[Problem]:
    """What the cluster's target would refuse about its config (a Kapsule limit), whoever asks."""
    module = CONFIG_RULES.get(view.target)
    problems: list[Problem] = importlib.import_module(module).cluster_problems(view) if module else []
    return problems


def config_warnings(spec: FactorySpec, catalog: Catalog) -> list[Problem]:
    """What each cluster's target warns about its config (tenants its CNI leaves unfenced), whoever asks."""
    warnings: list[Problem] = []
    for c, cluster in enumerate(spec.clusters):
        module = CONFIG_RULES.get(cluster.target)
        warnings += importlib.import_module(module).cluster_warnings(spec, c, catalog) if module else []
    return warnings


def kubeconfig_of(target: str, configured: str | None) -> str | None:
    """The kubeconfig that reaches a cluster of `target`: the configured one, else the target's own;
    None: the Kubernetes client's default (~/.kube/config)."""
    default = KUBECONFIGS.get(target)
    return configured or (default() if default else None)


def namespace_takeovers(view: ClusterView, kubeconfig_path: str | None) -> list[Problem]:
    """Tenant namespaces that exist on the live cluster without the toolkit's tenant label, refused by name
    before deploy (`platform.tenancy.foreign_namespaces`): a deploy would take them over.

    Read from the API server the kubeconfig names. No kubeconfig file, no cluster yet: nothing to take
    over. A cluster that cannot be read is refused too: the deploy could not check what it would apply over.
    """
    if not view.tenants or not kubeconfig_path or not Path(kubeconfig_path).is_file():
        return []
    from .platform.tenancy import foreign_namespaces  # the platform package loads Pulumi: `aion plan` never gets here

    try:
        live = _namespace_labels(kubeconfig_path)
    except Exception as error:  # the client's errors (config, connection, HTTP) share no base class
        return [
            Problem(
                key_path(["clusters", view.index]),
                f"cannot read the namespaces of cluster {view.name} from {kubeconfig_path} ({type(error).__name__}: "
                f"{shown(str(error).splitlines()[0] if str(error) else '', 200)}), so a tenant namespace that exists "
                "there already cannot be told from ours; allowed: a running cluster its kubeconfig reaches",
            )
        ]
    return foreign_namespaces(view.tenants, live, view.name)


def _namespace_labels(kubeconfig_path: str) -> dict[str, dict[str, str]]:
    from kubernetes import client, config  # only where a live cluster is read

    api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig_path))  # type: ignore[no-untyped-call]
    found: list[Any] = api.list_namespace(_request_timeout=(5, 30)).items
    return {ns.metadata.name: dict(ns.metadata.labels or {}) for ns in found}


def with_target_rules(spec: FactorySpec, plan: Plan) -> Plan:
    """The plan with what each cluster's target would refuse among its violations, so that `aion
    plan` never says "fits" where `pulumi up` stops, and what it warns about among its warnings."""
    refusals = [replace(p, level="violation") for view in cluster_views(spec, plan) for p in config_refusals(view)]
    warnings = config_warnings(spec, load_catalog())
    if not refusals and not warnings:
        return plan
    return replace(plan, violations=(*plan.violations, *refusals), warnings=(*plan.warnings, *warnings))
