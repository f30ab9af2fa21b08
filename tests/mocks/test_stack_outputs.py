"""Rung 2: what a stack exports for the stacks that build on it, under mocks: per cluster its id,
private network, bucket, tenant namespaces and LocalQueues; the kubeconfigs as one secret; the plan."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest
import yaml

from aion_factory import environment, make_plan, program, spec_from_config
from aion_factory.plan_document import plan_document
from aion_factory.scaleway.credentials import CREDENTIALS
from support import MINIMAL, ROOT

LOCAL = yaml.safe_load((ROOT / "stacks/Pulumi.local.yaml").read_text())["config"]


@pytest.fixture(autouse=True)
def clean_config() -> Iterator[None]:
    yield
    pulumi.runtime.set_all_config({}, [])


def stack_config(monkeypatch: pytest.MonkeyPatch, values: dict[str, Any]) -> None:
    """Pulumi passes a stack's config to the program as JSON in PULUMI_CONFIG."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({f"aion:{key}": json.dumps(value) for key, value in values.items()}))


def exports_of(run_program: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], dict[str, bool]]:
    """Run the program; each stack output's value and whether it is secret."""
    exported: dict[str, Any] = {}
    values: dict[str, Any] = {}
    secret: dict[str, bool] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exported.__setitem__(name, value))

    def run() -> None:
        program.run()
        for name, value in exported.items():
            output = pulumi.Output.from_input(value)
            output.apply(lambda v, name=name: values.__setitem__(name, v))
            pulumi.Output.from_input(output.is_secret()).apply(lambda s, name=name: secret.__setitem__(name, s))

    run_program(run)
    return values, secret


def test_a_scaleway_stack_exports_what_a_consumer_needs_of_each_cluster(run_program, monkeypatch):
    for credential in CREDENTIALS:
        monkeypatch.setenv(credential.env, "x")
    config = copy.deepcopy(MINIMAL)
    config["tenants"].append({"name": "u", "power_kw": 10, "clusters": ["c"]})
    stack_config(monkeypatch, config)

    values, secret = exports_of(run_program, monkeypatch)

    assert set(values) == {"clusters", "kubeconfigs", "plan", "aion-spec"}
    assert values["clusters"] == {
        "c": {
            "id": "c-cluster-id",
            "private_network_id": "c-network-pn-id",
            "bucket": "c-storage-bucket-4f2a",
            "tenant_namespaces": ["t", "u"],
            "local_queues": {"t": "default", "u": "default"},
            "gpus_by_flavor": {"h100-sxm": 32, "l4": 16},
            "rated_kw": values["clusters"]["c"]["rated_kw"],
        }
    }
    # 4 H100 nodes x 10.2 kW + 2 L4 nodes x 0.9184 kW + 2 system nodes x 0.0184 kW, from the catalog.
    assert values["clusters"]["c"]["rated_kw"] == round(4 * 10.2 + 2 * 0.9184 + 2 * 0.0184, 3) == 42.674
    # The kubeconfig Kapsule returned, under the cluster's name, and only that output is secret.
    assert values["kubeconfigs"] == {"c": "apiVersion: v1\nkind: Config\n"}
    assert secret == {"clusters": False, "kubeconfigs": True, "plan": False, "aion-spec": False}
    # The plan: what `aion plan --json` prints for the site.
    assert values["plan"] == plan_document(make_plan(spec_from_config(config))).model_dump(mode="json")
    assert values["plan"]["fits"] is True and values["plan"]["site"]["it_budget_kw"] == 1000.0


def test_a_local_stack_exports_its_queues_and_no_kubeconfig(run_program, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({key: json.dumps(value) for key, value in LOCAL.items() if key.startswith("aion:")}))
    monkeypatch.setenv(environment.LOCAL_KUBECONFIG, "/state/kubeconfig")

    values, secret = exports_of(run_program, monkeypatch)

    [local] = values["clusters"].values()
    assert list(values["clusters"]) == ["local"]
    assert (local["id"], local["private_network_id"], local["bucket"]) == (None, None, None)  # the local target makes none
    assert local["tenant_namespaces"] == ["kyutai", "mistral-lab"]
    assert local["local_queues"] == {"kyutai": "default", "mistral-lab": "default"}
    assert local["gpus_by_flavor"] == {"h100-sxm": 24, "l40s": 8}
    assert values["kubeconfigs"] == {} and secret["kubeconfigs"] is True  # a path the stack reads is no output
    assert [c["name"] for c in values["plan"]["clusters"]] == ["local"]
