"""Rung 2: the 200 MW site's whole fleet under mocks, every stack as `pulumi up` runs its program.

Each stack plans the whole site and registers its own cluster and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aion_factory import load_site
from support import ROOT

EXAMPLE = ROOT / "examples/aion-200mw"
SCRIPT = Path(__file__).with_name("fleet_stack.py")


def registered(stack_file: Path) -> list[dict[str, Any]]:
    run = subprocess.run([sys.executable, str(SCRIPT), str(stack_file)], capture_output=True, text=True, check=False, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    found: list[dict[str, Any]] = json.loads(run.stdout.splitlines()[-1])
    return found


def test_every_stack_of_the_site_deploys_its_own_cluster_only() -> None:
    site = load_site(EXAMPLE / "site.yaml")
    stack_files = sorted((EXAMPLE / "stacks").glob("Pulumi.*.yaml"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(zip(stack_files, pool.map(registered, stack_files), strict=True))
    deployed = {}
    for stack_file, resources in runs.items():
        [factory] = [r["name"] for r in resources if r["type"] == "aion-factory:index:FactoryCluster"]
        [kapsule] = [r["inputs"] for r in resources if r["type"] == "scaleway:kubernetes/cluster:Cluster"]
        pools = {r["inputs"]["name"]: r["inputs"]["size"] for r in resources if r["type"] == "scaleway:kubernetes/pool:Pool"}
        assert factory == stack_file.stem.removeprefix("Pulumi.")
        assert (kapsule["name"], kapsule["type"]) == (f"aion-{factory}", "kapsule-dedicated-8")
        deployed[factory] = pools
    assert deployed == {c.name: {"system": c.system_pool.size, "b300": c.pools[0].size} for c in site.clusters}


def test_a_programme_sites_stack_registers_its_share_of_a_tenant_across_sites(tmp_path: Path) -> None:
    """Sites a (cluster a1: 10 H100-SXM-8-80G nodes, 102 kW of GPUs) and b (b1: 30 nodes, 306 kW), in
    phase p1; the programme's tenant `lab` of 204 kW on both: 51 kW at a, so 40 of a1's 80 GPUs."""
    for name, nodes in (("a", 10), ("b", 30)):
        pools = [{"name": "g", "node_type": "H100-SXM-8-80G", "size": nodes}]
        site = {
            "site": {"name": name, "facility_power_mw": 1, "pue": 1.0, "halls": [{"name": "h", "it_power_kw": 500}]},
            "phases": [{"name": "p1", "date": "2027-06"}],
            "current_phase": "p1",
            "clusters": [{"name": f"{name}1", "target": "scaleway", "zone": "fr-par-2", "hall": "h", "pools": pools}],
            "tenants": [],
        }
        (tmp_path / f"{name}.yaml").write_text(json.dumps(site))
    programme = {"programme": "two", "sites": [{"file": "a.yaml"}, {"file": "b.yaml"}]}
    programme["tenants"] = [{"name": "lab", "power_kw": 204, "clusters": ["a/a1", "b/b1"]}]
    (tmp_path / "programme.yaml").write_text(json.dumps(programme))
    stack_file = tmp_path / "Pulumi.a1.yaml"
    stack_file.write_text(json.dumps({"config": {"aion:site_file": "a.yaml", "aion:cluster": "a1", "aion:programme": "programme.yaml"}}))

    resources = registered(stack_file)

    namespaces = [r["inputs"]["metadata"]["name"] for r in resources if r["type"] == "kubernetes:core/v1:Namespace"]
    assert "lab" in namespaces
    [queue] = [r["inputs"] for r in resources if r["type"].endswith(":ClusterQueue") and r["inputs"]["metadata"]["name"] == "lab"]
    gpus = [
        r for group in queue["spec"]["resourceGroups"] for f in group["flavors"] for r in f["resources"] if r["name"] == "nvidia.com/gpu"
    ]
    assert [r["nominalQuota"] for r in gpus] == ["40"]
