"""The cluster stacks of a programme: each names its site document and the programme, deploys its
site's shares of the tenants across sites in the current phase, refuses while any site is over a
budget in any phase, and the fleet's matrix holds the stacks of the current phase only.

Figures by hand from the catalog: H100-SXM-8-80G 10.2 kW and 8 GPUs a node, POP2-4C-16G 18.4 W."""

import datetime
import json
import subprocess

import pytest
import yaml

from aion_factory.errors import ConfigError, NotDeployable
from aion_factory.programme_stack import deployed_phase
from aion_factory.site import load_stack

PHASES = [{"name": "p1", "date": "2027-06"}, {"name": "p2", "date": "2028-06"}]
TODAY = datetime.date(2027, 7, 1)  # in p1


def cluster(name, nodes, **more):
    return {"name": name, "target": "scaleway", "hall": "h", "pools": [{"name": "g", "node_type": "H100-SXM-8-80G", "size": nodes}], **more}


def site(name, hall_kw, clusters, **hall):
    return {
        "site": {"name": name, "facility_power_mw": 1, "pue": 1.0, "halls": [{"name": "h", "it_power_kw": hall_kw, **hall}]},
        "phases": PHASES,
        "clusters": clusters,
        "tenants": [],
    }


def layout(tmp_path, a=None, b=None):
    """Site a (cluster a1: 10 nodes, 102 kW of GPUs) and site b (b1: 30 nodes, 306 kW; b2 from p2),
    a tenant `lab` of 204 kW on a1 and b1, and a project folder whose stacks are in stacks/."""
    (tmp_path / "sites").mkdir()
    a = a or site("a", 500, [cluster("a1", 10)])
    b = b or site("b", 1000, [cluster("b1", 30), cluster("b2", 5, from_phase="p2")])
    (tmp_path / "sites/a.yaml").write_text(yaml.safe_dump(a))
    (tmp_path / "sites/b.yaml").write_text(yaml.safe_dump(b))
    programme = {
        "programme": "two",
        "sites": [{"file": "sites/a.yaml"}, {"file": "sites/b.yaml"}],
        "tenants": [{"name": "lab", "power_kw": 204, "clusters": ["a/a1", "b/b1"]}],
    }
    (tmp_path / "programme.yaml").write_text(yaml.safe_dump(programme))
    (tmp_path / "Pulumi.yaml").write_text("name: aion-factory\nruntime: python\nstackConfigDir: stacks\n")
    return tmp_path / "programme.yaml"


def test_fleet_stacks_writes_a_stack_per_cluster_of_every_site_naming_the_programme(aion, tmp_path):
    programme = layout(tmp_path)
    result = aion("fleet", "stacks", str(programme), "--project", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "stacks").iterdir()) == ["Pulumi.a1.yaml", "Pulumi.b1.yaml", "Pulumi.b2.yaml"]
    config = yaml.safe_load((tmp_path / "stacks/Pulumi.b1.yaml").read_text())["config"]
    assert config == {"aion:cluster": "b1", "aion:site_file": "../sites/b.yaml", "aion:programme": "../programme.yaml"}


def test_a_stack_of_a_programme_deploys_its_sites_share_of_the_tenants_across_sites(aion, tmp_path):
    programme = layout(tmp_path)
    aion("fleet", "stacks", str(programme), "--project", str(tmp_path))
    deployed = deployed_phase(load_stack(tmp_path / "stacks/Pulumi.a1.yaml"), TODAY)
    # 204 kW over 102 + 306 kW of GPUs in p1: 51 kW at a, half of a1's 80 GPUs.
    assert deployed.phase.name == "p1"
    assert deployed.plan.tenant("lab").quotas_by_cluster == {"a1": {"h100-sxm": 40}}
    assert [t.name for t in deployed.view.spec.tenants] == ["lab"]
    # The same site without the programme has no such tenant: the stack file decides.
    alone = yaml.safe_load((tmp_path / "stacks/Pulumi.a1.yaml").read_text())
    del alone["config"]["aion:programme"]
    (tmp_path / "stacks/Pulumi.a1.yaml").write_text(yaml.safe_dump(alone))
    assert deployed_phase(load_stack(tmp_path / "stacks/Pulumi.a1.yaml"), TODAY).view.spec.tenants == ()


def test_a_stack_refuses_while_another_site_of_its_programme_is_over_budget_in_phase_1(aion, tmp_path):
    # b's hall: 300 kW in p1 against b1's 30 x 10.2 kW + 36.8 W = 306.0368 kW; 1,000 kW from p2.
    over = site("b", 300, [cluster("b1", 30)], by_phase={"p2": 1000})
    programme = layout(tmp_path, b=over)
    aion("fleet", "stacks", str(programme), "--project", str(tmp_path))
    with pytest.raises(NotDeployable) as refused:
        deployed_phase(load_stack(tmp_path / "stacks/Pulumi.a1.yaml"), datetime.date(2030, 1, 1))
    assert str(refused.value).startswith("the plan violates the programme's budgets or limits")
    [violation] = refused.value.problems
    assert violation.path == "b/h" and violation.message.startswith("in phase p1 (2027-06): hall b/h draws 306.0 kW rated")
    preview = aion("fleet", "preview", str(programme), "--project", str(tmp_path))
    assert preview.returncode == 1 and "the programme's plan is violated; no stack of it deploys" in preview.stderr
    assert "in phase p1 (2027-06): hall b/h" in preview.stderr


