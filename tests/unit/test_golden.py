"""Rendered text is pinned by golden files; UPDATE_GOLDEN=1 rewrites them after a reviewed change."""

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from aion_factory import load_stack_file, make_plan
from aion_factory.report import format_table, write_report
from support import ROOT

GOLDEN = ROOT / "tests" / "golden"


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.read_text() == text, f"{name} changed; review, then rerun with UPDATE_GOLDEN=1"


@pytest.mark.parametrize("stack", ["local", "dc5-train-1"])
def test_report_and_chart(stack: str, tmp_path: Path):
    plan = make_plan(load_stack_file(ROOT / f"stacks/Pulumi.{stack}.yaml"))
    markdown, svg = write_report(plan, tmp_path)
    ET.fromstring(svg.read_text())  # the chart is well-formed XML
    assert_golden(f"report-{stack}.md", markdown.read_text())
    assert_golden(f"power-{stack}.svg", svg.read_text())
    assert_golden(f"table-{stack}.txt", format_table(plan))


def test_kind_config():
    from aion_factory.devstack.kind import kind_config

    spec = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
    assert_golden("kind-config-local.yaml", kind_config(spec.cluster("local")))
