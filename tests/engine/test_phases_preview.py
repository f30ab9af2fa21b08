"""Rung 3: `pulumi preview` with the real CLI refuses a stack whose site is over budget in its first
phase though it fits in its last, naming that phase, before any resource or provider is needed.

The stack holds its site inline (`aion:site`, `aion:phases`): a stack naming a site document reads
it the same way once the site file is found from the stack file (issue 21, item 0)."""

from __future__ import annotations

import copy

import yaml

from engine_support import PulumiProject
from support import ROOT

LOCAL = yaml.safe_load((ROOT / "stacks/Pulumi.local.yaml").read_text())["config"]


def test_a_stack_over_budget_in_phase_1_is_refused_by_pulumi_preview_naming_phase_1(tmp_path, pulumi_env):
    values = {key.removeprefix("aion:"): copy.deepcopy(value) for key, value in LOCAL.items() if key.startswith("aion:")}
    # Row row-1: 20 kW in p1, 40 kW from p2; the cluster is rated 31.5 kW (3 x 9.4 + 2 x 1.6432 + 0.0184).
    values["site"]["halls"][0]["rows"][0].update({"it_power_kw": 20, "by_phase": {"p2": 40}})
    values["phases"] = [{"name": "p1", "date": "2020-01"}, {"name": "p2", "date": "2021-01"}]
    project = PulumiProject(tmp_path, pulumi_env, "phased")
    project.pulumi("stack", "init", "--secrets-provider", "passphrase")
    project.write_config(values)

    preview = project.pulumi("preview", check=False)

    said = preview.stdout + preview.stderr
    assert preview.returncode != 0
    assert "in phase p1 (2020-01): row lab/hall-a/row-1 draws 31.5 kW rated, over its limit of 20.0 kW" in said
    assert "in phase p2" not in said and "nothing was deployed" in said
