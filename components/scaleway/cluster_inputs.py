"""The Kapsule cluster's settings, from the cluster view. Pure, no Pulumi at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..view import ClusterView

if TYPE_CHECKING:
    from pulumiverse_scaleway.kubernetes import ClusterAutoscalerConfigArgsDict, ClusterAutoUpgradeArgsDict


def control_plane(view: ClusterView) -> str:
    """The Kapsule type the plan chose (`auto` resolved to the smallest that holds the cluster)."""
    if view.control_plane is None:
        # The planner reports this as a violation, and nothing is deployed.
        raise ValueError(f"no Kapsule control plane holds cluster {view.name}; the plan should have stopped it")
    return view.control_plane


def auto_upgrade(view: ClusterView) -> ClusterAutoUpgradeArgsDict:
    """Patch upgrades inside the spec's maintenance window (Kapsule's window is 2 hours, UTC)."""
    cluster = view.settings
    return {
        "enable": cluster.auto_upgrade,
        "maintenance_window_day": cluster.maintenance.day,
        "maintenance_window_start_hour": cluster.maintenance.start_hour,
    }


def autoscaler_config() -> ClusterAutoscalerConfigArgsDict:
    """Cluster-autoscaler settings tuned for GPU pools.

    GPU nodes take minutes to boot and get their drivers (the GPU operator installs
    them after boot), and cost far more than CPU nodes: wait longer before judging a
    new node useless, pick the pool that wastes the least, and never balance
    different GPU types against each other.
    """
    return {
        "disable_scale_down": False,
        "scale_down_delay_after_add": "30m",
        "scale_down_unneeded_time": "20m",
        "estimator": "binpacking",
        "expander": "least_waste",
        "ignore_daemonsets_utilization": True,
        "balance_similar_node_groups": False,
        # Checkpointing jobs need time to flush before their node goes away.
        "max_graceful_termination_sec": 1800,
    }
