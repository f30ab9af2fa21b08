"""FactoryCluster: one cluster of the factory, its infrastructure and its platform, on any target.

The program, the plugin package and any stack that imports the library use this
one component. `deployable_clusters()` checks everything first (the spec passes the same
checks as `aion plan` and a stack's config, the plan fits, each target's preflight passes) and
raises before a single resource is registered, whatever built the spec.

No `from __future__ import annotations` here: the plugin package infers its schema
from FactoryCluster's output annotations at run time, so they must be real types.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pulumi

from .catalog import load_catalog
from .checks import check_spec
from .errors import ConfigError, NotDeployable
from .planner import Plan, make_plan
from .platform import ClusterPlatform, PlatformArgs
from .platform.queues import local_queue_names
from .spec import FactorySpec
from .target import LocalSettings, Target, target_for
from .view import ClusterView, cluster_view

TYPE = "aion-factory:index:FactoryCluster"  # the same token in the plugin package, as for every language


@dataclass(frozen=True)
class ClusterDeployment:
    """A cluster that passed every check before deploy, and the target that builds it."""

    view: ClusterView
    target: Target


def deployable_clusters(
    spec: FactorySpec, plan: Plan | None = None, clusters: Iterable[str] | None = None, local: LocalSettings | None = None
) -> list[ClusterDeployment]:
    """The clusters to deploy (default: every one of the spec), once the spec passes its checks, the whole
    plan fits and every chosen cluster passes its target's preflight; else `ConfigError` (the spec's
    checks) or `NotDeployable`, naming every problem.

    The checks run here, not only where a config is read: a spec built in code (examples/consumer, the
    plugin package, any importing stack) is a pydantic model that checked its shapes and nothing else."""
    problems = check_spec(spec, load_catalog())
    if problems:
        raise ConfigError(problems)
    plan = plan or make_plan(spec)
    if plan.violations:
        raise NotDeployable("the plan violates the site's budgets or limits", plan.violations)
    names = [c.name for c in spec.clusters] if clusters is None else list(clusters)
    deployments = [ClusterDeployment(view, target_for(view.target, local)) for view in (cluster_view(spec, plan, n) for n in names)]
    problems = [problem for d in deployments for problem in d.target.preflight(d.view)]
    if problems:
        raise NotDeployable("a target would refuse the clusters", problems)
    return deployments


class FactoryCluster(pulumi.ComponentResource):
    """A GPU cluster of the factory and its in-cluster platform."""

    tenant_namespaces: pulumi.Output[list[str]]
    """The tenants' namespaces on this cluster."""
    local_queues: pulumi.Output[dict[str, str]]
    """Each tenant namespace's Kueue LocalQueue: what jobs name in kueue.x-k8s.io/queue-name."""
    gpus_by_flavor: pulumi.Output[dict[str, int]]
    """GPUs of the cluster at rated size, per flavor."""
    rated_kw: pulumi.Output[float]
    """The cluster's rated IT power, kW."""
    kubeconfig: pulumi.Output[str | None]
    """The cluster's kubeconfig (secret) where the target makes one (Scaleway); unset on the local target."""
    cluster_id: pulumi.Output[str | None]
    """The Kapsule cluster's id; unset on the local target."""
    private_network_id: pulumi.Output[str | None]
    """The id of the cluster's Private Network (Scaleway); unset on the local target."""
    bucket: pulumi.Output[str | None]
    """The name of the cluster's object storage bucket (Scaleway); unset without one."""

    def __init__(self, name: str, deployment: ClusterDeployment, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        view, target = deployment.view, deployment.target
        # The infrastructure takes the component's own name (its type tells them apart): children read `local-k8s`.
        infra = target.infrastructure(name, view, pulumi.ResourceOptions(parent=self, aliases=_before(name, target)))
        ClusterPlatform(
            f"{name}-platform",
            PlatformArgs(view, target.platform_choices(view)),
            pulumi.ResourceOptions(
                parent=self,
                providers={"kubernetes": infra.provider},
                depends_on=[infra.resource],
                aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)],
            ),
        )
        self.tenant_namespaces = pulumi.Output.from_input([t.namespace for t in view.tenants])
        self.local_queues = pulumi.Output.from_input(local_queue_names(view))
        self.gpus_by_flavor = pulumi.Output.from_input({f.name: f.gpus for f in view.flavors})
        self.rated_kw = pulumi.Output.from_input(round(sum(p.rated_kw for p in view.pools), 3))
        self.kubeconfig = pulumi.Output.secret(infra.kubeconfig) if infra.kubeconfig is not None else pulumi.Output.from_input(None)
        self.cluster_id = _or_none(infra.cluster_id)
        self.private_network_id = _or_none(infra.private_network_id)
        self.bucket = _or_none(infra.bucket)
        self.register_outputs(
            {
                "tenant_namespaces": self.tenant_namespaces,
                "local_queues": self.local_queues,
                "gpus_by_flavor": self.gpus_by_flavor,
                "rated_kw": self.rated_kw,
                "kubeconfig": self.kubeconfig,
                "cluster_id": self.cluster_id,
                "private_network_id": self.private_network_id,
                "bucket": self.bucket,
            }
        )

    def summary(self) -> pulumi.Output[dict[str, Any]]:
        """What a stack building on this one reads about the cluster, all but its kubeconfig (a secret of its own)."""
        return pulumi.Output.all(
            id=self.cluster_id,
            private_network_id=self.private_network_id,
            bucket=self.bucket,
            tenant_namespaces=self.tenant_namespaces,
            local_queues=self.local_queues,
            gpus_by_flavor=self.gpus_by_flavor,
            rated_kw=self.rated_kw,
        )


def _or_none(value: pulumi.Output[str | None] | pulumi.Output[str] | None) -> pulumi.Output[str | None]:
    return pulumi.Output.from_input(value) if value is not None else pulumi.Output.from_input(None)


def _before(name: str, target: Target) -> list[pulumi.Alias]:
    """Where stacks deployed by earlier versions keep the infrastructure, so that it moves here instead
    of being replaced: the program's at the stack's top level, the plugin's named after its target."""
    return [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE), pulumi.Alias(name=f"{name}-{target.name}")]
