"""`aion plan` on a site, a stack of it or a folder of stacks; `aion site add-clusters`; `aion fleet stacks | changed | matrix`."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from aion_factory import load_site
from support import ROOT, one_hall_two_stacks, stack, write

EXAMPLE = ROOT / "examples/aion-200mw"


def test_the_200_mw_site_fits_hall_by_hall_and_each_cluster_has_its_stack(aion):
    result = aion("plan", str(EXAMPLE / "stacks"), "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert [level["path"] for level in plan["levels"]] == ["aion", "aion/hall-1", "aion/hall-2", "aion/hall-3", "aion/hall-4"]
    assert len(plan["clusters"]) == 28 and all(c["max_nodes"] <= c["node_limit"] == 500 for c in plan["clusters"])
    assert plan["stacks"] == {c["name"]: c["name"] for c in plan["clusters"]}
    assert plan["site"]["gpus_by_model"] == {"B300-SXM": 95_936}


def test_a_stack_file_gives_its_sites_verdict(aion):
    by_folder = aion("plan", str(EXAMPLE / "stacks"))
    by_stack = aion("plan", str(EXAMPLE / "stacks/Pulumi.h3-c02.yaml"))
    by_site = aion("plan", str(EXAMPLE / "site.yaml"))
    assert by_stack.stdout == by_folder.stdout  # the whole site, every stack shown
    assert by_site.stdout.splitlines()[:8] == by_stack.stdout.splitlines()[:8]
    assert "  stack" not in by_site.stdout  # a site document alone does not know its stacks


def test_two_stacks_in_one_hall_are_refused_naming_the_hall_and_both(aion, tmp_path: Path):
    stacks = one_hall_two_stacks(tmp_path)
    for path in (stacks, stacks / "Pulumi.train-a.yaml", stacks / "Pulumi.train-b.yaml"):
        result = aion("plan", str(path), "--json")
        assert result.returncode == 1
        assert "violation: dc/hall-1: hall dc/hall-1 draws 5,800.1 kW rated" in result.stderr
        assert result.stderr.rstrip().endswith("clusters drawing on it: train-a, train-b")


def test_a_stack_naming_an_unknown_cluster_is_bad_input(aion, tmp_path: Path):
    stacks = one_hall_two_stacks(tmp_path)
    stack(stacks, "ghost", site_file="../sites/dc.yaml", cluster="train-z")
    for path in (stacks, stacks / "Pulumi.ghost.yaml"):
        result = aion("plan", str(path))
        assert result.returncode == 2 and "aion:cluster: 'train-z' is not a cluster of" in result.stderr


def test_an_empty_folder_is_bad_input(aion, tmp_path: Path):
    result = aion("plan", str(tmp_path))
    assert (result.returncode, result.stderr) == (2, f"error: {tmp_path}: holds no stack files (Pulumi.*.yaml); "
                                                     "allowed: a folder of stack files, a stack file, a site document\n")  # fmt: skip


def test_add_clusters_prints_entries_that_plan_within_the_hall(aion, tmp_path: Path):
    site = yaml.safe_load((EXAMPLE / "site.yaml").read_text())
    site["site"]["halls"].append({"name": "hall-5", "it_power_kw": 5000})
    site["site"]["facility_power_mw"] = 210
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site))
    result = aion("site", "add-clusters", str(path), "--hall", "hall-5", "--node-type", "H100-SXM-8-80G", "--fill")
    assert result.returncode == 0, result.stderr
    entries = yaml.safe_load(result.stdout)
    assert result.stderr.startswith("# 490 x H100-SXM-8-80G in hall hall-5: 1 cluster;")
    site["clusters"] += entries
    path.write_text(yaml.safe_dump(site))
    assert aion("plan", str(path)).returncode == 0
    assert aion("site", "add-clusters", str(path), "--hall", "hall-9", "--node-type", "H100-SXM-8-80G", "--nodes", "4").returncode == 2
    bad = aion("site", "add-clusters", str(path), "--hall", "hall-5", "--node-type", "H200", "--fill")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --node-type: 'H200' is not a GPU node type; allowed: ")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The 200 MW example as a git repository: a project, its site and its stacks."""
    shutil.copytree(EXAMPLE, tmp_path / "site", dirs_exist_ok=True)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path / "site", check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path / "site", check=True)
    subprocess.run([*git, "commit", "-qm", "site"], cwd=tmp_path / "site", check=True)
    return tmp_path / "site"


def test_changed_and_matrix_name_the_clusters_a_change_touches(aion, project: Path):
    site = yaml.safe_load((project / "site.yaml").read_text())
    [kyutai] = [t for t in site["tenants"] if t["name"] == "kyutai"]
    kyutai["power_kw"] = 29_000  # its quotas, on each of its five clusters
    site["clusters"][6]["pools"][0]["size"] -= 1  # h1-c07's pool: no tenant runs there, so no quota moves
    (project / "site.yaml").write_text(yaml.safe_dump(site))
    changed = aion("fleet", "changed", str(project / "site.yaml"), "--project", str(project), "--base", "HEAD")
    assert changed.stdout.split() == ["h1-c01", "h1-c02", "h1-c03", "h1-c04", "h1-c05", "h1-c07"]
    matrix = json.loads(aion("fleet", "matrix", str(project / "site.yaml"), "--project", str(project), "--base", "HEAD").stdout)
    assert matrix["include"][-1] == {"cluster": "h1-c07", "stack": "h1-c07"} and len(matrix["include"]) == 6
    everything = aion("fleet", "changed", str(project / "site.yaml"), "--project", str(project))
    assert len(everything.stdout.split()) == len(load_site(project / "site.yaml").clusters) == 28


