"""The plugin package (provider/) through the real engine: its schema, and its components
consumed over the wire (Construct) on the local control plane by programs that never import
aion_factory: a Python program registering them as remote components, as a generated SDK
does, and a YAML program when the YAML language host is in the toolchain.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client
from program_support import PLUGIN, PLUGIN_DIR, SourceProject, cli, program_env, python_project

from aion_factory import __version__, labels
from engine_support import stack_values
from support import ROOT

PACKAGE = "aion-factory"


def spec_for(prefix: str) -> dict[str, Any]:
    """The local stack's spec under its own cluster and tenant names."""
    values = copy.deepcopy(stack_values(ROOT / "stacks/Pulumi.local.yaml"))
    values["clusters"][0]["name"] = f"{prefix}-local"
    for tenant in values["tenants"]:
        tenant["name"] = f"{prefix}-{tenant['name']}"
        tenant["clusters"] = [f"{prefix}-local"]
    return values


def test_get_schema_describes_both_components(pulumi_env: dict[str, str], tmp_path: Any) -> None:
    env = program_env(pulumi_env)
    result = cli(env, tmp_path, "package", "get-schema", str(PLUGIN))
    assert result.returncode == 0, result.stderr[-3000:]
    schema = json.loads(result.stdout)
    assert (schema["name"], schema["version"]) == (PACKAGE, __version__)
    cluster = schema["resources"][f"{PACKAGE}:index:FactoryCluster"]
    assert cluster["isComponent"] is True
    assert sorted(cluster["requiredInputs"]) == ["cluster", "clusters", "site"]
    assert set(cluster["inputProperties"]) == {"site", "clusters", "tenants", "cluster", "kubeconfig"}
    assert set(cluster["properties"]) == {
        "tenantNamespaces",
        "localQueues",
        "gpusByFlavor",
        "ratedKw",
        "kubeconfig",
        "clusterId",
        "privateNetworkId",
        "bucket",
    }
    plan = schema["resources"][f"{PACKAGE}:index:PowerPlan"]
    assert set(plan["properties"]) == {"fits", "violations", "itBudgetKw", "ratedItKw", "h100EquivalentsFp8"}


REMOTE_PROGRAM = """
import json

import pulumi

SPEC = json.loads({spec!r})


class Remote(pulumi.ComponentResource):
    \"\"\"What a generated SDK does: register the component by type token, remote=True.\"\"\"

    def __init__(self, type_, name, inputs, outputs):
        super().__init__(type_, name, {{**inputs, **dict.fromkeys(outputs)}}, None, remote=True)


cluster = Remote(
    "aion-factory:index:FactoryCluster",
    "wire",
    {{**SPEC, "cluster": "wire-local", "kubeconfig": {kubeconfig!r}}},
    ["tenantNamespaces", "gpusByFlavor", "ratedKw"],
)
plan = Remote("aion-factory:index:PowerPlan", "wire-plan", SPEC, ["fits", "ratedItKw"])
pulumi.export("tenantNamespaces", cluster.tenantNamespaces)
pulumi.export("gpusByFlavor", cluster.gpusByFlavor)
pulumi.export("fits", plan.fits)
pulumi.export("ratedItKw", plan.ratedItKw)
"""


@pytest.fixture(scope="module")
def wire(pulumi_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SourceProject]:
    source = REMOTE_PROGRAM.format(spec=json.dumps(spec_for("wire")), kubeconfig=pulumi_env["AION_LOCAL_KUBECONFIG"])
    plugins = [{"name": PACKAGE, "path": str(PLUGIN_DIR)}]
    root = tmp_path_factory.mktemp("wire")
    project = SourceProject(root, program_env(pulumi_env), "dev", python_project("wire", source, plugins)).init()
    project.pulumi("up", "--yes", "--skip-preview")
    yield project
    project.pulumi("destroy", "--yes", "--skip-preview", check=False)
    shutil.rmtree(root, ignore_errors=True)


