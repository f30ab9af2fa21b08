"""Shared test data and paths (imported as `support`: every test folder has its own conftest)."""

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MINIMAL: dict[str, Any] = {
    "site": {
        "name": "s",
        "facility_power_mw": 1.25,
        "pue": 1.25,
        "halls": [{"name": "h", "it_power_kw": 1000, "rows": [{"name": "r", "it_power_kw": 500}]}],
    },
    "clusters": [
        {
            "name": "c",
            "target": "scaleway",
            "zone": "fr-par-2",
            "hall": "h",
            "row": "r",
            "system_pool": {"node_type": "POP2-4C-16G", "size": 2},
            "pools": [
                {"name": "h100", "node_type": "H100-SXM-8-80G", "size": 4},
                {"name": "l4", "node_type": "L4-8-24G", "size": 2},
            ],
        }
    ],
    "tenants": [{"name": "t", "power_kw": 20, "clusters": ["c"]}],
}


def view_of(spec: Any, cluster: str) -> Any:
    """The cluster view of `cluster` of `spec`, planned: what every builder reads."""
    from aion_factory import make_plan
    from aion_factory.view import cluster_view

    return cluster_view(spec, make_plan(spec), cluster)


def tenant_view(name: str, gpus: int) -> Any:
    """A tenant of the spec's defaults whose GPU ceiling is `gpus` (one flavor, no borrowing)."""
    from aion_factory.planner import FlavorQuota
    from aion_factory.spec import Tenant
    from aion_factory.view import TenantView

    spec = Tenant(name=name, power_kw=1, clusters=("c",))
    return TenantView(
        name=name,
        namespace=name,
        group=name,
        pod_security=spec.pod_security,
        cpu_quota=spec.cpu_quota,
        memory_quota_gib=spec.memory_quota_gib,
        pods_quota=spec.pods_quota,
        gpu_quotas=(FlavorQuota(flavor="h100-sxm", nominal=gpus, borrowing=0, lending=None),),
    )
