"""Power events: the document beside a site, validated like any input, and `aion site derate`, which writes it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_derate import ONE_CLUSTER

from aion_factory import ConfigError, spec_from_config
from aion_factory.planner import LevelDerate
from aion_factory.power_event import events_path, in_force, load_events

SPEC = spec_from_config(ONE_CLUSTER)
ROW = "dr/hall-a/row-1"
NOON = datetime(2026, 12, 7, 12, tzinfo=UTC)


def write_site(folder: Path) -> Path:
    site = folder / "site.yaml"
    site.write_text(yaml.safe_dump(ONE_CLUSTER))
    return site


def events_file(folder: Path, derates: Any) -> Path:
    path = folder / "power-events.site.yaml"
    path.write_text(yaml.safe_dump({"derates": derates}))
    return path


def test_the_document_sits_beside_the_site_under_a_name_no_tool_takes_for_a_stack():
    assert events_path(Path("sites/aion.yaml")) == Path("sites/power-events.aion.yaml")
    assert events_path(Path("stacks/Pulumi.local.yaml")) == Path("stacks/power-events.Pulumi.local.yaml")
    assert not events_path(Path("stacks/Pulumi.local.yaml")).match("Pulumi.*.yaml")


def test_a_derate_is_in_force_from_its_start_until_its_end(tmp_path: Path):
    path = events_file(tmp_path, [{"level": ROW, "it_power_kw": 30, "from": "2026-12-07T10:00:00Z", "until": "2026-12-07T18:00:00+00:00"}])
    events = load_events(path, SPEC)
    assert in_force(events, datetime(2026, 12, 7, 9, 59, tzinfo=UTC)) == ()
    assert in_force(events, NOON) == (LevelDerate(ROW, 30.0),)
    assert in_force(events, datetime(2026, 12, 7, 18, tzinfo=UTC)) == ()  # ended: the next deploy restores the plan
    assert load_events(tmp_path / "none.yaml", SPEC).derates == ()


@pytest.mark.parametrize(
    ("derate", "path", "says"),
    [
        (
            {"level": "dr/hall-b", "it_power_kw": 30, "from": "2026-12-07T10:00:00Z"},
            "derates[0].level",
            "is not a level of site dr; allowed: dr, dr/hall-a, dr/hall-a/row-1",
        ),
        (
            {"level": ROW, "it_power_kw": 61, "from": "2026-12-07T10:00:00Z"},
            "derates[0].it_power_kw",
            "over the level's budget of 60.0 kW; allowed: 0 to 60.0",
        ),
        ({"level": ROW, "it_power_kw": -1, "from": "2026-12-07T10:00:00Z"}, "derates[0].it_power_kw", "-1 is not allowed"),
        ({"level": ROW, "it_power_kw": True, "from": "2026-12-07T10:00:00Z"}, "derates[0].it_power_kw", "a boolean is not a number"),
        ({"level": ROW, "it_power_kw": 30, "from": "2026-12-07T10:00:00"}, "derates[0].from", "timezone"),
        (
            {"level": ROW, "it_power_kw": 30, "from": "2026-12-07T10:00:00Z", "until": "2026-12-07T09:00:00Z"},
            "derates[0].until",
            "is not after `from`",
        ),
        (
            {"level": ROW, "it_power_kw": 30, "from": "2026-12-07T10:00:00Z", "until": "2028-12-07T09:00:00Z"},
            "derates[0].until",
            "by at most 366 days",
        ),
        (
            {"level": ROW, "it_power_kw": 30, "from": "2026-12-07T10:00:00Z", "budget": 3},
            "derates[0].budget",
            "unknown key; allowed: level, it_power_kw, from, until, reason",
        ),
        ({"level": ROW, "from": "2026-12-07T10:00:00Z"}, "derates[0].it_power_kw", "required key is missing"),
    ],
)
def test_a_bad_derate_names_its_key_path_and_what_is_allowed(tmp_path: Path, derate: dict[str, Any], path: str, says: str):
    file = events_file(tmp_path, [derate])
    with pytest.raises(ConfigError) as error:
        load_events(file, SPEC)
    [problem] = error.value.problems
    assert problem.path == f"{file}: {path}"
    assert says in problem.message


def test_a_level_derated_twice_and_too_many_derates_are_refused(tmp_path: Path):
    once = {"level": ROW, "it_power_kw": 30, "from": "2026-12-07T10:00:00Z"}
    with pytest.raises(ConfigError, match=r"derates\[1\].level: 'dr/hall-a/row-1' is derated twice"):
        load_events(events_file(tmp_path, [once, once]), SPEC)
    with pytest.raises(ConfigError, match=r"derates: .* at most 64"):
        load_events(events_file(tmp_path, [once] * 65), SPEC)


def test_the_document_is_read_with_the_bounded_reader(tmp_path: Path):
    path = tmp_path / "power-events.site.yaml"
    path.write_text("derates:\n  - level: a\n    level: b\n")
    with pytest.raises(ConfigError, match="is set twice"):
        load_events(path, SPEC)


def test_aion_site_derate_writes_the_event_and_prints_the_steps_in_kw(aion, tmp_path: Path):
    site = write_site(tmp_path)
    result = aion("site", "derate", str(site), "hall-a/row-1", "--to", "25%", "--until", "2099-01-01T00:00:00Z")
    # until 2099 is more than 366 days after now: refused, nothing written
    assert result.returncode == 2 and "--until" in result.stderr and not (tmp_path / "power-events.site.yaml").exists()

    result = aion("site", "derate", str(site), "hall-a/row-1", "--to", "25%")  # 15 kW of 60
    assert result.returncode == 0, result.stderr
    written = yaml.safe_load((tmp_path / "power-events.site.yaml").read_text())
    [derate] = written["derates"]
    assert (derate["level"], derate["it_power_kw"]) == (ROW, 15.0) and "until" not in derate
    lines = result.stdout.splitlines()
    assert "row dr/hall-a/row-1 derated to 15.0 kW (budget 60.0 kW)" in lines[1]
    assert "its work may draw 40.8 kW (0.0 kW of it CPU system pools, which nothing sheds): 25.8 kW over" in lines[2]
    assert lines[3].strip() == "1. cap pool c/h100 (H100-SXM, serves inference): 700 W -> 200 W per GPU, -16.0 kW"
    assert lines[4].strip() == "2. lower the quota of crunch (batch) on c, h100-sxm: 16 -> 3 GPUs, -10.1 kW"
    assert (
        lines[5]
        .strip()
        .startswith("3. stop crunch (batch) on c: its ClusterQueue held and drained, its admitted work there (at most 16 GPUs)")
    )
    assert lines[5].endswith("-12.4 kW")

    # `aion plan` of the site prints the same steps under its table.
    plan = aion("plan", str(site))
    assert plan.returncode == 0 and "\n".join(lines[1:]) in plan.stdout

    # A derate nothing can meet: exit 1, the level named.
    result = aion("site", "derate", str(site), "dr/hall-a/row-1", "--to", "0.01")
    assert result.returncode == 1 and f"violation: {ROW}: a derate of row {ROW} to 0.0 kW cannot be met" in result.stderr


@pytest.mark.parametrize(
    ("args", "flag", "says"),
    [
        (["hall-b", "--to", "10"], "LEVEL", "is not a level of site dr"),
        (["hall-a", "--to", "ten"], "--to", "is not a power"),
        (["hall-a", "--to", "120%"], "--to", "over the level's budget"),
        (["hall-a", "--to", "10", "--from", "noon"], "--from", "is not allowed"),
    ],
)
def test_aion_site_derate_refuses_bad_arguments_naming_the_flag(aion, tmp_path: Path, args: list[str], flag: str, says: str):
    result = aion("site", "derate", str(write_site(tmp_path)), *args)
    assert result.returncode == 2
    assert f"{flag}: " in result.stderr and says in result.stderr, result.stderr
    assert not (tmp_path / "power-events.site.yaml").exists()


def test_ending_a_derate_removes_it_and_aion_plan_at_a_time_plans_a_scheduled_one(aion, tmp_path: Path):
    site = write_site(tmp_path)
    assert aion("site", "derate", str(site), "dr/hall-a/row-1", "--end").returncode == 2  # nothing to end
    started = aion("site", "derate", str(site), "hall-a/row-1", "--to", "30", "--from", "2099-01-01T00:00:00Z")
    assert started.returncode == 0 and "not in force now" in started.stdout
    assert "cap pool" not in aion("plan", str(site)).stdout
    scheduled = aion("plan", str(site), "--at", "2099-01-01T01:00:00Z")
    assert "1. cap pool c/h100 (H100-SXM, serves inference): 700 W -> 361 W per GPU, -10.8 kW" in scheduled.stdout
    assert aion("plan", str(site), "--at", "tomorrow").returncode == 2
    ended = aion("site", "derate", str(site), "hall-a/row-1", "--end")
    assert ended.returncode == 0 and yaml.safe_load((tmp_path / "power-events.site.yaml").read_text()) == {"derates": []}


def test_a_derate_committed_beside_the_site_changes_the_clusters_it_caps(aion, tmp_path: Path):
    # The 200 MW example in git; hall-4 at 80 percent caps four of its seven clusters (README), and
    # ending it changes them back: `aion fleet changed` sends exactly those to CI's matrix.
    import shutil
    import subprocess

    from support import ROOT

    project = tmp_path / "site"
    shutil.copytree(ROOT / "examples/aion-200mw", project)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "site"], cwd=project, check=True)
    site = str(project / "site.yaml")
    assert aion("site", "derate", site, "hall-4", "--to", "80%").returncode == 0
    changed = aion("fleet", "changed", site, "--project", str(project), "--base", "HEAD")
    assert changed.returncode == 0 and changed.stdout.split() == ["h4-c01", "h4-c02", "h4-c03", "h4-c04"]
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "derate"], cwd=project, check=True)
    assert aion("site", "derate", site, "hall-4", "--end").returncode == 0
    ended = aion("fleet", "changed", site, "--project", str(project), "--base", "HEAD")
    assert ended.stdout.split() == ["h4-c01", "h4-c02", "h4-c03", "h4-c04"]