def test_stacks_writes_what_is_missing_and_names_stacks_no_cluster_owns(aion, project: Path):
    (project / "stacks/Pulumi.h1-c01.yaml").unlink()
    stack(project / "stacks", "old", site_file="../site.yaml", cluster="h9-c01")
    result = aion("fleet", "stacks", str(project / "site.yaml"), "--project", str(project))
    assert result.returncode == 2  # an orphan is for a person to look at
    assert result.stdout == f"wrote {project / 'stacks/Pulumi.h1-c01.yaml'}\n"
    assert "Pulumi.old.yaml names a cluster that" in result.stderr


def test_a_fleet_with_a_violation_runs_no_stack(aion, tmp_path: Path):
    stacks = one_hall_two_stacks(tmp_path)
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: stacks\n")
    result = aion("fleet", "up", str(tmp_path / "sites/dc.yaml"), "--project", str(tmp_path))
    assert result.returncode == 1 and "no stack of it deploys" in result.stderr
    assert not (tmp_path / ".state").exists() and stacks.exists()
    missing = aion("fleet", "preview", str(tmp_path / "sites/dc.yaml"), "--project", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "error: --project:" in missing.stderr


def test_add_clusters_refuses_more_clusters_than_free_subnets(aion):
    # A demand of 10^21 nodes built one entry per cluster (and ran out of subnets with a traceback).
    result = aion(
        "site", "add-clusters", str(EXAMPLE / "site.yaml"), "--hall", "hall-1", "--node-type", "B300-SXM-8-288G", "--nodes", "10" * 11
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: --nodes: 1,010,101,010,101,010,101,010 nodes need ")
    assert result.stderr.rstrip().endswith("allowed: at most 496,008 nodes")


def test_add_clusters_refuses_a_prefix_that_makes_no_cluster_name(aion):
    result = aion(
        "site",
        "add-clusters",
        str(EXAMPLE / "site.yaml"),
        "--hall",
        "hall-1",
        "--node-type",
        "B300-SXM-8-288G",
        "--nodes",
        "9",
        "--prefix",
        "Hall_1",
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("error: --prefix: 'Hall_1' would not make cluster names; allowed: lowercase letters")


def test_fleet_folders_and_project_files_that_cannot_be_used_are_bad_input(aion, project: Path):
    site = str(project / "site.yaml")
    logs = aion("fleet", "status", site, "--project", str(project), "--logs", "/proc/aion-logs")
    assert logs.returncode == 2 and logs.stderr.startswith("error: --logs: cannot hold the stacks' logs in '/proc/aion-logs'")
    (project / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: /proc/aion-stacks\n")
    unwritable = aion("fleet", "stacks", site, "--project", str(project))
    assert unwritable.returncode == 2 and unwritable.stderr.startswith(
        "error: --project: cannot write stack files into '/proc/aion-stacks'"
    )
    (project / "Pulumi.yaml").write_bytes(b"name: \xff\xfe\n")
    binary = aion("fleet", "stacks", site, "--project", str(project))
    assert binary.returncode == 2 and "Pulumi.yaml: the Pulumi project file is not UTF-8 text" in binary.stderr
    assert all("Traceback" not in r.stderr for r in (logs, unwritable, binary))


def test_a_fleet_that_kapsule_would_refuse_runs_no_stack(aion, tmp_path: Path):
    one_hall_two_stacks(tmp_path)
    site = yaml.safe_load((tmp_path / "sites/dc.yaml").read_text())
    for cluster in site["clusters"]:
        cluster["pools"][0]["size"] = 100  # within the hall's budget now
    site["clusters"][1]["subnet"] = "172.16.4.0/29"  # but no room for its nodes
    write(tmp_path / "sites/dc.yaml", site)
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: stacks\n")
    result = aion("fleet", "preview", str(tmp_path / "sites/dc.yaml"), "--project", str(tmp_path))
    assert result.returncode == 1 and "no stack of it deploys" in result.stderr
    assert "aion:clusters[1].subnet: 172.16.4.0/29 is a /29" in result.stderr
    assert not (tmp_path / ".state").exists()


def test_add_clusters_to_a_phased_site_fills_the_phase_they_come_in(aion, tmp_path):
    """Hall h: 100 kW in p1, 1,000 kW from p2. --fill --phase p2: floor((1,000 kW - 36.8 W) / 10.2 kW) = 98 nodes, from p2."""
    site = {
        "site": {"name": "s", "facility_power_mw": 1, "pue": 1.0, "halls": [{"name": "h", "it_power_kw": 100, "by_phase": {"p2": 1000}}]},
        "phases": [{"name": "p1", "date": "2027-06"}, {"name": "p2", "date": "2028-06"}],
    }
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site))
    result = aion("site", "add-clusters", str(path), "--hall", "h", "--node-type", "H100-SXM-8-80G", "--fill", "--phase", "p2")
    [entry] = yaml.safe_load(result.stdout)
    assert result.returncode == 0 and entry["pools"][0]["size"] == 98 and entry["from_phase"] == "p2"
    p1 = aion("site", "add-clusters", str(path), "--hall", "h", "--node-type", "H100-SXM-8-80G", "--fill", "--phase", "p1")
    assert yaml.safe_load(p1.stdout)[0]["pools"][0]["size"] == 9  # floor((100 kW - 36.8 W) / 10.2 kW)
    bad = aion("site", "add-clusters", str(path), "--hall", "h", "--node-type", "H100-SXM-8-80G", "--nodes", "3", "--phase", "p9")
    assert bad.returncode == 2 and "--phase: 'p9' is not a phase of the site; allowed: p1, p2" in bad.stderr
