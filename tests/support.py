"""Shared test data and paths (imported as `support`: every test folder has its own conftest)."""

from pathlib import Path
from typing import Any

import yaml

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
        index=0,
        namespace=name,
        group=name,
        pod_security=spec.pod_security,
        cpu_quota=spec.cpu_quota,
        memory_quota_gib=spec.memory_quota_gib,
        pods_quota=spec.pods_quota,
        gpu_quotas=(FlavorQuota(flavor="h100-sxm", nominal=gpus, borrowing=0, lending=None),),
        priority_classes=spec.priority_classes,
        storage_quota_gib=spec.storage_quota_gib,
        object_quotas=spec.object_quotas,
        container_max_cpu=128,  # an H100-SXM-8-80G node's (data/catalog.yaml)
        container_max_memory_gib=960,
    )


def write(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


def stack(folder: Path, name: str, **values: Any) -> Path:
    return write(folder / f"Pulumi.{name}.yaml", {"config": {f"aion:{k}": v for k, v in values.items()}})


def one_hall_two_stacks(tmp_path: Path) -> Path:
    """The issue's case: one hall of 4,000 kW (x1.1) and two clusters of 200 B300-SXM-8 nodes (2,900 kW each)."""
    cluster = {"target": "scaleway", "hall": "hall-1", "system_pool": {"size": 2}}
    pools = [{"name": "b300", "node_type": "B300-SXM-8-288G", "size": 200}]
    site = {
        "site": {
            "name": "dc",
            "facility_power_mw": 10,
            "pue": 1.2,
            "halls": [{"name": "hall-1", "it_power_kw": 4000, "oversubscription": 1.1}],
        },
        "clusters": [
            {**cluster, "name": "train-a", "subnet": "172.16.0.0/22", "pools": pools},
            {**cluster, "name": "train-b", "subnet": "172.16.4.0/22", "pools": pools},
        ],
    }
    write(tmp_path / "sites/dc.yaml", site)
    for name in ("train-a", "train-b"):
        stack(tmp_path / "stacks", name, site_file="../sites/dc.yaml", cluster=name)
    return tmp_path / "stacks"


def power_cap_configs(view: Any) -> dict[str, str]:
    """Each GPU pool's cap as its ConfigMap holds it: watts, or `default`."""
    from aion_factory.labels import POOL
    from aion_factory.platform.power_caps import power_cap_objects

    return {obj["metadata"]["labels"][POOL]: obj["data"]["cap_w"] for obj in power_cap_objects(view) if obj["kind"] == "ConfigMap"}
