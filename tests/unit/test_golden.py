"""Rendered text is pinned by golden files; UPDATE_GOLDEN=1 rewrites them after a reviewed change."""

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from aion_factory import load_stack_file, make_plan
from aion_factory.report import format_table, write_report
from support import ROOT

GOLDEN = ROOT / "tests" / "golden"


def assert_golden(texts: dict[str, str]) -> None:
    """Each golden file holds its text. UPDATE_GOLDEN=1 rewrites those that differ and skips the test
    (a rewritten file proves nothing): review the diff, then run again without it."""
    if os.environ.get("UPDATE_GOLDEN") == "1":
        rewritten = [name for name, text in texts.items() if not (GOLDEN / name).exists() or (GOLDEN / name).read_text() != text]
        for name in rewritten:
            (GOLDEN / name).write_text(texts[name])
        if rewritten:
            pytest.skip(f"rewritten: {', '.join(rewritten)}; review `git diff tests/golden`, then rerun without UPDATE_GOLDEN")
    for name, text in texts.items():
        assert (GOLDEN / name).read_text() == text, f"{name} changed; review, then rerun with UPDATE_GOLDEN=1"


@pytest.mark.parametrize("stack", ["local", "dc5-train-1"])
def test_report_and_chart(stack: str, tmp_path: Path):
    plan = make_plan(load_stack_file(ROOT / f"stacks/Pulumi.{stack}.yaml"))
    markdown, svg, html = write_report(plan, tmp_path)
    ET.fromstring(svg.read_text())  # the chart is well-formed XML
    assert_golden(
        {
            f"report-{stack}.md": markdown.read_text(),
            f"power-{stack}.svg": svg.read_text(),
            f"report-{stack}.html": html.read_text(),
            f"table-{stack}.txt": format_table(plan),
        }
    )


def test_kind_config():
    from aion_factory.devstack.kind import kind_config

    spec = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
    assert_golden({"kind-config-local.yaml": kind_config(spec.clusters[0])})


def test_the_200mw_answer_at_the_wall_basis_is_shown_beside_the_counted_one():
    from aion_factory.report import headroom_at_wall

    plan = make_plan(load_stack_file(ROOT / "examples/aion-200mw.yaml"))
    counted_w, wall_w, at_wall = headroom_at_wall(plan)
    assert (plan.site.headroom_buys.node_type, counted_w, wall_w) == ("B300-SXM-8-288G", 14500, 15000)
    # 173,913.0 kW / 15 kW = 11,594 nodes (not 11,994 at 14.5 kW), 8 GPUs each, 4,500 / 1,979 H100-eq per GPU.
    assert (at_wall.nodes, at_wall.gpus, round(at_wall.h100_equivalents_fp8), at_wall.clusters_needed) == (11594, 92752, 210907, 24)
    assert (plan.site.headroom_buys.nodes, round(plan.site.headroom_buys.h100_equivalents_fp8)) == (11994, 218183)
    assert "counted at its wall maximum (15.0 kW, not the 14.5 kW dc bus estimate): 11,594 nodes" in format_table(plan)
