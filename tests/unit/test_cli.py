"""`aion plan`: exit 0 when it fits, 1 on a violation naming the level, 2 on bad input.

In-process (`cli.main`), so coverage sees it; one test runs the installed command itself.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from aion_factory import load_stack_file
from support import MINIMAL, ROOT, view_of


def test_the_installed_command_runs_the_same_main():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    args = [sys.executable, "-m", "aion_factory.cli", "plan", str(ROOT / "stacks/Pulumi.local.yaml")]
    result = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0 and result.stdout.startswith("site lab:"), result.stderr


def stack_file(tmp_path, values) -> str:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump({"config": {f"aion:{k}": v for k, v in values.items()}}))
    return str(path)


def test_json_output_has_the_documented_keys(aion):
    result = aion("plan", str(ROOT / "stacks/Pulumi.dc5-train-1.yaml"), "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert {
        "facility_budget_kw",
        "it_budget_kw",
        "rated_it_kw",
        "rated_facility_kw",
        "headroom_kw",
        "gpus_by_model",
        "h100_equivalents",
        "headroom_buys",
    } <= set(plan["site"])
    assert plan["site"]["gpus_by_model"] == {"B300-SXM": 384, "H100-SXM": 704}
    # 1,555.31 kW of a 4,000 kW budget is 38.88%, whatever the x1.1 oversubscription lets it reach (4,400 kW).
    assert plan["levels"][1] == {
        "path": "dc5/hall-1", "kind": "hall", "budget_kw": 4000.0, "oversubscription": 1.1, "limit_kw": 4400.0,
        "rated_kw": 1555.31, "percent_of_budget": 38.88,
    }  # fmt: skip
    assert plan["clusters"][0] | {"gpus_by_flavor": None} == {
        "name": "train-1", "target": "scaleway", "control_plane": "kapsule", "node_limit": 150, "max_nodes": 139,
        "gpus": 1088, "gpus_by_flavor": None, "rated_kw": 1555.31,
    }  # fmt: skip
    assert [t["name"] for t in plan["tenants"]] == ["kyutai", "hf-research"]
    assert plan["violations"] == []


def test_json_output_follows_the_committed_schema_and_shows_each_tenants_gpu_ceiling(aion):
    result = aion("plan", str(ROOT / "stacks/Pulumi.local.yaml"), "--json")
    plan = json.loads(result.stdout)
    jsonschema.validate(plan, json.loads((ROOT / "docs/plan.schema.json").read_text()))
    view = view_of(load_stack_file(ROOT / "stacks/Pulumi.local.yaml"), "local")
    for tenant in view.tenants:
        [found] = [t["clusters"]["local"] for t in plan["tenants"] if t["name"] == tenant.name]
        # The namespace's ResourceQuota, and Kueue's figures per flavor, as the platform deploys them.
        assert found["gpu_ceiling"] == tenant.gpu_ceiling
        figures = {
            q.flavor: {"nominal": q.nominal, "borrowing": q.borrowing, "lending": q.lending, "ceiling": q.ceiling}
            for q in tenant.gpu_quotas
        }
        assert found["flavors"] == figures


def test_an_over_budget_plan_in_json_lists_its_violations_with_their_level(aion, tmp_path):
    values = json.loads(json.dumps(MINIMAL))
    values["clusters"][0]["pools"][0]["size"] = 60
    result = aion("plan", stack_file(tmp_path, values), "--json")
    assert result.returncode == 1
    [violation] = json.loads(result.stdout)["violations"]
    assert (violation["path"], violation["level"]) == ("s/h/r", "violation")


def test_over_budget_exits_1_and_names_the_level(aion, tmp_path):
    values = json.loads(json.dumps(MINIMAL))
    values["clusters"][0]["pools"][0]["size"] = 60
    result = aion("plan", stack_file(tmp_path, values))
    assert result.returncode == 1
    # Once, in the table's VIOLATIONS section; stderr repeats it only where no table is printed.
    assert result.stdout.count("row s/h/r draws 613.9 kW rated") == 1 and "VIOLATIONS:\n  s/h/r: row s/h/r" in result.stdout
    assert "draws" not in result.stderr
    as_json = aion("plan", stack_file(tmp_path, values), "--json")
    assert "violation: s/h/r: row s/h/r draws 613.9 kW rated" in as_json.stderr


def test_bad_input_exits_2_one_line_per_problem_no_traceback(aion, tmp_path):
    values = json.loads(json.dumps(MINIMAL))
    values["clusters"][0]["pools"][0]["node_type"] = "H200-SXM-8"
    values["site"]["pue"] = -1
    del values["tenants"][0]["clusters"]
    result = aion("plan", stack_file(tmp_path, values))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == [
        "error: aion:site.pue: -1 is not allowed: Input should be greater than or equal to 1; allowed: 1 to 3",
        "error: aion:tenants[0].clusters: required key is missing",
    ]  # the node type is checked once the shapes are right
    assert "Traceback" not in result.stderr


def test_missing_file_exits_2(aion, tmp_path):
    result = aion("plan", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "cannot read the stack file" in result.stderr and "Traceback" not in result.stderr


def test_report_writes_markdown_and_svg(aion, tmp_path):
    result = aion("plan", str(ROOT / "stacks/Pulumi.local.yaml"), "--report", str(tmp_path))
    assert result.returncode == 0
    assert (tmp_path / "report.md").read_text().startswith("# Power plan for site lab")
    assert (tmp_path / "power.svg").read_text().startswith("<svg")


# Every input ends in exit 0, 1 or 2 (issue 14); the hostile files: test_hostile_files.py, the fuzz rung: test_fuzz_config.py.


def test_an_infinite_budget_is_bad_input_and_json_never_prints_infinity(aion, tmp_path):
    values = json.loads(json.dumps(MINIMAL))
    values["site"]["halls"][0]["it_power_kw"] = float("inf")
    result = aion("plan", stack_file(tmp_path, values), "--json")
    assert result.returncode == 2 and "Infinity" not in result.stdout
    [problem] = json.loads(result.stdout)["problems"]
    assert problem["path"] == "aion:site.halls[0].it_power_kw" and problem["message"].startswith("inf is not allowed")
    assert result.stderr.startswith("error: aion:site.halls[0].it_power_kw: inf is not allowed: Input should be a finite number")


def test_a_report_folder_that_cannot_be_written_is_bad_input_before_anything_is_planned(aion, tmp_path):
    taken = tmp_path / "a-file"
    taken.write_text("mine")
    local = str(ROOT / "stacks/Pulumi.local.yaml")
    for target, why in [(taken, "File exists"), (taken / "sub", "Not a directory"), (Path("/proc"), "No such file or directory")]:
        result = aion("plan", local, "--report", str(target))
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.startswith(f"error: --report: cannot write the report into '{target}': {why}; allowed: a folder")
    assert taken.read_text() == "mine"


def test_tenants_whose_quotas_are_cut_to_fit_their_cluster_are_warned_by_key(aion, tmp_path):
    # dc5 with kyutai at 1,100 kW and hf-research at 600 kW, on a cluster whose GPU pools rate 1,555.2 kW.
    stack = tmp_path / "Pulumi.dc5-train-1.yaml"
    text = (ROOT / "stacks/Pulumi.dc5-train-1.yaml").read_text()
    text = text.replace("kyutai\n      power_kw: 1000", "kyutai\n      power_kw: 1100")
    stack.write_text(text.replace(" power_kw: 550", " power_kw: 600"))
    result = aion("plan", str(stack))
    assert result.returncode == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: aion:tenants")]
    assert [w.split(": ")[1] for w in warnings] == ["aion:tenants[0].power_kw", "aion:tenants[1].power_kw"]
    assert "1,100.0 kW buy more GPUs than its clusters' tenants can share (b300 in train-1: 419 asked for, 384 there; " in warnings[0]
    document = json.loads(aion("plan", str(stack), "--json").stdout)
    assert [(w["path"], w["level"]) for w in document["warnings"]] == [
        ("aion:tenants[0].power_kw", "warning"),
        ("aion:tenants[1].power_kw", "warning"),
    ]


SHIPPED = sorted(
    [*ROOT.glob("stacks/Pulumi.*.yaml"), *ROOT.glob("examples/*.yaml"), *ROOT.glob("examples/*/site.yaml")],
    key=lambda path: str(path),
)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_shipped_stack_and_site_plans_clean_without_a_warning(aion, path):
    # Examples are the first thing a user runs: they fit, and print nothing on stderr.
    result = aion("plan", str(path))
    assert (result.returncode, result.stderr) == (0, "")


def test_a_tenant_within_its_clusters_gpus_is_not_warned(aion, tmp_path):
    result = aion("plan", stack_file(tmp_path, MINIMAL))
    assert result.returncode == 0 and "warning" not in result.stderr


def test_fleet_base_is_a_revision_never_an_option_for_git(aion, tmp_path):
    # `git show --output=FILE` writes FILE: a revision starting with '-' would be read as that option.
    target = tmp_path / "out:."
    target.mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    site = shutil.copy(ROOT / "examples/aion-200mw/site.yaml", repo / "site.yaml")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for command in (["init", "-q"], ["add", "site.yaml"], ["commit", "-qm", "site"]):
        subprocess.run([*git, *command], cwd=repo, check=True)
    result = aion("fleet", "changed", str(site), f"--base=--output={tmp_path}/out")
    assert result.returncode == 2 and "--base: '--output=" in result.stderr
    assert not (target / "site.yaml").exists()


def test_what_kapsule_would_refuse_is_a_violation_in_plan_too(aion, tmp_path):
    values = json.loads(json.dumps(MINIMAL))
    values["clusters"][0]["auto_upgrade"] = False  # with "1.35": Kapsule wants x.y.z
    values["clusters"][0]["subnet"] = "172.16.0.0/31"
    result = aion("plan", stack_file(tmp_path, values), "--json")
    assert result.returncode == 1
    violations = {(v["path"], v["level"]) for v in json.loads(result.stdout)["violations"]}
    assert violations == {("aion:clusters[0].auto_upgrade", "violation"), ("aion:clusters[0].subnet", "violation")}


def test_plan_warns_where_tenants_share_a_cluster_whose_cni_enforces_no_network_policy(aion, tmp_path):
    values = json.loads(json.dumps(MINIMAL))
    values["clusters"][0]["cni"] = "none"
    result = aion("plan", stack_file(tmp_path, values))
    assert result.returncode == 0
    assert "warning: aion:clusters[0].cni: 'none' does not enforce NetworkPolicy, so tenants t are not fenced" in result.stderr
    values["clusters"][0]["cni"] = "calico"
    assert "warning" not in aion("plan", stack_file(tmp_path, values)).stderr


def test_plan_does_not_load_pulumi():
    code = "import sys; from aion_factory import cli; cli.main(['plan', sys.argv[1]]); print('pulumi' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code, str(ROOT / "stacks/Pulumi.dc5-train-1.yaml")], capture_output=True, text=True)
    assert result.stdout.splitlines()[-1] == "False"


def test_plan_warns_of_a_tenant_excepted_from_restricted_pod_security_with_its_reason(aion, tmp_path):
    values = json.loads(json.dumps(MINIMAL))
    values["tenants"][0].update(pod_security="privileged", pod_security_exception="the DCGM profiler needs host PID (ticket OPS-42)")
    result = aion("plan", stack_file(tmp_path, values))
    assert result.returncode == 0
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning: aion:tenants[0].pod_security")]
    assert warning.startswith("warning: aion:tenants[0].pod_security: tenant t runs privileged pods (host network, PID and paths")
    assert "nvidia-smi -pl, which lifts the GPU power caps" in warning
    assert warning.endswith("excepted because 'the DCGM profiler needs host PID (ticket OPS-42)'")
    document = json.loads(aion("plan", stack_file(tmp_path, values), "--json").stdout)
    assert [(w["path"], w["level"]) for w in document["warnings"]] == [("aion:tenants[0].pod_security", "warning")]
