"""An inference cluster with two tenants, built from code with the aion_factory library.

What a team does in a stack of its own: declare the spec in Python (no `aion:`
config), check it (the plan must fit, the target must accept it), then deploy
it with the library's FactoryCluster. It runs on the local target (a control
plane on this machine, simulated GPU nodes); `target="scaleway"` would build a
Kapsule cluster instead, and nothing else here would change.
"""

from __future__ import annotations

import pulumi

from aion_factory import FactorySpec
from aion_factory.factory import FactoryCluster, deployable_clusters
from aion_factory.spec import Cluster, GpuPool, Hall, Row, Site, SystemPool, Tenant
from aion_factory.target import LocalSettings

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
            # Both serve: `inference` is granted by name (by default a tenant gets training and batch only).
            Tenant(name="chat", power_kw=6, clusters=(CLUSTER,), priority_classes=("inference", "training", "batch")),
            Tenant(name="vision", power_kw=3, clusters=(CLUSTER,), borrowing_limit=0.5, priority_classes=("inference", "batch")),
        ),
    )


def deploy(spec: FactorySpec | None = None) -> None:
    spec = spec or factory_spec()
    # Every violation and refusal named, and nothing registered, before the first resource.
    local = LocalSettings(kubeconfig_path=pulumi.Config().get("kubeconfig"))
    [deployment] = deployable_clusters(spec, clusters=[CLUSTER], local=local)
    cluster = FactoryCluster(CLUSTER, deployment)
    pulumi.export(SPEC_OUTPUT, spec.model_dump(mode="json"))
    pulumi.export("tenant_namespaces", cluster.tenant_namespaces)
    pulumi.export("local_queues", cluster.local_queues)  # namespace -> the LocalQueue its jobs name
    pulumi.export("gpus_by_flavor", cluster.gpus_by_flavor)
