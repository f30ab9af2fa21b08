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
