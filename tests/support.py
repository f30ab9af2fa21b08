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
