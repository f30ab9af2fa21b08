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
