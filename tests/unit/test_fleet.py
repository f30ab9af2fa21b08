"""A site's fleet: which stack deploys which cluster, what a change touches, demand into clusters,
and the runner's bookkeeping (the real Automation API runs at rung 3)."""

import copy
import io
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from aion_factory import ConfigError, load_catalog, load_site, make_plan, spec_from_config
from aion_factory.fleet import runner
from aion_factory.fleet.baseline import documents_at, registration_changed
from aion_factory.fleet.changes import changed_clusters
from aion_factory.fleet.demand import cluster_entries, fill_nodes
from aion_factory.fleet.deployed import deployed_documents
from aion_factory.fleet.stacks import fleet_of, write_missing_stacks
from support import MINIMAL, ROOT, one_hall_two_stacks, stack

SITE_200MW = ROOT / "examples/aion-200mw/site.yaml"


def test_each_cluster_has_its_stack_and_a_stack_of_another_site_is_not_counted(tmp_path: Path):
    stacks = one_hall_two_stacks(tmp_path)
    stack(stacks, "inline", **MINIMAL)
    fleet = fleet_of(tmp_path / "sites/dc.yaml", stacks)
    assert {c: p.name for c, p in fleet.stacks.items()} == {"train-a": "Pulumi.train-a.yaml", "train-b": "Pulumi.train-b.yaml"}
    assert (fleet.missing, fleet.orphans) == ([], ())


def test_two_stacks_claiming_one_cluster_are_refused(tmp_path: Path):
    stacks = one_hall_two_stacks(tmp_path)
    stack(stacks, "train-a-copy", site_file="../sites/dc.yaml", cluster="train-a")
    with pytest.raises(ConfigError) as refused:
        fleet_of(tmp_path / "sites/dc.yaml", stacks)
    [problem] = refused.value.problems
    assert problem.path.endswith("Pulumi.train-a.yaml: aion:cluster")
    assert problem.message.endswith("Pulumi.train-a-copy.yaml already; a cluster has one stack")


def test_missing_stack_files_are_written_and_name_only_the_site_and_cluster(tmp_path: Path):
    stacks = one_hall_two_stacks(tmp_path)
    (stacks / "Pulumi.train-b.yaml").unlink()
    stack(stacks, "gone", site_file="../sites/dc.yaml", cluster="train-z")
    fleet = fleet_of(tmp_path / "sites/dc.yaml", stacks)
    assert (fleet.missing, [p.name for p in fleet.orphans]) == (["train-b"], ["Pulumi.gone.yaml"])
    [written] = write_missing_stacks(fleet, stacks)
    assert yaml.safe_load(written.read_text()) == {"config": {"aion:cluster": "train-b", "aion:site_file": "../sites/dc.yaml"}}
    assert fleet_of(tmp_path / "sites/dc.yaml", stacks).missing == []
    assert "yaml-language-server" not in written.read_text()  # its siblings name no schema


def test_a_written_stack_file_names_the_schema_its_siblings_name(tmp_path: Path):
    stacks = one_hall_two_stacks(tmp_path)
    line = "# yaml-language-server: $schema=../../stacks/aion.schema.json\n"
    kept = stacks / "Pulumi.train-a.yaml"
    kept.write_text(line + kept.read_text())
    (stacks / "Pulumi.train-b.yaml").unlink()
    [written] = write_missing_stacks(fleet_of(tmp_path / "sites/dc.yaml", stacks), stacks)
    assert written.read_text().startswith(line)


def test_a_stack_file_in_the_way_is_never_overwritten(tmp_path: Path):
    stacks = one_hall_two_stacks(tmp_path)
    (stacks / "Pulumi.train-b.yaml").write_text("config:\n  aion:site: {}\n")
    with pytest.raises(ConfigError, match="exists and deploys something else"):
        write_missing_stacks(fleet_of(tmp_path / "sites/dc.yaml", stacks), stacks)


def two_clusters() -> dict[str, Any]:
    config = copy.deepcopy(MINIMAL)
    config["site"]["halls"][0]["rows"].append({"name": "r2", "it_power_kw": 400})
    config["clusters"].append({**copy.deepcopy(config["clusters"][0]), "name": "d", "row": "r2", "subnet": "172.16.4.0/22"})
    config["tenants"].append({"name": "u", "power_kw": 10, "clusters": ["d"]})
    return config


