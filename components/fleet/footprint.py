"""What each cluster of a programme takes from its cloud account, phase by phase: the figures an
account-limits check sums per Organization and Project (Kapsule clusters, control plane types,
Instances per node type and zone, placement groups). Pure: it reads the plan, the cluster views and
how a GPU pool becomes Kapsule pools (`scaleway/pool_inputs.kapsule_pools`), so the count of
placement groups is the one the deploy makes."""

from __future__ import annotations

from dataclasses import dataclass

from ..programme_plan import ProgrammePlan
from ..scaleway.pool_inputs import kapsule_pools
from ..view import cluster_views


@dataclass(frozen=True)
class ClusterFootprint:
    phase: str | None  # None: the sites have no phases
    site: str
    organization: str | None  # where the programme says the site deploys; None: not said
    project: str | None
    cluster: str
    target: str
    zone: str
    control_plane: str | None
    nodes_by_type: dict[str, int]  # rated nodes (an autoscaling pool's ceiling), the system pool included
    placement_groups: int  # Kapsule pools placed in a low-latency placement group of their own


def footprints(plan: ProgrammePlan) -> list[ClusterFootprint]:
    """Every cluster of every site in every phase, oldest phase first."""
    found = []
    for index, phase in enumerate(plan.phases):
        for site in plan.sites:
            phase_plan = site.plans[index]
            for view in cluster_views(phase_plan.view.spec, phase_plan.plan):
                nodes: dict[str, int] = {}
                for pool in (*view.gpu_pools, view.system_pool):
                    nodes[pool.node_type] = nodes.get(pool.node_type, 0) + pool.rated_nodes
                grouped = sum(part.placement_group for pool in view.gpu_pools for part in kapsule_pools(pool))
                found.append(
                    ClusterFootprint(
                        phase=None if phase is None else phase.name,
                        site=site.name,
                        organization=site.organization,
                        project=site.project,
                        cluster=view.name,
                        target=view.target,
                        zone=view.settings.zone,
                        control_plane=view.control_plane,
                        nodes_by_type=nodes,
                        placement_groups=grouped,
                    )
                )
    return found
