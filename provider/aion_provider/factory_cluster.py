"""FactoryCluster: one cluster of a spec, planned and deployed, for stacks in any language.

No `from __future__ import annotations` here: the schema is inferred from these
annotations at run time, and they must be real types, not strings.
"""

import os
from typing import Any, NotRequired, TypedDict

import pulumi

from aion_factory import AionError, ConfigError, spec_from_config
from aion_factory.planner import make_plan
from aion_factory.platform import ClusterPlatform, KueueInstall, PlatformArgs, StorageClassChoice, tenant_namespace
from aion_factory.platform.tenancy import tenants_on
from aion_factory.program import platform_choices

from .errors import refused
from .tokens import token

SPEC_KEYS = ("site", "clusters", "tenants")


class FactoryClusterArgs(TypedDict):
    """The spec, as a stack's `aion:` config writes it (stacks/aion.schema.json), and the cluster to deploy."""

    site: dict[str, Any]
    """The site and its power tree (aion:site)."""
    clusters: list[dict[str, Any]]
    """Every cluster of the stack (aion:clusters); the plan counts all of them."""
    tenants: NotRequired[list[dict[str, Any]]]
    """Tenants and their power allotments (aion:tenants)."""
    cluster: str
    """The cluster of `clusters` this component deploys."""
    kubeconfig: NotRequired[str]
    """Local target: path of the local cluster's kubeconfig (default: $AION_LOCAL_KUBECONFIG)."""
    kueue_crds: NotRequired[str]
    """Local target: folder of Kueue's CRD files (default: $AION_KUEUE_CRDS)."""


class FactoryCluster(pulumi.ComponentResource):
    """A GPU cluster of the factory and its in-cluster platform, refused before any resource when
    the spec is invalid or its plan exceeds a power budget."""

    tenant_namespaces: pulumi.Output[list[str]]
    """The tenants' namespaces on this cluster."""
    gpus_by_flavor: pulumi.Output[dict[str, int]]
    """GPUs of the cluster at rated size, per flavor."""
    rated_kw: pulumi.Output[float]
    """The cluster's rated IT power, kW."""
    kubeconfig: pulumi.Output[str | None]
    """Scaleway target: the cluster's kubeconfig (secret); unset on the local target."""

    def __init__(self, name: str, args: FactoryClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        values: dict[str, Any] = {key: value for key, value in args.items() if key in SPEC_KEYS}
        try:
            spec = spec_from_config(values)
        except ConfigError as error:
            raise refused("invalid spec", str(error)) from None
        plan = make_plan(spec)
        if plan.violations:
            raise refused("the plan violates the site's budgets or limits", "\n".join(f"{v.path}: {v.message}" for v in plan.violations))
        if not any(c.name == args["cluster"] for c in spec.clusters):
            raise refused("unknown cluster", f"{args['cluster']!r} is not one of: {', '.join(c.name for c in spec.clusters)}")
        cluster = spec.cluster(args["cluster"])
        super().__init__(token("FactoryCluster"), name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        kubeconfig: pulumi.Output[str] | None = None
        infra: pulumi.ComponentResource
        try:
            kueue, storage = _choices(args, cluster)
            if cluster.target == "scaleway":
                from aion_factory.scaleway import KapsuleClusterStack, ScalewayClusterArgs

                infra = kapsule = KapsuleClusterStack(f"{name}-scaleway", ScalewayClusterArgs(spec, plan, cluster.name), child)
                provider, kubeconfig = kapsule.provider, kapsule.kubeconfig
            else:
                from aion_factory.local import LocalCluster, LocalClusterArgs

                path = args.get("kubeconfig") or os.environ.get("AION_LOCAL_KUBECONFIG")
                if not path:
                    raise refused("no kubeconfig", "the local target needs `kubeconfig` (or $AION_LOCAL_KUBECONFIG)")
                infra = local = LocalCluster(f"{name}-local", LocalClusterArgs(spec, plan, cluster.name, kubeconfig_path=path), child)
                provider = local.provider
        except AionError as error:
            raise refused("cannot build the cluster", str(error)) from None
        ClusterPlatform(
            f"{name}-platform",
            PlatformArgs(spec, plan, cluster.name, kueue, storage),
            pulumi.ResourceOptions(parent=self, providers={"kubernetes": provider}, depends_on=[infra]),
        )
        planned = plan.cluster(cluster.name)
        self.tenant_namespaces = pulumi.Output.from_input([tenant_namespace(t.name) for t in tenants_on(spec, cluster.name)])
        self.gpus_by_flavor = pulumi.Output.from_input(dict(planned.gpus_by_flavor))
        self.rated_kw = pulumi.Output.from_input(round(planned.rated_kw, 3))
        self.kubeconfig = pulumi.Output.secret(kubeconfig) if kubeconfig is not None else pulumi.Output.from_input(None)
        self.register_outputs(
            {
                "tenant_namespaces": self.tenant_namespaces,
                "gpus_by_flavor": self.gpus_by_flavor,
                "rated_kw": self.rated_kw,
                "kubeconfig": self.kubeconfig,
            }
        )


def _choices(args: FactoryClusterArgs, cluster: Any) -> tuple[KueueInstall, StorageClassChoice]:
    """The program's own per-target choices; a `kueue_crds` input wins over the environment."""
    if cluster.target == "local" and "kueue_crds" in args:
        return KueueInstall.crds(args["kueue_crds"]), StorageClassChoice.local()
    return platform_choices(cluster)
