"""Rung 2: the whole program for the local stack file, under mocks: what it registers."""

from __future__ import annotations

import json
from collections import Counter

import pulumi
import pytest
import yaml

from aion_factory import environment, program
from mocks_support import run_and_catch
from support import ROOT

LOCAL = yaml.safe_load((ROOT / "stacks/Pulumi.local.yaml").read_text())["config"]


@pytest.fixture
def local_stack(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """The local stack's config, as Pulumi hands it to the program."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({key: json.dumps(value) for key, value in LOCAL.items() if key.startswith("aion:")}))
    monkeypatch.setenv(environment.LOCAL_KUBECONFIG, "/state/kubeconfig")
    yield
    pulumi.runtime.set_all_config({}, [])


def test_local_stack_registers_the_local_cluster_then_the_platform(run_program, local_stack):
    recorder = run_program(program.run)
    components = [(r.type, r.name) for r in recorder.resources if r.type.startswith("aion:")]
    assert components[:2] == [("aion:local:Cluster", "local"), ("aion:platform:ClusterPlatform", "local-platform")]
    [cluster] = recorder.of_type("aion-factory:index:FactoryCluster")
    assert cluster.name == "local"

    provider = recorder.named("local-k8s")
    assert provider.inputs["kubeconfig"] == "/state/kubeconfig"  # a path: a restarted control plane is not a new provider

    nodes = {r.name: r.inputs for r in recorder.of_type("pulumi-python:dynamic:Resource")}
    assert sorted(nodes) == ["local-h100-nodes", "local-l40s-nodes", "local-system-nodes"]
    assert (nodes["local-h100-nodes"]["count"], nodes["local-h100-nodes"]["capacity"]["nvidia.com/gpu"]) == (2, "8")
    assert nodes["local-system-nodes"]["count"] == 1

    kinds = Counter(r.type for r in recorder.resources)
    assert kinds["kubernetes:core/v1:Namespace"] == 3  # two tenants and aion-system for the power caps
    assert kinds["kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"] == 0  # Kueue comes with the cluster
    assert kinds["kubernetes:apps/v1:DaemonSet"] == 2  # each GPU pool: h100 capped, l40s at its default limit
    assert not [r for r in recorder.resources if r.type.startswith("scaleway:")]


def test_a_misspelt_config_key_stops_the_program_before_any_resource(run_program, local_stack, monkeypatch):
    config = {key: json.dumps(value) for key, value in LOCAL.items() if key.startswith("aion:")}
    config["aion:tenant"] = config.pop("aion:tenants")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    recorder, errors = run_and_catch(run_program)
    assert recorder.resources == []
    allowed = "allowed: site, clusters, tenants, account, phases, current_phase"
    assert f"aion:tenant: unknown key (did you mean 'tenants'?); {allowed}" in str(errors[0])


def phased_stack(monkeypatch: pytest.MonkeyPatch, phases: list[dict[str, str]], **changes: object) -> None:
    """The local stack with phases; `changes`: top-level `aion:` values replaced."""
    values = {**{key: value for key, value in LOCAL.items() if key.startswith("aion:")}, "aion:phases": phases, **changes}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({key: json.dumps(value) for key, value in values.items()}))


def test_a_stack_over_budget_in_its_first_phase_registers_nothing_though_its_last_phase_fits(run_program, local_stack, monkeypatch):
    site = json.loads(json.dumps(LOCAL["aion:site"]))
    # Row row-1: 20 kW in p1, 40 kW from p2; the cluster is rated 3 x 9.4 + 2 x 1.6432 + 0.0184 = 31.505 kW.
    site["halls"][0]["rows"][0].update({"it_power_kw": 20, "by_phase": {"p2": 40}})
    phased_stack(monkeypatch, [{"name": "p1", "date": "2020-01"}, {"name": "p2", "date": "2021-01"}], **{"aion:site": site})
    recorder, [error] = run_and_catch(run_program)
    assert "in phase p1 (2020-01): row lab/hall-a/row-1 draws 31.5 kW rated, over its limit of 20.0 kW" in str(error)
    assert "in phase p2" not in str(error) and recorder.resources == []


def test_a_stack_deploys_its_current_phase_only(run_program, local_stack, monkeypatch):
    clusters = json.loads(json.dumps(LOCAL["aion:clusters"]))
    clusters[0]["pools"][1]["from_phase"] = "p2"  # the L40S pool comes with p2, whose date has not come
    phased_stack(monkeypatch, [{"name": "p1", "date": "2020-01"}, {"name": "p2", "date": "2999-01"}], **{"aion:clusters": clusters})
    recorder = run_program(program.run)
    nodes = {r.name for r in recorder.of_type("pulumi-python:dynamic:Resource")}
    assert sorted(nodes) == ["local-h100-nodes", "local-system-nodes"]


def test_a_stack_before_its_first_phase_registers_nothing_and_refuses(run_program, local_stack, monkeypatch):
    phased_stack(monkeypatch, [{"name": "p1", "date": "2999-01"}])
    recorder, [error] = run_and_catch(run_program)
    # An update that registers nothing would delete what the stack holds: refused, not run quietly.
    assert str(error).startswith("no phase of site lab has come yet (the first: p1 on 2999-01): nothing is deployed; refused")
    assert recorder.resources == []
