"""The policy pack's gRPC analyzer, driven with the requests the engine sends, without the engine.

Proves the wiring the pure tests cannot: the hooks see the stack config and the
secret markers, each policy is mandatory, and messages reach the diagnostics.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
import yaml

from aion_factory.platform.tenancy import tenant_objects
from support import ROOT, tenant_view

pytest.importorskip("pulumi_policy", reason="pulumi-policy is a dev dependency (pyproject.toml)")
sys.path.insert(0, str(ROOT / "policy"))

from aion_policy import hooks, pack
from aion_policy.view import SECRET_SIG, SIG_KEY
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi_policy import EnforcementLevel
from pulumi_policy import policy as pulumi_policy_module

STACK_FILE = yaml.safe_load((ROOT / "stacks/Pulumi.local.yaml").read_text())["config"]
PROVIDER = "urn:pulumi:local::aion-factory::pulumi:providers:kubernetes::local-k8s"


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(values, struct_pb2.Struct())


def resource(type_: str, name: str, props: dict[str, Any], **extra: Any) -> proto.AnalyzerResource:
    urn = f"urn:pulumi:local::aion-factory::{type_}::{name}"
    return proto.AnalyzerResource(type=type_, name=name, urn=urn, properties=struct(props), **extra)


@pytest.fixture
def servicer() -> Any:
    hooks.install()
    analyzer = pulumi_policy_module._PolicyAnalyzerServicer("aion-factory", "0.1.0", pack.policies(), EnforcementLevel.MANDATORY)
    config = {key: json.dumps(value) for key, value in STACK_FILE.items()}
    analyzer.ConfigureStack(proto.AnalyzerStackConfigureRequest(stack="local", project="aion-factory", config=config), None)
    return analyzer


def stack_diagnostics(analyzer: Any, *resources: proto.AnalyzerResource) -> list[Any]:
    return list(analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=list(resources)), None).diagnostics)


def test_the_hooks_wrap_the_analyzer_protocols_stack_handlers() -> None:
    hooks.install()
    hooks.install()  # twice is harmless
    servicer = pulumi_policy_module._PolicyAnalyzerServicer
    assert all(getattr(servicer, name).__name__ == "wrapped" for name in hooks.HANDLERS)


def test_every_policy_is_mandatory_and_named() -> None:
    names = [p.name for p in pack.policies()]
    assert names == ["power-budget", "gpu-pool-no-public-ip", "tenant-namespace-fenced", "tenant-pod-security", "kubeconfig-is-secret"]


def tenant_resources(drop_kind: str | None = None) -> list[proto.AnalyzerResource]:
    """The objects the platform's Tenant component registers, as the engine reports them."""
    objects = tenant_objects(tenant_view("kyutai", gpus=18))
    return [
        resource(
            f"kubernetes:{'core/v1' if o['apiVersion'] == 'v1' else o['apiVersion']}:{o['kind']}",
            f"local-platform-kyutai-{o['kind'].lower()}-{o['metadata']['name']}",
            o,
            provider=proto.AnalyzerProviderResource(urn=PROVIDER),
        )
        for o in objects
        if o["kind"] != drop_kind
    ]


def test_the_local_stack_passes_every_stack_policy(servicer: Any) -> None:
    assert stack_diagnostics(servicer, *tenant_resources()) == []


def test_a_tenant_namespace_without_a_network_policy_fails(servicer: Any) -> None:
    [diagnostic] = stack_diagnostics(servicer, *tenant_resources(drop_kind="NetworkPolicy"))
    assert diagnostic.policyName == "tenant-namespace-fenced"
    assert "tenant namespace kyutai has no default-deny NetworkPolicy" in diagnostic.message
    assert diagnostic.urn.endswith("::local-platform-kyutai-namespace-kyutai")


def test_an_over_budget_site_from_the_policy_config_fails_with_the_level(servicer: Any) -> None:
    site = json.loads(json.dumps(STACK_FILE["aion:site"]))
    site["halls"][0]["rows"][0]["it_power_kw"] = 25
    servicer.Configure(
        proto.ConfigureAnalyzerRequest(
            policyConfig={"power-budget": proto.PolicyConfig(enforcementLevel=proto.MANDATORY, properties=struct({"site": site}))}
        ),
        None,
    )
    [diagnostic] = stack_diagnostics(servicer)
    assert diagnostic.policyName == "power-budget" and diagnostic.enforcementLevel == proto.MANDATORY
    assert "row lab/hall-a/row-1 draws 31.5 kW rated, over its limit of 25.0 kW" in diagnostic.message


def test_a_plain_kubeconfig_output_fails_and_a_secret_one_passes(servicer: Any) -> None:
    kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\n"
    leaky = resource("pulumi:pulumi:Stack", "aion-factory-local", {"local-kubeconfig": kubeconfig})
    [diagnostic] = stack_diagnostics(servicer, leaky)
    assert diagnostic.policyName == "kubeconfig-is-secret" and diagnostic.urn == leaky.urn
    assert "stack output local-kubeconfig holds a kubeconfig in plain text" in diagnostic.message
    sealed = resource("pulumi:pulumi:Stack", "aion-factory-local", {"local-kubeconfig": {SIG_KEY: SECRET_SIG, "value": kubeconfig}})
    assert stack_diagnostics(servicer, sealed) == []


def test_a_gpu_pool_with_public_ips_fails_resource_analysis(servicer: Any) -> None:
    pool = {"name": "h100", "nodeType": "H100-SXM-8-80G", "publicIpDisabled": False}
    request = proto.AnalyzeRequest(type="scaleway:kubernetes/pool:Pool", name="train-1-h100-pool", urn="urn:pool", properties=struct(pool))
    [diagnostic] = servicer.Analyze(request, None).diagnostics
    assert diagnostic.policyName == "gpu-pool-no-public-ip" and diagnostic.enforcementLevel == proto.MANDATORY
    assert "GPU pool h100 (H100-SXM-8-80G) would give its nodes public IPs" in diagnostic.message


def privileged_tenant() -> list[proto.AnalyzerResource]:
    resources = tenant_resources()
    namespace = json_format.MessageToDict(resources[0].properties)
    namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"
    resources[0].properties.CopyFrom(struct(namespace))
    return resources


def test_a_privileged_tenant_namespace_fails_unless_the_packs_config_allows_it(servicer: Any) -> None:
    [diagnostic] = stack_diagnostics(servicer, *privileged_tenant())
    assert diagnostic.policyName == "tenant-pod-security" and diagnostic.enforcementLevel == proto.MANDATORY
    assert (
        "\ntenant namespace kyutai enforces Pod Security 'privileged', which the pack's config does not allow it (allowed: restricted)"
        in diagnostic.message
    )
    assert diagnostic.urn.endswith("::local-platform-kyutai-namespace-kyutai")
    for allowed, diagnostics in (("baseline", 1), ("privileged", 0)):
        properties = struct({"allowed": {"kyutai": allowed}})
        config = {"tenant-pod-security": proto.PolicyConfig(enforcementLevel=proto.MANDATORY, properties=properties)}
        servicer.Configure(proto.ConfigureAnalyzerRequest(policyConfig=config), None)
        assert len(stack_diagnostics(servicer, *privileged_tenant())) == diagnostics, allowed
