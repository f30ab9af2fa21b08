"""What admitted work draws, in kW: Kueue's ClusterQueue usage read with the plan's power.

Kueue admits by GPU quotas, and the planner made each tenant's quota from its kW, so a
workload that waits for quota waits for power, but Kueue says "insufficient unused quota
for nvidia.com/gpu": it cannot count watts. This turns its queues' usage back into kW
(GPUs x the flavor's kW per GPU) and says, for a tenant with waiting work, whether the
power its flavor is given on the cluster is all admitted while GPUs stand unpowered. Pure:
ClusterQueue objects in, rows out (`aion queues` reads them from the cluster).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .labels import GPU_RESOURCE
from .planner import LevelDeratePlan
from .view import ClusterView
from .wording import count


@dataclass(frozen=True)
class QueuePower:
    """One tenant's GPUs of one flavor on the cluster: quota, admitted, and their kW."""

    tenant: str
    flavor: str
    quota_gpus: int  # the tenant's nominal quota: the GPUs its kW buy here
    admitted_gpus: int  # what Kueue has admitted, borrowed GPUs included
    kw_per_gpu: float  # the flavor's rated kW per GPU, as the planner counted its quotas
    waiting: int  # workloads of the tenant Kueue has not admitted
    stopped: bool = False  # a power event holds and drains its ClusterQueue

    @property
    def quota_kw(self) -> float:
        return self.quota_gpus * self.kw_per_gpu

    @property
    def admitted_kw(self) -> float:
        return self.admitted_gpus * self.kw_per_gpu


@dataclass(frozen=True)
class FlavorPower:
    """A flavor on the cluster: GPUs installed, GPUs the tenants' power covers, GPUs admitted."""

    flavor: str
    installed_gpus: int
    powered_gpus: int  # the tenants' quotas together: all the power lets Kueue admit
    admitted_gpus: int
    kw_per_gpu: float

    @property
    def unpowered_gpus(self) -> int:
        return max(self.installed_gpus - self.powered_gpus, 0)

    def waiting_reason(self) -> str:
        """Why work of this flavor waits, in power terms, when all the power it is given is admitted."""
        if self.admitted_gpus < self.powered_gpus:
            return "quota: the tenant's own and borrowable GPUs are in use (others' idle power is not lendable to it)"
        return (
            f"power: {self.admitted_gpus * self.kw_per_gpu:,.1f} kW admitted, all the tenants' allotments give {self.flavor} here "
            f"({self.powered_gpus} GPUs x {self.kw_per_gpu:.3f} kW); "
            f"{count(self.unpowered_gpus, 'GPU')} installed beyond the power stay idle"
        )


def flavor_kw_per_gpu(view: ClusterView) -> dict[str, float]:
    """kW per GPU of each flavor, the figure the quotas were made with (`FlavorView.kw_per_gpu`)."""
    return {flavor.name: flavor.kw_per_gpu for flavor in view.flavors}


def queue_power(view: ClusterView, cluster_queues: Iterable[Mapping[str, Any]]) -> tuple[list[QueuePower], list[FlavorPower]]:
    """Per tenant and flavor, and per flavor, from the tenants' ClusterQueues (named after them)."""
    queues = {q["metadata"]["name"]: q.get("status") or {} for q in cluster_queues}
    kw_per_gpu = flavor_kw_per_gpu(view)
    rows = []
    for tenant in view.tenants:
        status = queues.get(tenant.name, {})
        admitted = _gpus_by_flavor(status.get("flavorsReservation") or [])
        for quota in tenant.gpu_quotas:
            rows.append(
                QueuePower(
                    tenant=tenant.name,
                    flavor=quota.flavor,
                    quota_gpus=quota.nominal,
                    admitted_gpus=admitted.get(quota.flavor, 0),
                    kw_per_gpu=kw_per_gpu.get(quota.flavor, 0.0),
                    waiting=int(status.get("pendingWorkloads", 0)),
                    stopped=tenant.stopped,
                )
            )
    flavors = [
        FlavorPower(
            flavor=flavor.name,
            installed_gpus=flavor.gpus,
            powered_gpus=sum(r.quota_gpus for r in rows if r.flavor == flavor.name),
            admitted_gpus=sum(r.admitted_gpus for r in rows if r.flavor == flavor.name),
            kw_per_gpu=kw_per_gpu.get(flavor.name, 0.0),
        )
        for flavor in view.flavors
    ]
    return rows, flavors


def _gpus_by_flavor(usage: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    return {
        flavor["name"]: int(resource.get("total", 0))
        for flavor in usage
        for resource in flavor.get("resources") or []
        if resource["name"] == GPU_RESOURCE
    }


def format_queue_power(
    view: ClusterView, rows: list[QueuePower], flavors: list[FlavorPower], derates: tuple[LevelDeratePlan, ...] = ()
) -> str:
    lines = [f"cluster {view.name} ({view.level}): GPUs admitted by Kueue, and the power they draw"]
    admitted_kw = sum(r.admitted_kw for r in rows)
    for derate in derates:
        lines.append(
            f"power event: {derate.kind} {derate.level} derated to {derate.derated_kw:,.1f} kW (budget {derate.budget_kw:,.1f} kW); "
            f"admitted here now: {admitted_kw:,.1f} kW"
        )
    stopped = sorted({r.tenant for r in rows if r.stopped})
    if stopped:
        lines.append(
            f"stopped by the power event (ClusterQueue held and drained, its work waits until the event ends): {', '.join(stopped)}"
        )
    lines.append(f"{'tenant':<24} {'flavor':<14} {'admitted GPUs':>13} {'of quota':>9} {'kW drawn':>9} {'of kW':>8} {'waiting':>8}")
    for r in rows:
        gpus, kw = f"{r.admitted_gpus:>13} {r.quota_gpus:>9}", f"{r.admitted_kw:>9,.1f} {r.quota_kw:>8,.1f}"
        lines.append(f"{r.tenant:<24} {r.flavor:<14} {gpus} {kw} {r.waiting:>8}")
    for f in flavors:
        waiting = any(r.waiting for r in rows if r.flavor == f.flavor)
        lines.append(
            f"{f.flavor}: {f.admitted_gpus} of {f.powered_gpus} powered GPUs admitted ({f.installed_gpus} installed)"
            + (f"; work waits for {f.waiting_reason()}" if waiting else "")
        )
    return "\n".join(lines) + "\n"