def test_a_program_in_another_language_gets_the_cluster_and_its_outputs(wire: SourceProject, api_client: Any) -> None:
    outputs = json.loads(wire.pulumi("stack", "output", "--json").stdout)
    assert sorted(outputs["tenantNamespaces"]) == ["wire-kyutai", "wire-mistral-lab"]
    assert outputs["gpusByFlavor"] == {"h100-sxm": 24, "l40s": 8}
    assert (outputs["fits"], outputs["ratedItKw"]) == (True, 31.505)
    core = client.CoreV1Api(api_client)
    h100 = core.list_node(label_selector=f"{labels.CLUSTER}=wire-local,{labels.POOL}=h100").items
    assert len(h100) == 2 and {n.status.allocatable[labels.GPU_RESOURCE] for n in h100} == {"8"}
    quota = core.read_namespaced_resource_quota("tenant-quota", "wire-kyutai")
    assert int(quota.spec.hard[f"requests.{labels.GPU_RESOURCE}"]) > 0
    types = {r["type"] for r in wire.resources()}
    assert {f"{PACKAGE}:index:FactoryCluster", f"{PACKAGE}:index:PowerPlan", "aion:local:Cluster", "aion:platform:Tenant"} <= types


def test_the_remote_component_refuses_an_over_budget_spec(pulumi_env: dict[str, str], tmp_path: Any) -> None:
    spec = spec_for("over")
    spec["site"]["halls"][0]["rows"][0]["it_power_kw"] = 25
    source = REMOTE_PROGRAM.format(spec=json.dumps(spec), kubeconfig=pulumi_env["AION_LOCAL_KUBECONFIG"])
    project = SourceProject(
        tmp_path, program_env(pulumi_env), "over", python_project("over", source, [{"name": PACKAGE, "path": str(PLUGIN_DIR)}])
    ).init()
    result = project.pulumi("preview", check=False)
    assert result.returncode != 0
    assert "row lab/hall-a/row-1 draws 31.5 kW rated, over its limit of 25.0 kW" in result.stdout + result.stderr


def test_destroy_removes_what_the_component_created(wire: SourceProject, api_client: Any) -> None:
    wire.pulumi("destroy", "--yes", "--skip-preview")
    core = client.CoreV1Api(api_client)
    tenants = {"wire-kyutai", "wire-mistral-lab"}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and tenants & {ns.metadata.name for ns in core.list_namespace().items}:
        time.sleep(0.5)
    assert not tenants & {ns.metadata.name for ns in core.list_namespace().items}
    assert core.list_node(label_selector=f"{labels.CLUSTER}=wire-local").items == []


def yaml_host(env: dict[str, str]) -> str | None:
    return shutil.which("pulumi-language-yaml", path=env.get("PATH"))


def test_a_yaml_program_deploys_a_factory_cluster(pulumi_env: dict[str, str], api_client: Any, tmp_path: Any) -> None:
    env = program_env(pulumi_env)
    if yaml_host(env) is None:
        pytest.fail("no pulumi-language-yaml on PATH: scripts/bootstrap-toolchain.sh builds it (make test runs it)")
    spec = spec_for("yaml")
    program = {
        "name": "aion-yaml",
        "runtime": "yaml",
        "plugins": {"providers": [{"name": PACKAGE, "path": str(PLUGIN_DIR)}]},
        "resources": {
            "factory": {
                "type": f"{PACKAGE}:index:FactoryCluster",
                "properties": {
                    **spec,
                    "cluster": "yaml-local",
                    "kubeconfig": pulumi_env["AION_LOCAL_KUBECONFIG"],
                },
            }
        },
        "outputs": {"tenantNamespaces": "${factory.tenantNamespaces}"},
    }
    project = SourceProject(tmp_path, env, "dev", {"Pulumi.yaml": yaml.safe_dump(program)}).init()
    try:
        project.pulumi("up", "--yes", "--skip-preview")
        outputs = json.loads(project.pulumi("stack", "output", "--json").stdout)
        assert sorted(outputs["tenantNamespaces"]) == ["yaml-kyutai", "yaml-mistral-lab"]
        assert client.CoreV1Api(api_client).read_namespace("yaml-kyutai").metadata.labels["aion-factory.io/tenant"] == "yaml-kyutai"
    finally:
        project.pulumi("destroy", "--yes", "--skip-preview", check=False)
