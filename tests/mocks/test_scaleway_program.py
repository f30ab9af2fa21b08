"""Rung 2: the program stops before any resource on a bad plan or missing Scaleway credentials (the target's preflight)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from aion_factory.scaleway.credentials import CREDENTIALS, missing_credentials
from mocks_support import run_and_catch
from support import MINIMAL, one_hall_two_stacks

ENV = [c.env for c in CREDENTIALS]


@pytest.fixture(autouse=True)
def clean_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No Scaleway credentials from the machine running the tests, and no config left behind."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    pulumi.runtime.set_all_config({}, [])
    yield
    pulumi.runtime.set_all_config({}, [])


def stack_config(monkeypatch: pytest.MonkeyPatch, values: dict[str, Any]) -> None:
    """Pulumi passes a stack's config to the program as JSON in PULUMI_CONFIG."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({f"aion:{key}": json.dumps(value) for key, value in values.items()}))


def test_an_over_budget_spec_registers_no_resource(run_program, monkeypatch):
    config = copy.deepcopy(MINIMAL)
    config["clusters"][0]["pools"][0]["size"] = 60  # 60 x 10.2 kW in a 500 kW row
    stack_config(monkeypatch, config)

    recorder, [error] = run_and_catch(run_program)

    assert "nothing was deployed" in str(error)
    assert "row s/h/r draws" in str(error)
    assert recorder.resources == []


def test_missing_credentials_register_no_resource(run_program, monkeypatch):
    stack_config(monkeypatch, copy.deepcopy(MINIMAL))

    recorder, [error] = run_and_catch(run_program)

    assert all(name in str(error) for name in ENV)
    assert recorder.resources == []


def test_credentials_from_the_environment_pass(monkeypatch):
    for name in ENV:
        monkeypatch.setenv(name, "x")
    assert missing_credentials() == []


def test_credentials_from_pulumi_secrets_pass():
    keys = [c.config for c in CREDENTIALS]
    pulumi.runtime.set_all_config(dict.fromkeys(keys, "x"), keys)
    assert missing_credentials() == []


def test_plain_credentials_in_the_stack_file_are_refused_even_with_the_environment_set(monkeypatch):
    for name in ENV:
        monkeypatch.setenv(name, "x")
    pulumi.runtime.set_all_config({"scaleway:secretKey": "plain"}, [])

    [problem] = missing_credentials()

    assert str(problem).startswith("scaleway:secretKey: is stored in plain text")
    assert "pulumi config set --secret scaleway:secretKey" in problem.message


def test_missing_credentials_are_named_one_per_line(run_program, monkeypatch):
    monkeypatch.setenv("SCW_ACCESS_KEY", "x")
    stack_config(monkeypatch, copy.deepcopy(MINIMAL))

    recorder, [error] = run_and_catch(run_program)

    lines = str(error).splitlines()
    assert lines[0] == "a target would refuse the clusters; nothing was deployed:"
    assert [line.split()[1] for line in lines[1:]] == ["SCW_SECRET_KEY", "SCW_DEFAULT_PROJECT_ID"]
    assert recorder.resources == []


def test_what_kapsule_would_refuse_stops_the_program_before_any_resource(run_program, monkeypatch):
    for name in ENV:
        monkeypatch.setenv(name, "x")
    config = copy.deepcopy(MINIMAL)
    config["clusters"][0]["auto_upgrade"] = False  # with version "1.35": Kapsule wants x.y.z
    stack_config(monkeypatch, config)

    recorder, [error] = run_and_catch(run_program)

    assert "aion:clusters[0].auto_upgrade: false needs a full x.y.z kubernetes_version" in str(error)
    assert recorder.resources == []


def test_a_stack_of_a_site_over_budget_with_its_neighbour_registers_nothing(run_program, monkeypatch, tmp_path):
    """Each of the two stacks fits alone; planned as the site they share, the program refuses both."""
    for name in ENV:
        monkeypatch.setenv(name, "x")
    stacks = one_hall_two_stacks(tmp_path)
    for cluster in ("train-a", "train-b"):
        stack_config(monkeypatch, {"site_file": str(stacks / "../sites/dc.yaml"), "cluster": cluster})
        recorder, [error] = run_and_catch(run_program)
        assert "the plan violates the site's budgets or limits; nothing was deployed" in str(error)
        assert "clusters drawing on it: train-a, train-b" in str(error)
        assert recorder.resources == []


def test_tenants_on_a_cni_without_network_policy_are_warned_of_and_the_cluster_still_deploys(run_program, monkeypatch):
    for name in ENV:
        monkeypatch.setenv(name, "x")
    config = copy.deepcopy(MINIMAL)
    config["clusters"][0]["cni"] = "none"
    stack_config(monkeypatch, config)
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))

    recorder, errors = run_and_catch(run_program)

    assert errors == [] and recorder.resources  # a warning, not a refusal: a policy engine may run beside the CNI
    [warning] = [w for w in warnings if "NetworkPolicy" in w]
    assert warning.startswith("aion:clusters[0].cni: 'none' does not enforce NetworkPolicy, so tenants t are not fenced")


@pytest.mark.parametrize(
    ("current", "cluster", "says"),
    [
        # p2 has not come (2999-01): the stack of a cluster that exists only from p2 has nothing to deploy.
        (None, "late", "no cluster of this stack exists in phase p1 (2020-06) (late from phase p2)"),
        # No phase has come at all.
        ("none", "early", "no phase of site s has come yet (the first: p1 on 2998-06)"),
    ],
)
def test_a_stack_with_nothing_to_deploy_today_refuses_rather_than_delete_what_it_holds(
    run_program, monkeypatch, tmp_path, current, cluster, says
):
    for name in ENV:
        monkeypatch.setenv(name, "x")
    pool = [{"name": "g", "node_type": "H100-SXM-8-80G", "size": 2}]
    first = "2998-06" if current == "none" else "2020-06"
    site = {
        "site": {"name": "s", "facility_power_mw": 1, "pue": 1.0, "halls": [{"name": "h", "it_power_kw": 500}]},
        "phases": [{"name": "p1", "date": first}, {"name": "p2", "date": "2999-01"}],
        "clusters": [
            {"name": "early", "target": "scaleway", "hall": "h", "pools": pool},
            {"name": "late", "target": "scaleway", "hall": "h", "from_phase": "p2", "subnet": "172.16.4.0/22", "pools": pool},
        ],
        "tenants": [],
    }
    (tmp_path / "site.yaml").write_text(json.dumps(site))
    stack_config(monkeypatch, {"site_file": str(tmp_path / "site.yaml"), "cluster": cluster})

    recorder, [error] = run_and_catch(run_program)

    assert says in str(error), str(error)
    assert "refused: an update now could only delete what the stack holds" in str(error)
    assert recorder.resources == []
