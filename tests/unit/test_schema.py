from aion_factory.schema import render_plan_schema, render_reference, render_schema
from support import ROOT


def test_committed_json_schema_is_current():
    committed = (ROOT / "stacks" / "aion.schema.json").read_text()
    assert committed == render_schema(), "stale: run `python -m aion_factory.schema > stacks/aion.schema.json`"


def test_committed_config_reference_is_current():
    committed = (ROOT / "docs" / "CONFIG.md").read_text()
    assert committed == render_reference(), "stale: run `python -m aion_factory.schema --markdown > docs/CONFIG.md`"


def test_committed_plan_schema_is_current():
    committed = (ROOT / "docs" / "plan.schema.json").read_text()
    assert committed == render_plan_schema(), "stale: run `python -m aion_factory.schema --plan > docs/plan.schema.json`"
