"""`aion plan`: exit 0 when it fits, 1 on a violation naming the level, 2 on bad input."""

import json
import os
import subprocess
import sys

import yaml

from support import MINIMAL, ROOT


def aion(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    return subprocess.run([sys.executable, "-m", "aion_factory.cli", *args], capture_output=True, text=True, env=env, check=False)


def stack_file(tmp_path, values) -> str:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump({"config": {f"aion:{k}": v for k, v in values.items()}}))
    return str(path)


def test_json_output_has_the_documented_keys():
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
    assert plan["levels"][1] == {"path": "dc5/hall-1", "kind": "hall", "budget_kw": 4000.0, "oversubscription": 1.1, "rated_kw": 1555.31}
    assert plan["clusters"][0] | {"gpus_by_flavor": None} == {
        "name": "train-1", "target": "scaleway", "control_plane": "kapsule", "node_limit": 150, "max_nodes": 139,
        "gpus": 1088, "gpus_by_flavor": None, "rated_kw": 1555.31,
    }  # fmt: skip
    assert [t["name"] for t in plan["tenants"]] == ["kyutai", "hf-research"]
    assert plan["violations"] == []


def test_over_budget_exits_1_and_names_the_level(tmp_path):
    values = json.loads(json.dumps(MINIMAL))
    values["clusters"][0]["pools"][0]["size"] = 60
    result = aion("plan", stack_file(tmp_path, values))
    assert result.returncode == 1
    assert "violation: s/h/r: row s/h/r draws 613.9 kW rated" in result.stderr


def test_bad_input_exits_2_one_line_per_problem_no_traceback(tmp_path):
    values = json.loads(json.dumps(MINIMAL))
    values["clusters"][0]["pools"][0]["node_type"] = "H200-SXM-8"
    values["site"]["pue"] = -1
    del values["tenants"][0]["clusters"]
    result = aion("plan", stack_file(tmp_path, values))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == [
        "error: aion:site.pue: -1 is not allowed: Input should be greater than or equal to 1",
        "error: aion:tenants[0].clusters: required key is missing",
    ]  # the node type is checked once the shapes are right
    assert "Traceback" not in result.stderr


def test_missing_file_exits_2(tmp_path):
    result = aion("plan", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "cannot read the stack file" in result.stderr and "Traceback" not in result.stderr


def test_report_writes_markdown_and_svg(tmp_path):
    result = aion("plan", str(ROOT / "stacks/Pulumi.local.yaml"), "--report", str(tmp_path))
    assert result.returncode == 0
    assert (tmp_path / "report.md").read_text().startswith("# Power plan for site lab")
    assert (tmp_path / "power.svg").read_text().startswith("<svg")
