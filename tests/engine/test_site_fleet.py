"""Rung 3: a local site of two clusters, each on its own control plane, run as a fleet with `aion fleet`.

The tests run in file order: up, a change over the shared hall's budget refused by either
stack, a change to one cluster previewed in its stack alone, destroy leaving nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from aion_factory import labels
from aion_factory.devstack.controlplane import LocalControlPlane
from engine_support import PulumiProject
from support import ROOT

CLUSTERS = ("lab-a", "lab-b")
AION = str(ROOT / ".venv/bin/aion")


def site(b_size: int) -> dict[str, Any]:
    """A hall of 5 kW: one L40S-4 node (1.64 kW) and a system node in each cluster; lab-b's pool at `b_size` nodes."""

    def cluster(name: str, size: int) -> dict[str, Any]:
        return {"name": name, "target": "local", "hall": "hall-a", "system_pool": {"size": 1},
                "pools": [{"name": "l40s", "node_type": "L40S-4-48G", "size": size}]}  # fmt: skip

    return {
        "site": {"name": "lab", "facility_power_mw": 0.01, "pue": 1.25, "halls": [{"name": "hall-a", "it_power_kw": 5}]},
        "clusters": [cluster("lab-a", 1), cluster("lab-b", b_size)],
        "tenants": [{"name": "ta", "power_kw": 1, "clusters": ["lab-a"]}, {"name": "tb", "power_kw": 1, "clusters": ["lab-b"]}],
    }


@pytest.fixture(scope="module")
def planes(tmp_path_factory: pytest.TempPathFactory, toolchain: dict[str, str]) -> Iterator[dict[str, LocalControlPlane]]:
    """A control plane per cluster, apart from the one the other engine tests share."""
    planes = {cluster: LocalControlPlane(tmp_path_factory.mktemp(f"control-plane-{cluster}")) for cluster in CLUSTERS}
    for plane in planes.values():
        plane.start()
    yield planes
    for plane in planes.values():
        started = plane.started()
        plane.stop()
        assert not [s for s in started.values() if s.process()]


class Fleet:
    def __init__(self, root: Path, env: dict[str, str], planes: dict[str, LocalControlPlane]) -> None:
        self.root, self.env, self.planes = root, env, planes
        PulumiProject(root, env, "unused")  # this program, its Pulumi.yaml and stacks/
        self.site_file = root / "sites/lab.yaml"
        self.write_site(1)
        for cluster, plane in planes.items():
            stack = {"aion:site_file": "../sites/lab.yaml", "aion:cluster": cluster, "aion:kubeconfig": str(plane.kubeconfig)}
            (root / f"stacks/Pulumi.{cluster}.yaml").write_text(yaml.safe_dump({"config": stack}))

    def write_site(self, b_size: int) -> None:
        self.site_file.parent.mkdir(exist_ok=True)
        self.site_file.write_text(yaml.safe_dump(site(b_size)))

    def aion(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [AION, *args, str(self.site_file), "--project", str(self.root)]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, check=False, timeout=1200)

    def pulumi(self, cluster: str, *args: str) -> subprocess.CompletedProcess[str]:
        argv = ["pulumi", *args, "--stack", cluster, "--non-interactive"]
        return subprocess.run(argv, cwd=self.root, env=self.env, capture_output=True, text=True, check=False, timeout=900)

    def core(self, cluster: str) -> Any:
        return client.CoreV1Api(config.new_client_from_config(config_file=str(self.planes[cluster].kubeconfig)))

    def nodes(self, cluster: str) -> list[str]:
        return sorted(n.metadata.name for n in self.core(cluster).list_node(label_selector=labels.POOL).items)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, pulumi_env: dict[str, str], planes: dict[str, LocalControlPlane]) -> Fleet:
    return Fleet(tmp_path_factory.mktemp("fleet"), pulumi_env, planes)


def test_the_fleet_comes_up_each_cluster_on_its_own_control_plane(fleet: Fleet) -> None:
    up = fleet.aion("fleet", "up")
    assert up.returncode == 0, up.stderr[-3000:]
    assert "[up 2/2 done, 0 running, 0 failed]" in up.stderr
    assert fleet.nodes("lab-a") == ["lab-a-l40s-0", "lab-a-system-0"]
    assert fleet.nodes("lab-b") == ["lab-b-l40s-0", "lab-b-system-0"]
    namespaces = {c: {ns.metadata.name for ns in fleet.core(c).list_namespace().items} for c in CLUSTERS}
    assert "ta" in namespaces["lab-a"] and "tb" not in namespaces["lab-a"]
    assert "tb" in namespaces["lab-b"] and "ta" not in namespaces["lab-b"]
    status = fleet.aion("fleet", "status")
    assert status.returncode == 0 and status.stdout.count("last update succeeded") == 2, status.stdout


def test_a_hall_over_budget_only_with_both_clusters_is_refused_by_either_stack(fleet: Fleet) -> None:
    fleet.write_site(3)  # lab-b alone: 4.95 kW of 5; with lab-a: 6.6 kW
    for cluster in CLUSTERS:
        preview = fleet.pulumi(cluster, "preview")
        assert preview.returncode != 0
        assert "hall lab/hall-a draws 6.6 kW rated, over its limit of 5.0 kW" in preview.stdout + preview.stderr
        assert "clusters drawing on it: lab-a, lab-b" in preview.stdout + preview.stderr
    up = fleet.aion("fleet", "up")
    assert up.returncode == 1 and "no stack of it deploys" in up.stderr
    refused = fleet.pulumi("lab-b", "up", "--yes", "--skip-preview")
    assert refused.returncode != 0 and "nothing was deployed" in refused.stdout + refused.stderr
    assert fleet.nodes("lab-b") == ["lab-b-l40s-0", "lab-b-system-0"]  # nothing deployed in either
    assert fleet.nodes("lab-a") == ["lab-a-l40s-0", "lab-a-system-0"]


def test_a_change_to_one_clusters_pools_previews_changes_in_its_stack_alone(fleet: Fleet) -> None:
    fleet.write_site(2)  # both: 4.97 kW of 5
    preview = fleet.aion("fleet", "preview")
    assert preview.returncode == 0, preview.stderr[-3000:]
    rows = {line.split()[0]: line for line in preview.stdout.splitlines()[1:]}
    assert "update" not in rows["lab-a"] and "create" not in rows["lab-a"]
    # lab-b: its nodes, and its tenant's quota and ClusterQueue, which follow the pool's GPUs.
    assert "3 update" in rows["lab-b"]
    changed = subprocess.run([AION, "fleet", "changed", str(fleet.site_file), "--project", str(fleet.root)], capture_output=True, text=True)
    assert changed.stdout.split() == ["lab-a", "lab-b"]  # no base: every cluster is new to CI


def test_destroy_leaves_nothing_in_either_control_plane_and_no_process(fleet: Fleet) -> None:
    destroy = fleet.aion("fleet", "destroy", "--parallel", "1")
    assert destroy.returncode == 0, destroy.stderr[-3000:]
    assert destroy.stderr.index("lab-b: started") < destroy.stderr.index("lab-a: started")  # the last created first
    for cluster, tenant in zip(CLUSTERS, ("ta", "tb"), strict=True):
        assert fleet.nodes(cluster) == []
        assert tenant not in {ns.metadata.name for ns in fleet.core(cluster).list_namespace().items if ns.status.phase == "Active"}
    left = subprocess.run(["pgrep", "-af", str(fleet.root)], capture_output=True, text=True).stdout
    assert left == "", left