def test_the_matrix_of_a_programme_holds_the_stacks_of_the_current_phase(aion, tmp_path):
    a = {**site("a", 500, [cluster("a1", 10)]), "current_phase": "p1"}
    b = {**site("b", 1000, [cluster("b1", 30), cluster("b2", 5, from_phase="p2")]), "current_phase": "p1"}
    programme = layout(tmp_path, a, b)
    aion("fleet", "stacks", str(programme), "--project", str(tmp_path))
    result = aion("fleet", "matrix", str(programme), "--project", str(tmp_path))
    assert result.returncode == 0, result.stderr
    # b2 exists from p2: no entry while p1 is deployed.
    assert json.loads(result.stdout)["include"] == [{"cluster": "a/a1", "stack": "a1"}, {"cluster": "b/b1", "stack": "b1"}]
    split = json.loads(aion("fleet", "matrix", str(programme), "--project", str(tmp_path), "--max-jobs", "1").stdout)["matrices"]
    assert [[e["stack"] for e in m["include"]] for m in split] == [["a1"], ["b1"]]


def test_a_stack_of_a_programmes_site_that_does_not_name_the_programme_is_refused(aion, tmp_path):
    programme = layout(tmp_path)
    aion("fleet", "stacks", str(programme), "--project", str(tmp_path))
    stack = tmp_path / "stacks/Pulumi.b1.yaml"
    stack.write_text("config:\n  aion:site_file: ../sites/b.yaml\n  aion:cluster: b1\n")
    result = aion("fleet", "matrix", str(programme), "--project", str(tmp_path))
    assert result.returncode == 2 and result.stdout == ""
    assert f"{stack}: aion:programme: missing: the stack deploys site b of the programme" in result.stderr
    assert "allowed: ../programme.yaml" in result.stderr


def test_a_stack_naming_a_programme_without_its_site_is_refused_at_aion_programme(tmp_path):
    layout(tmp_path)
    (tmp_path / "other.yaml").write_text(yaml.safe_dump({"programme": "other", "sites": [{"file": "sites/a.yaml"}]}))
    (tmp_path / "stacks").mkdir()
    stack = tmp_path / "stacks/Pulumi.b1.yaml"
    stack.write_text("config:\n  aion:site_file: ../sites/b.yaml\n  aion:cluster: b1\n  aion:programme: ../other.yaml\n")
    with pytest.raises(ConfigError) as refused:
        deployed_phase(load_stack(stack), TODAY)
    [problem] = refused.value.problems
    assert problem.path == "aion:programme" and "does not name the stack's site document" in problem.message
    assert str(tmp_path / "sites/a.yaml") in problem.message


def test_two_sites_clusters_of_one_name_get_no_stack_file_each_other_overwrites(aion, tmp_path):
    programme = layout(tmp_path, b=site("b", 1000, [cluster("b1", 30), cluster("a1", 5)]))
    result = aion("fleet", "stacks", str(programme), "--project", str(tmp_path))
    assert result.returncode == 2
    assert (
        f"{tmp_path / 'stacks/Pulumi.a1.yaml'}: exists and deploys something else, or two sites' clusters share the name" in result.stderr
    )
    assert list((tmp_path / "stacks").iterdir()) == []


def test_aion_plan_of_a_folder_of_programme_stacks_plans_the_programme(aion, tmp_path):
    programme = layout(tmp_path, b=site("b", 300, [cluster("b1", 30)], by_phase={"p2": 1000}))
    aion("fleet", "stacks", str(programme), "--project", str(tmp_path))
    for target in (tmp_path / "stacks", tmp_path / "stacks/Pulumi.a1.yaml"):
        result = aion("plan", str(target))
        assert result.returncode == 1, result.stderr
        assert result.stdout.startswith("programme two: 2 sites; phases p1 (2027-06), p2 (2028-06)")
        assert "b/h: in phase p1 (2027-06): hall b/h draws 306.0 kW rated" in result.stdout