def changed(change: Any) -> list[str]:
    before = two_clusters()
    after = copy.deepcopy(before)
    change(after)
    return changed_clusters(deployed_documents(spec_from_config(before)), deployed_documents(spec_from_config(after)))


def test_a_change_touches_the_clusters_whose_deployment_changes():
    assert changed(lambda c: None) == []
    assert changed(lambda c: c["clusters"][1]["pools"][0].update(size=5)) == ["d"]
    assert changed(lambda c: c["tenants"][1].update(power_kw=12)) == ["d"]  # its quotas, on its clusters
    assert changed(lambda c: c["tenants"][0].update(clusters=["c", "d"])) == ["c", "d"]
    assert changed(lambda c: c["site"]["halls"][0]["rows"][1].update(it_power_kw=450)) == []  # no figure it deploys moves
    assert changed(lambda c: c["clusters"].reverse()) == []  # its place in the list says nothing
    assert changed(lambda c: (c["clusters"].pop(), c["tenants"].pop())) == ["d"]  # dropped


def test_everything_is_new_without_a_base():
    assert changed_clusters(None, deployed_documents(load_site(SITE_200MW)))[:2] == ["h1-c01", "h1-c02"]


# What a stack deploys is rendered by the code of each revision: a temporary git repository holding
# the toolkit and a two-cluster site, changed and committed, then compared commit against commit.
def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    for folder in ("components", "templates", "policy"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "constraints.txt", "README.md", "Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, repo / name)
    one_hall_two_stacks(repo)  # sites/dc.yaml: clusters train-a and train-b
    site = repo / "sites/dc.yaml"
    document = yaml.safe_load(site.read_text())
    document["tenants"] = [{"name": "research", "power_kw": 200, "clusters": ["train-a", "train-b"]}]
    site.write_text(yaml.safe_dump(document))
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet", "-m", "base")
    return repo


def changed_by_commit(repo: Path, edit: Callable[[Path], None]) -> list[str]:
    edit(repo)
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet", "-am", "change")
    site = PurePosixPath("sites/dc.yaml")
    (before, why), (after, _) = documents_at(repo, "HEAD~1", site), documents_at(repo, "HEAD", site)
    assert before is not None and after is not None, why
    return changed_clusters(before, after, registration_changed(repo, "HEAD~1", "HEAD"))


def append(path: str, text: str) -> Callable[[Path], None]:
    return lambda repo: (repo / path).write_text((repo / path).read_text() + text)


# A tenant's Role granted one more rule: the builder's code changed, the site document did not.
WIDER_ROLE = """
_role_rules_before = role_rules


def role_rules() -> list[dict[str, Any]]:
    return [*_role_rules_before(), {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]
"""


def test_a_builder_change_that_alters_a_role_touches_every_cluster(repository: Path):
    assert changed_by_commit(repository, append("components/platform/tenancy.py", WIDER_ROLE)) == ["train-a", "train-b"]


def test_a_readme_edit_or_a_comment_in_a_builder_touches_no_cluster(repository: Path):
    assert changed_by_commit(repository, append("README.md", "\nA new paragraph.\n")) == []
    assert changed_by_commit(repository, append("components/platform/tenancy.py", "\n# Only a comment.\n")) == []


def test_a_change_to_the_registration_code_or_a_provider_pin_touches_the_clusters_it_serves(repository: Path):
    assert changed_by_commit(repository, append("components/scaleway/pools.py", "\n# Kapsule pools.\n")) == ["train-a", "train-b"]
    assert changed_by_commit(repository, append("components/local/cluster.py", "\n# local only\n")) == []  # both are Kapsule clusters
    assert changed_by_commit(repository, append("constraints.txt", "pulumi==3.272.0\n")) == ["train-a", "train-b"]


def test_a_site_change_touches_only_the_cluster_it_alters(repository: Path):
    def pin_train_b(repo: Path) -> None:  # an input of its Kapsule cluster only, no object
        site = repo / "sites/dc.yaml"
        document = yaml.safe_load(site.read_text())
        document["clusters"][1]["auto_upgrade"] = False
        site.write_text(yaml.safe_dump(document))

    assert changed_by_commit(repository, pin_train_b) == ["train-b"]


def test_aion_fleet_changed_shows_what_a_touched_cluster_deploys_against_the_base(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    from aion_factory import cli

    site = repository / "sites/dc.yaml"
    document = yaml.safe_load(site.read_text())
    document["clusters"][1]["auto_upgrade"] = False
    site.write_text(yaml.safe_dump(document))  # the working tree, against its last commit
    monkeypatch.chdir(repository)
    assert cli.main(["fleet", "changed", "sites/dc.yaml", "--base", "HEAD"]) == 0
    assert capsys.readouterr().out == "train-b\n"
    assert cli.main(["fleet", "changed", "sites/dc.yaml", "--base", "HEAD", "--diff"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[:2] == ["--- train-b at HEAD", "+++ train-b now"]
    changed_lines = [line for line in shown if line[:1] in "+-" and not line.startswith(("---", "+++"))]
    assert [(line[0], line[1:].strip()) for line in changed_lines] == [("-", '"auto_upgrade": true,'), ("+", '"auto_upgrade": false,')]


def test_a_revision_whose_code_cannot_render_the_site_says_why(repository: Path):
    (repository / "components/fleet/deployed.py").unlink()  # code from before the protocol
    git(repository, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet", "-am", "older")
    documents, why = documents_at(repository, "HEAD", PurePosixPath("sites/dc.yaml"))
    assert documents is None and "No module named aion_factory.fleet.deployed" in why
    assert documents_at(repository, "HEAD", PurePosixPath("sites/none.yaml")) == (None, "sites/none.yaml did not exist at HEAD")


def test_a_demand_becomes_clusters_under_the_control_plane_limit_with_system_nodes_counted():
    spec = load_site(SITE_200MW)
    entries = cluster_entries(spec, "hall-2", "H100-SXM-8-80G", 1200, prefix="h2x")
    assert [e["name"] for e in entries] == ["h2x-c01", "h2x-c02", "h2x-c03"]
    assert [e["pools"][0]["size"] + e["system_pool"]["size"] for e in entries] == [402, 402, 402]  # 3 x 500 planes
    assert {e["hall"] for e in entries} == {"hall-2"}
    subnets = [c.subnet for c in spec.clusters] + [e["subnet"] for e in entries]
    assert len(set(subnets)) == len(subnets) == 31


def test_fill_takes_the_halls_share_of_the_headroom(config: dict[str, Any]):
    config["site"]["halls"] = [{"name": f"h{i}", "it_power_kw": 3000} for i in (1, 2, 3)]
    config["site"].update(facility_power_mw=12)
    config["clusters"], config["tenants"] = [], []
    spec = spec_from_config(config)
    node_kw = load_catalog().node_max_power_w("B300-SXM-8-288G") / 1000
    assert fill_nodes(spec, "h1", "B300-SXM-8-288G") == int((3000 - 2 * 0.5) // node_kw)  # one cluster's system nodes
    buys = make_plan(spec).site.headroom_buys
    assert buys.clusters_by_hall == {"h1": 1, "h2": 1, "h3": 1}  # 206 nodes each: one cluster per hall, not 2 pooled


def test_unknown_hall_and_node_type_are_named():
    with pytest.raises(ConfigError) as refused:
        cluster_entries(load_site(SITE_200MW), "hall-9", "H200", 10)
    assert [p.path for p in refused.value.problems] == ["--hall", "--node-type"]


@pytest.fixture
def fake_operations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Automation API replaced: `fail-*` stacks raise as the CLI would, the others succeed."""
    seen: list[str] = []

    def operate(run: runner.FleetRun, stack: str, write: Any) -> str:
        seen.append(stack)
        write(f"{run.operation} of {stack}\n")
        if stack.startswith("fail"):
            raise RuntimeError("code: 255\n stdout: ...\n error: the plan violates the site's budgets or limits; nothing was deployed:")
        return "3 create"

    monkeypatch.setattr(runner, "_operate", operate)
    return seen


def test_every_stack_gets_a_result_and_a_log_and_a_failure_hides_nothing(fake_operations: list[str], tmp_path: Path):
    stacks = {name: Path(f"Pulumi.{name}.yaml") for name in ("a", "fail-b", "c")}
    out = io.StringIO()
    results = runner.run_fleet(runner.FleetRun("up", tmp_path, tmp_path / "logs", parallel=2), stacks, out)
    assert [(r.stack, r.ok) for r in results] == [("a", True), ("fail-b", False), ("c", True)]
    assert results[1].summary == "error: the plan violates the site's budgets or limits; nothing was deployed:"
    assert (tmp_path / "logs/c.up.log").read_text() == "up of c\n"
    lines = out.getvalue().splitlines()
    assert len(lines) == 6 and lines[-1].startswith("[up 3/3 done, 0 running, 1 failed]")
    table = runner.summary_table(results)
    assert "fail-b  FAILED" in table and table.count("  ok  ") == 2


def test_destroy_goes_the_last_created_first(fake_operations: list[str], tmp_path: Path):
    stacks = {name: Path(f"Pulumi.{name}.yaml") for name in ("a", "b", "c")}
    runner.run_fleet(runner.FleetRun("destroy", tmp_path, tmp_path, parallel=1), stacks, io.StringIO())
    assert fake_operations == ["c", "b", "a"]


def test_each_stack_is_told_the_folder_of_its_own_stack_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The program resolves `aion:site_file` against it, whatever the project's `main:` (AION_STACK_DIR)."""
    told: dict[str, str] = {}

    def operate(run: runner.FleetRun, stack: str, write: Any) -> str:
        told[stack] = (run.env or {})["AION_STACK_DIR"]
        return "nothing"

    monkeypatch.setattr(runner, "_operate", operate)
    stacks = {"a": tmp_path / "east/Pulumi.a.yaml", "b": tmp_path / "west/stacks/Pulumi.b.yaml"}
    run = runner.FleetRun("preview", tmp_path, tmp_path / "logs", parallel=2, env={"KEEP": "1"})
    runner.run_fleet(run, stacks, io.StringIO())
    assert told == {"a": str(tmp_path / "east"), "b": str(tmp_path / "west/stacks")}


def test_a_stacks_folder_is_found_from_the_folder_a_process_ran_in_checked_against_its_project_and_stack(tmp_path: Path):
    """The program's fallback when no runner names the folder: the nearest Pulumi.yaml above a start, accepted
    only where its project is this one and its stackConfigDir holds this stack's file."""
    from aion_factory.fleet.stacks import stack_dir_of

    (tmp_path / "Pulumi.yaml").write_text("name: aion-factory\nruntime: python\nstackConfigDir: stacks\n")  # the program's
    example = tmp_path / "examples/site"
    (example / "stacks").mkdir(parents=True)
    (example / "Pulumi.yaml").write_text("name: aion-factory\nmain: ../..\nruntime: python\nstackConfigDir: stacks\n")
    (example / "stacks/Pulumi.h1-c01.yaml").write_text("config: {}\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other/Pulumi.yaml").write_text("name: other\nruntime: python\n")
    (tmp_path / "other/Pulumi.h1-c01.yaml").write_text("config: {}\n")
    starts = [tmp_path, tmp_path / "other", example / "stacks"]  # the program's folder, another project, the CLI's
    assert stack_dir_of("aion-factory", "h1-c01", starts) == example / "stacks"
    assert stack_dir_of("aion-factory", "h9-c01", starts) is None


def test_in_a_programme_a_change_to_one_site_touches_the_other_sites_clusters_its_tenants_share(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    from aion_factory import cli

    other = {
        "site": {"name": "other", "facility_power_mw": 10, "pue": 1.2, "halls": [{"name": "h", "it_power_kw": 4000}]},
        "clusters": [
            {"name": "o1", "target": "scaleway", "hall": "h", "pools": [{"name": "b300", "node_type": "B300-SXM-8-288G", "size": 100}]}
        ],
    }
    (repository / "sites/other.yaml").write_text(yaml.safe_dump(other))
    programme = {"programme": "two", "sites": [{"file": "sites/dc.yaml"}, {"file": "sites/other.yaml"}]}
    programme["tenants"] = [{"name": "lab", "power_kw": 1000, "clusters": ["dc/train-a", "other/o1"]}]
    (repository / "programme.yaml").write_text(yaml.safe_dump(programme))
    git(repository, "add", "-A")
    git(repository, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet", "-m", "programme")
    # o1 grows: lab's share moves from train-a (2,900 of 4,350 kW of its GPUs) towards o1 (now 2,175 of 5,075).
    other["clusters"][0]["pools"][0]["size"] = 150
    (repository / "sites/other.yaml").write_text(yaml.safe_dump(other))
    monkeypatch.chdir(repository)
    assert cli.main(["fleet", "changed", "programme.yaml", "--base", "HEAD"]) == 0
    assert capsys.readouterr().out == "dc/train-a\nother/o1\n"
