"""The policy pack against the real engine and the local control plane.

A stack that breaks a policy fails `pulumi preview --policy-pack` with that policy's
message, and `pulumi up` with the pack deploys nothing: the state stays empty and the
API server never sees the objects. Which layer refuses is asserted, not assumed: an
over-budget stack config is refused by the program itself, before the pack runs; the
pack catches what the program lets through (a stack that raised its own budget).

`gpu-pool-no-public-ip` is not here: previewing a Kapsule pool needs the Scaleway
provider plugin, which this toolchain does not build (tests/unit/test_policy_pack.py
drives it through the analyzer's gRPC handler instead).
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from program_support import POLICY_PACK, SourceProject, program_env, python_project

from engine_support import PulumiProject, stack_values
from support import ROOT

LOCAL = stack_values(ROOT / "stacks/Pulumi.local.yaml")
ROW_OVER = "row lab/hall-a/row-1 draws 31.5 kW rated, over its limit of 25.0 kW"


def renamed(values: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The local stack under other cluster and tenant names, so nothing it could create
    is confused with what other engine tests deploy on the same control plane."""
    values = copy.deepcopy(values)
    values["clusters"][0]["name"] = f"{prefix}-local"
    for tenant in values["tenants"]:
        tenant["name"] = f"{prefix}-{tenant['name']}"
        tenant["clusters"] = [f"{prefix}-local"]
    return values


def with_row_budget(values: dict[str, Any], kw: float) -> dict[str, Any]:
    values = copy.deepcopy(values)
    values["site"]["halls"][0]["rows"][0]["it_power_kw"] = kw
    return values


def policy_run(project: PulumiProject, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    flags = ["--policy-pack", str(POLICY_PACK)] + (["--policy-pack-config", str(config)] if config else [])
    return project.pulumi(*args, *flags, check=False)


def state_resources(project: PulumiProject) -> list[str]:
    exported = json.loads(project.pulumi("stack", "export").stdout)
    return [r["type"] for r in exported.get("deployment", {}).get("resources") or []]


def namespaces(api_client: Any) -> set[str]:
    return {ns.metadata.name for ns in client.CoreV1Api(api_client).list_namespace().items}


@pytest.fixture(scope="module")
def env(pulumi_env: dict[str, str]) -> dict[str, str]:
    return program_env(pulumi_env)


def test_the_local_stack_passes_every_policy(new_project: Any, env: dict[str, str]) -> None:
    project = new_project("policy-ok", renamed(LOCAL, "pok"))
    project.env = env
    result = policy_run(project, "preview")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "aion-factory" in result.stdout and "mandatory" not in result.stdout


def test_a_stack_that_raised_its_own_budget_fails_on_the_sites_tree_and_deploys_nothing(
    new_project: Any, env: dict[str, str], api_client: Any, tmp_path: Path
) -> None:
    # The stack says row-1 has 60 kW: the program's own check passes (31.5 kW rated).
    values = with_row_budget(renamed(LOCAL, "pbud"), 60)
    project = new_project("policy-budget", values)
    project.env = env
    # The site owner's tree (the pack's config) says 25 kW.
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"power-budget": {"site": with_row_budget(LOCAL, 25)["site"]}}))

    preview = policy_run(project, "preview", config=config)
    assert preview.returncode != 0
    assert "[mandatory]  power-budget" in preview.stdout
    drawn = "clusters drawing on it: pbud-local"
    fix = "to fit: shrink pool pbud-local/h100 by 1 node (to 2), or gpu_power_cap_w 328 on pool pbud-local/h100"
    assert (
        f"{ROW_OVER} (budget 25.0 kW x oversubscription 1) by 6.5 kW; {fix}; {drawn} (site power tree from the policy config)"
        in preview.stdout
    )

    up = policy_run(project, "up", "--yes", config=config)
    assert up.returncode != 0 and "power-budget" in up.stdout
    assert state_resources(project) in ([], ["pulumi:pulumi:Stack"])
    assert not {"pbud-kyutai", "pbud-mistral-lab"} & namespaces(api_client)
    nodes = client.CoreV1Api(api_client).list_node(label_selector="aion-factory.io/cluster=pbud-local").items
    assert nodes == []


def test_an_over_budget_config_is_refused_by_the_program_before_the_pack_runs(new_project: Any, env: dict[str, str]) -> None:
    project = new_project("policy-program", with_row_budget(renamed(LOCAL, "pprog"), 25))
    project.env = env
    preview = policy_run(project, "preview")
    assert preview.returncode != 0
    output = preview.stdout + preview.stderr
    # The program's refusal, naming the same level the pack would name; the pack never ran
    # (stack policies run after the program registered everything, and it registered nothing).
    assert "the plan violates the site's budgets or limits; nothing was deployed" in output
    assert ROW_OVER in output
    assert "[mandatory]  power-budget" not in output
    assert state_resources(project) in ([], ["pulumi:pulumi:Stack"])


OPEN_TENANT = """
import os

import pulumi
import pulumi_kubernetes as k8s

kubeconfig = os.environ["AION_LOCAL_KUBECONFIG"]
provider = k8s.Provider("k8s", kubeconfig=kubeconfig)
# A tenant namespace with neither a ResourceQuota nor a default-deny NetworkPolicy.
k8s.core.v1.Namespace(
    "open",
    metadata={"name": "policy-open-tenant", "labels": {"aion-factory.io/tenant": "policy-open-tenant"}},
    opts=pulumi.ResourceOptions(provider=provider),
)
# The admin kubeconfig, exported in plain text.
with open(kubeconfig) as stream:
    pulumi.export("local-kubeconfig", stream.read())
"""


def test_an_unfenced_tenant_and_a_plain_kubeconfig_fail_and_deploy_nothing(
    env: dict[str, str], api_client: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = SourceProject(tmp_path_factory.mktemp("open-tenant"), env, "open", python_project("open-tenant", OPEN_TENANT)).init()
    preview = policy_run(project, "preview")
    assert preview.returncode != 0
    assert "[mandatory]  tenant-namespace-fenced" in preview.stdout
    assert "tenant namespace policy-open-tenant has no ResourceQuota with a hard requests.nvidia.com/gpu" in preview.stdout
    assert "tenant namespace policy-open-tenant has no default-deny NetworkPolicy" in preview.stdout
    assert "[mandatory]  kubeconfig-is-secret" in preview.stdout
    assert "stack output local-kubeconfig holds a kubeconfig in plain text" in preview.stdout

    up = policy_run(project, "up", "--yes")
    assert up.returncode != 0
    assert [r["type"] for r in project.resources()] in ([], ["pulumi:pulumi:Stack"])
    assert "policy-open-tenant" not in namespaces(api_client)
