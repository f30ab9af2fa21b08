"""An inference cluster with two tenants, built from code with the aion_factory library.

What a team does in a stack of its own: declare the spec in Python (no `aion:`
config), plan it, refuse a plan that does not fit, then call the components.
It runs on the local target (a control plane on this machine, simulated GPU
nodes); a Kapsule cluster would use `aion_factory.scaleway.KapsuleClusterStack`
in `cluster()` instead, and the platform above it would not change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pulumi

from aion_factory import FactorySpec
from aion_factory.local import LocalCluster, LocalClusterArgs
from aion_factory.platform import ClusterPlatform, KueueInstall, PlatformArgs, StorageClassChoice, tenant_namespace
from aion_factory.platform.tenancy import tenants_on
from aion_factory.program import checked_plan
from aion_factory.spec import Cluster, GpuPool, Hall, Row, Site, SystemPool, Tenant

CLUSTER = "inference"
# The policy pack plans a stack from this output when the stack has no `aion:` config.
SPEC_OUTPUT = "aion-spec"


def factory_spec() -> FactorySpec:
    """A 40 kW row of L40S and L4 inference nodes, shared by a chat and a vision team."""
    return FactorySpec(
        site=Site(
            name="edge",
            facility_power_mw=0.05,
            pue=1.25,
            halls=(Hall(name="hall-1", it_power_kw=40, rows=(Row(name="row-1", it_power_kw=30),)),),
        ),
        clusters=(
            Cluster(
                name=CLUSTER,
                target="local",
                hall="hall-1",
                row="row-1",
                system_pool=SystemPool(node_type="POP2-4C-16G", size=1),
                pools=(
                    GpuPool(name="l40s", node_type="L40S-4-48G", size=2, labels={"workload": "inference"}),
                    GpuPool(name="l4", node_type="L4-8-24G", size=1, gpu_power_cap_w=60),
                ),
            ),
        ),
        tenants=(
            Tenant(name="chat", power_kw=6, clusters=(CLUSTER,), priority=300),
            Tenant(name="vision", power_kw=3, clusters=(CLUSTER,), borrowing_limit=0.5),
        ),
    )


def kubeconfig_path() -> str:
    configured = pulumi.Config().get("kubeconfig") or os.environ.get("AION_LOCAL_KUBECONFIG")
    return configured or str(Path(".state/local/kubeconfig").resolve())


def deploy(spec: FactorySpec | None = None) -> None:
    spec = spec or factory_spec()
    plan = checked_plan(spec)  # every violation named, and nothing registered
    local = LocalCluster(CLUSTER, LocalClusterArgs(spec, plan, CLUSTER, kubeconfig_path=kubeconfig_path()))
    ClusterPlatform(
        f"{CLUSTER}-platform",
        PlatformArgs(spec, plan, CLUSTER, KueueInstall.crds(os.environ.get("AION_KUEUE_CRDS")), StorageClassChoice.local()),
        opts=pulumi.ResourceOptions(providers={"kubernetes": local.provider}, depends_on=[local]),
    )
    pulumi.export(SPEC_OUTPUT, spec.model_dump(mode="json"))
    pulumi.export("tenant_namespaces", [tenant_namespace(t.name) for t in tenants_on(spec, CLUSTER)])
    pulumi.export("gpus_by_flavor", plan.cluster(CLUSTER).gpus_by_flavor)
