"""Rung 3: `pulumi preview` with the real CLI refuses a stack whose site is over budget in its first
phase though it fits in its last, naming that phase, before any resource or provider is needed.

The first stack holds its site inline (`aion:site`, `aion:phases`); the second is a stack of a
programme's site, refused because another site of the programme is over budget in phase 1."""

from __future__ import annotations

import copy
import json

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


def test_a_programme_stack_is_refused_by_pulumi_preview_while_another_site_is_over_in_phase_1(tmp_path, pulumi_env):
    project = PulumiProject(tmp_path, pulumi_env, "a1")
    # Site b's hall: 300 kW in p1 against 30 x 10.2 kW + 36.8 W = 306.0 kW rated; 1,000 kW from p2. Site a fits.
    for name, hall_kw, nodes in (("a", {"it_power_kw": 500}, 10), ("b", {"it_power_kw": 300, "by_phase": {"p2": 1000}}, 30)):
        site = {
            "site": {"name": name, "facility_power_mw": 2, "pue": 1.0, "halls": [{"name": "h", **hall_kw}]},
            "phases": [{"name": "p1", "date": "2020-01"}, {"name": "p2", "date": "2021-01"}],
            "clusters": [
                {
                    "name": f"{name}1",
                    "target": "scaleway",
                    "hall": "h",
                    "pools": [{"name": "g", "node_type": "H100-SXM-8-80G", "size": nodes}],
                }
            ],
            "tenants": [],
        }
        (tmp_path / f"{name}.yaml").write_text(json.dumps(site))
    programme = {"programme": "two", "sites": [{"file": "a.yaml"}, {"file": "b.yaml"}]}
    (tmp_path / "programme.yaml").write_text(json.dumps(programme))
    project.pulumi("stack", "init", "--secrets-provider", "passphrase")
    project.write_config({"site_file": "../a.yaml", "cluster": "a1", "programme": "../programme.yaml"})

    preview = project.pulumi("preview", check=False)

    said = preview.stdout + preview.stderr
    assert preview.returncode != 0
    assert "the plan violates the programme's budgets or limits; nothing was deployed" in said
    assert "in phase p1 (2020-01): hall b/h draws 306.0 kW rated, over its limit of 300.0 kW" in said
    assert "in phase p2" not in said