@pytest.mark.parametrize(
    ("named", "says"),
    [
        ("../sites/b.yaml", "sites/b.yaml: is not a programme document; it needs `programme:` at its top level (and `sites:`)"),
        ("../nothere.yaml", "nothere.yaml: cannot read the programme document: No such file or directory"),
    ],
)
def test_a_wrong_aion_programme_is_one_problem_under_the_stacks_key(aion, tmp_path, named, says):
    layout(tmp_path)
    (tmp_path / "stacks").mkdir()
    stack = tmp_path / "stacks/Pulumi.b1.yaml"
    stack.write_text(f"config:\n  aion:site_file: ../sites/b.yaml\n  aion:cluster: b1\n  aion:programme: {named}\n")
    result = aion("plan", str(stack))
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()  # a site document's every key is not a problem of its own
    assert line.startswith(f"error: {stack}: aion:programme: ") and line.endswith(says), line
    with pytest.raises(ConfigError) as refused:
        deployed_phase(load_stack(stack), TODAY)
    assert [p.path for p in refused.value.problems] == ["aion:programme"]


def test_fleet_runs_only_the_stacks_of_the_phase_deployed_today_and_says_how_a_programme_names_a_cluster(aion, tmp_path):
    a = {**site("a", 500, [cluster("a1", 10)]), "current_phase": "p1"}
    b = {**site("b", 1000, [cluster("b1", 30), cluster("b2", 5, from_phase="p2")]), "current_phase": "p1"}
    programme = layout(tmp_path, a, b)
    aion("fleet", "stacks", str(programme), "--project", str(tmp_path))
    later = aion("fleet", "preview", str(programme), "--project", str(tmp_path), "--cluster", "b/b2")
    assert later.returncode == 2
    assert "--cluster: 'b/b2' does not exist in the phase deployed today; allowed: a/a1, b/b1" in later.stderr
    bare = aion("fleet", "up", str(programme), "--project", str(tmp_path), "--cluster", "a1")
    assert bare.returncode == 2 and "'a1' has no stack file; in a programme a cluster is SITE/CLUSTER: a/a1" in bare.stderr


def test_aion_plan_refuses_a_stack_whose_programme_does_not_hold_its_site_as_the_stack_does(aion, tmp_path):
    layout(tmp_path)
    (tmp_path / "other.yaml").write_text(yaml.safe_dump({"programme": "other", "sites": [{"file": "sites/a.yaml"}]}))
    (tmp_path / "stacks").mkdir()
    stack = tmp_path / "stacks/Pulumi.b1.yaml"
    stack.write_text("config:\n  aion:site_file: ../sites/b.yaml\n  aion:cluster: b1\n  aion:programme: ../other.yaml\n")
    result = aion("plan", str(stack))
    assert result.returncode == 2
    assert f"{stack}: aion:programme: " in result.stderr and "other.yaml' does not name the stack's site document" in result.stderr


def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo, check=True, capture_output=True)


def test_what_a_change_does_to_a_folder_of_programme_stacks_and_which_stacks_it_touches(aion, tmp_path, monkeypatch):
    a = {**site("a", 500, [cluster("a1", 10)]), "current_phase": "p1"}
    b = {**site("b", 1000, [cluster("b1", 30)]), "current_phase": "p1"}
    programme = layout(tmp_path, a, b)
    aion("fleet", "stacks", str(programme), "--project", str(tmp_path))
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "--quiet", "-m", "base")
    b["clusters"][0]["pools"][0]["size"] = 40  # b1: 30 -> 40 nodes, 306 -> 408 kW of GPUs
    (tmp_path / "sites/b.yaml").write_text(yaml.safe_dump(b))
    monkeypatch.chdir(tmp_path)
    diff = aion("plan", "stacks", "--diff", "HEAD")
    assert diff.returncode == 0, diff.stderr
    # Site b's plan is compared with the base's: b1's pool grows by 10 nodes, 102.0 kW.
    assert "b1/g" in diff.stdout and "30 -> 40" in diff.stdout
    # lab's 204 kW moves with the GPUs' kW: a1 and b1 both change; a stack file edited is touched too.
    assert aion("fleet", "changed", "programme.yaml", "--base", "HEAD").stdout == "a/a1\nb/b1\n"
    git(tmp_path, "commit", "--quiet", "-am", "b grows")
    stack = tmp_path / "stacks/Pulumi.a1.yaml"
    stack.write_text(stack.read_text() + "# a comment that changes no value, still a changed stack file\n")
    matrix = json.loads(aion("fleet", "matrix", "programme.yaml", "--project", ".", "--base", "HEAD").stdout)
    assert [e["cluster"] for e in matrix["include"]] == ["a/a1"]


def test_a_tenant_across_sites_on_a_cluster_without_network_policy_is_warned_of_by_aion_plan(aion, tmp_path):
    programme = layout(tmp_path, a=site("a", 500, [cluster("a1", 10, cni="none")]))
    result = aion("plan", str(programme))
    assert result.returncode == 0, result.stderr
    # The warning the deploy gives, said by the plan too: lab runs on a1 only through the programme.
    assert "'none' does not enforce NetworkPolicy, so tenants lab are not fenced" in result.stderr
