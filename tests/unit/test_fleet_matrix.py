"""The CI matrix of a fleet: one entry per cluster stack, split where GitHub's 256 jobs per matrix would be passed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from aion_factory.fleet.matrix import split_matrix
from support import ROOT

EXAMPLE = ROOT / "examples/aion-200mw"


def entries(n: int) -> list[dict[str, Any]]:
    return [{"cluster": f"c{i:03d}", "stack": f"c{i:03d}"} for i in range(n)]


@pytest.mark.parametrize(
    ("n", "sizes"),
    [(0, []), (1, [1]), (256, [256]), (257, [129, 128]), (300, [150, 150]), (513, [171, 171, 171]), (1000, [250, 250, 250, 250])],
)
def test_a_fleet_past_256_stacks_is_split_into_the_fewest_even_matrices_in_order(n: int, sizes: list[int]) -> None:
    parts = split_matrix(entries(n))
    assert [len(p) for p in parts] == sizes
    assert [e for p in parts for e in p] == entries(n)  # every stack once, in the site's order


def test_a_matrix_of_no_job_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one job"):
        split_matrix(entries(3), 0)


def test_aion_fleet_matrix_gives_every_stack_and_the_split(aion: Any, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "site")
    result = aion("fleet", "matrix", str(tmp_path / "site/site.yaml"), "--project", str(tmp_path / "site"), "--max-jobs", "10")
    assert result.returncode == 0, result.stderr
    matrix = json.loads(result.stdout)
    names = [c["name"] for c in yaml.safe_load((EXAMPLE / "site.yaml").read_text())["clusters"]]
    assert [e["stack"] for e in matrix["include"]] == names  # 28 stacks, named as their clusters
    assert [len(m["include"]) for m in matrix["matrices"]] == [10, 9, 9]
    assert [e for m in matrix["matrices"] for e in m["include"]] == matrix["include"]
    refused = aion("fleet", "matrix", str(tmp_path / "site/site.yaml"), "--project", str(tmp_path / "site"), "--max-jobs", "0")
    assert refused.returncode == 2 and "--max-jobs: 0 is not allowed; allowed: 1 or more" in refused.stderr


def test_fleet_preview_with_a_base_runs_only_the_stacks_the_change_touches(
    aion: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from aion_factory.fleet import runner

    project = tmp_path / "site"
    shutil.copytree(EXAMPLE, project)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    for argv in (["init", "-q"], ["add", "."], ["commit", "-qm", "site"]):
        subprocess.run([*git, *argv], cwd=project, check=True)
    previewed: list[str] = []
    monkeypatch.setattr(runner, "_operate", lambda run, stack, write: previewed.append(stack) or "nothing")
    args = ("fleet", "preview", str(project / "site.yaml"), "--project", str(project), "--base", "HEAD")
    assert aion(*args).returncode == 0 and previewed == []  # nothing changed: no stack runs
    site = yaml.safe_load((project / "site.yaml").read_text())
    site["clusters"][6]["pools"][0]["size"] -= 1  # h1-c07's pool: no tenant runs there, so no other cluster's quota moves
    (project / "site.yaml").write_text(yaml.safe_dump(site))
    assert aion(*args).returncode == 0 and previewed == ["h1-c07"]
