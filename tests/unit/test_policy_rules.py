"""The policy pack's checks, without the engine and without pulumi-policy: plain data in, findings out."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from aion_factory import spec_from_config
from aion_factory.errors import NotDeployable
from aion_factory.factory import deployable_clusters
from aion_factory.platform.tenancy import tenant_objects
from support import ROOT, tenant_view

sys.path.insert(0, str(ROOT / "policy"))

from aion_policy.pools import public_ip_finding
from aion_policy.power import power_findings
from aion_policy.secrets import kubeconfig_findings
from aion_policy.stack_config import aion_values
from aion_policy.tenants import isolation_findings, pod_security_findings
from aion_policy.view import SECRET_SIG, SIG_KEY, UNKNOWN, Seen, from_wire, plain

LOCAL = {
    key.removeprefix("aion:"): value
    for key, value in yaml.safe_load((ROOT / "stacks/Pulumi.local.yaml").read_text())["config"].items()
    if key.startswith("aion:")
}
UNKNOWN_WIRE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://k8s.invalid'}\n"


def secret(value: Any) -> dict[str, Any]:
    return {SIG_KEY: SECRET_SIG, "value": value}


def with_row_budget(values: dict[str, Any], kw: float) -> dict[str, Any]:
    values = copy.deepcopy(values)
    values["site"]["halls"][0]["rows"][0]["it_power_kw"] = kw
    return values


# --- power-budget -------------------------------------------------------------


def test_the_local_stack_fits_its_power_tree() -> None:
    assert power_findings(LOCAL) == []


def test_a_site_over_budget_in_its_first_phase_is_refused_naming_the_phase_though_it_fits_in_the_last() -> None:
    values = with_row_budget(LOCAL, 25)
    values["site"]["halls"][0]["rows"][0]["by_phase"] = {"p2": 40}
    values["phases"] = [{"name": "p1", "date": "2027-06"}, {"name": "p2", "date": "2028-06"}]
    [message] = power_findings(values)
    assert message.startswith("in phase p1 (2027-06): row lab/hall-a/row-1 draws 31.5 kW rated, over its limit of 25.0 kW")


def test_a_row_over_budget_is_named_with_its_draw_and_limit() -> None:
    # The local stack rates 31.5 kW in row-1 (h100 at max_size 3, capped at 600 W per GPU; l40s; system).
    [message] = power_findings(with_row_budget(LOCAL, 25))
    assert message.startswith("row lab/hall-a/row-1 draws 31.5 kW rated, over its limit of 25.0 kW")
    assert message.endswith(
        "by 6.5 kW; to fit: shrink pool local/h100 by 1 node (to 2), or gpu_power_cap_w 328 on pool local/h100; "
        "clusters drawing on it: local (site power tree from the stack's config)"
    )


def test_the_policy_and_the_program_refuse_the_same_levels() -> None:
    values = with_row_budget(LOCAL, 25)
    with pytest.raises(NotDeployable) as refused:
        deployable_clusters(spec_from_config(values))
    for message in power_findings(values):
        assert message.removesuffix(" (site power tree from the stack's config)") in str(refused.value)


def test_the_site_tree_from_the_policy_config_overrides_the_stacks_own() -> None:
    # The stack raised its own row budget to fit; the site owner's tree says 25 kW.
    inflated, site = with_row_budget(LOCAL, 60), with_row_budget(LOCAL, 25)["site"]
    assert power_findings(inflated) == []
    [message] = power_findings(inflated, site)
    assert "row lab/hall-a/row-1 draws 31.5 kW rated, over its limit of 25.0 kW" in message
    assert message.endswith("(site power tree from the policy config)")


def test_a_stack_whose_hall_the_site_lacks_cannot_be_planned() -> None:
    site = copy.deepcopy(LOCAL["site"])
    site["halls"][0]["name"] = "hall-b"
    findings = power_findings(LOCAL, site)
    assert findings and all(f.startswith("cannot plan the stack against the site's power tree from the policy config") for f in findings)
    assert any("aion:clusters[0].hall" in f and "hall-a" in f for f in findings)


def test_tenants_allotted_more_than_the_site_fail_and_node_limits_do_not_count() -> None:
    values = copy.deepcopy(LOCAL)
    values["tenants"][0]["power_kw"] = 90  # site and hall budgets: 80 kW; row-1: 40 kW
    found = power_findings(values)
    assert [f.split(", over")[0] for f in found] == [
        "tenants are allotted 98.0 kW of site lab",
        "tenants are allotted 98.0 kW of hall lab/hall-a",
        "tenants are allotted 98.0 kW of row lab/hall-a/row-1",
    ]
    assert all(f.endswith("tenants drawing on it: kyutai, mistral-lab (site power tree from the stack's config)") for f in found)


def test_aion_values_decode_the_engines_config_map() -> None:
    config = {"aion:site": '{"name": "s"}', "aion:tenants": "[]", "kubernetes:context": "x", "aion:clusters": "not json"}
    assert aion_values(config) == {"site": {"name": "s"}, "clusters": "not json", "tenants": []}


# --- gpu-pool-no-public-ip ------------------------------------------------------


@pytest.mark.parametrize("public_ip_disabled", [False, None])
def test_a_gpu_pool_with_public_ips_is_refused(public_ip_disabled: bool | None) -> None:
    props = {"name": "h100", "nodeType": "H100-SXM-8-80G", "publicIpDisabled": public_ip_disabled}
    message = public_ip_finding("scaleway:kubernetes/pool:Pool", props)
    assert message is not None and message.startswith("GPU pool h100 (H100-SXM-8-80G) would give its nodes public IPs")


def test_private_gpu_pools_cpu_pools_and_other_types_pass() -> None:
    pool = "scaleway:kubernetes/pool:Pool"
    assert public_ip_finding(pool, {"name": "h100", "nodeType": "H100-SXM-8-80G", "publicIpDisabled": True}) is None
    assert public_ip_finding(pool, {"name": "system", "nodeType": "POP2-4C-16G", "publicIpDisabled": False}) is None
    assert public_ip_finding("scaleway:kubernetes/cluster:Cluster", {"nodeType": "H100-SXM-8-80G"}) is None
    legacy = "scaleway:index/kubernetesNodePool:KubernetesNodePool"
    assert public_ip_finding(legacy, {"name": "l4", "nodeType": "L4-1-24G", "publicIpDisabled": False}) is not None


# --- tenant-namespace-fenced ----------------------------------------------------

PROVIDER = "urn:pulumi:t::p::pulumi:providers:kubernetes::local-k8s"
TYPES = {
    "Namespace": "kubernetes:core/v1:Namespace",
    "ResourceQuota": "kubernetes:core/v1:ResourceQuota",
    "NetworkPolicy": "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "ServiceAccount": "kubernetes:core/v1:ServiceAccount",
    "Role": "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "RoleBinding": "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    "LimitRange": "kubernetes:core/v1:LimitRange",
}


def seen(obj: dict[str, Any], provider: str = PROVIDER) -> Seen:
    meta = obj["metadata"]
    name = "-".join(p for p in ("t", obj["kind"].lower(), meta.get("namespace"), meta["name"]) if p)
    return Seen(TYPES[obj["kind"]], name, f"urn:pulumi:t::p::{TYPES[obj['kind']]}::{name}", obj, provider)


def tenant(name: str = "kyutai", provider: str = PROVIDER) -> list[Seen]:
    """Exactly the objects the platform's Tenant component creates."""
    return [seen(obj, provider) for obj in tenant_objects(tenant_view(name, gpus=12))]


def test_the_platforms_own_tenants_are_fenced() -> None:
    assert isolation_findings(tenant("kyutai") + tenant("mistral-lab")) == []


def test_a_tenant_without_a_quota_is_named() -> None:
    resources = [r for r in tenant() if r.type != TYPES["ResourceQuota"]]
    [finding] = isolation_findings(resources)
    assert finding.message == "tenant namespace kyutai has no ResourceQuota with a hard requests.nvidia.com/gpu"
    assert finding.urn.endswith("::t-namespace-kyutai")


def test_a_quota_without_a_gpu_cap_does_not_count() -> None:
    resources = tenant()
    quota = next(r for r in resources if r.type == TYPES["ResourceQuota"])
    props = copy.deepcopy(dict(quota.props))
    del props["spec"]["hard"]["requests.nvidia.com/gpu"]
    resources[resources.index(quota)] = Seen(quota.type, quota.name, quota.urn, props, PROVIDER)
    assert [f.message for f in isolation_findings(resources)] == [
        "tenant namespace kyutai has no ResourceQuota with a hard requests.nvidia.com/gpu"
    ]


def test_allow_rules_without_a_default_deny_do_not_count() -> None:
    resources = [r for r in tenant() if not r.name.endswith("default-deny")]
    assert [f.message for f in isolation_findings(resources)] == [
        "tenant namespace kyutai has no default-deny NetworkPolicy (empty podSelector, policyTypes Ingress and Egress, no rules)"
    ]


def test_fences_count_only_through_the_same_cluster_provider() -> None:
    other = "urn:pulumi:t::p::pulumi:providers:kubernetes::other-k8s"
    namespace_on_other_cluster = [r for r in tenant(provider=other) if r.type == TYPES["Namespace"]]
    fences_on_local = [r for r in tenant() if r.type != TYPES["Namespace"]]
    assert len(isolation_findings(namespace_on_other_cluster + fences_on_local)) == 2


def test_namespaces_without_the_tenant_label_are_not_tenants() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "aion-system"}}
    assert isolation_findings([seen(ns)]) == []


# --- kubeconfig-is-secret -------------------------------------------------------


def stack(outputs: dict[str, Any]) -> Seen:
    return Seen("pulumi:pulumi:Stack", "p-t", "urn:pulumi:t::p::pulumi:pulumi:Stack::p-t", outputs)


def test_a_plain_text_kubeconfig_output_is_refused() -> None:
    [finding] = kubeconfig_findings([stack({"train-1-kubeconfig": KUBECONFIG, "plan": {"rated_it_kw": 1.0}})])
    assert finding.message == "stack output train-1-kubeconfig holds a kubeconfig in plain text: wrap it in pulumi.Output.secret"


def test_secret_kubeconfigs_and_kubeconfig_paths_pass() -> None:
    assert kubeconfig_findings([stack({"train-1-kubeconfig": secret(KUBECONFIG), "local-kubeconfig": "/state/local/kubeconfig"})]) == []
    # A secret whose value is not known yet (preview) is still a secret.
    assert kubeconfig_findings([stack({"train-1-kubeconfig": secret(UNKNOWN_WIRE)})]) == []


def test_an_unknown_kubeconfig_not_declared_secret_is_refused() -> None:
    assert len(kubeconfig_findings([stack({"train-1-kubeconfig": UNKNOWN_WIRE})])) == 1


def test_providers_and_kapsule_clusters() -> None:
    plain_provider = Seen("pulumi:providers:kubernetes", "k8s", "urn:k8s", {"kubeconfig": KUBECONFIG})
    secret_provider = Seen("pulumi:providers:kubernetes", "k8s2", "urn:k8s2", {"kubeconfig": secret(KUBECONFIG)})
    path_provider = Seen("pulumi:providers:kubernetes", "local", "urn:local", {"kubeconfig": "/tmp/kubeconfig"})
    kapsule = Seen(
        "scaleway:kubernetes/cluster:Cluster",
        "train-1-cluster",
        "urn:cluster",
        {"kubeconfigs": [{"configFile": KUBECONFIG}]},
        additional_secret_outputs=frozenset({"kubeconfigs"}),
    )
    leaky_kapsule = Seen("scaleway:kubernetes/cluster:Cluster", "leaky", "urn:leaky", {"kubeconfigs": [{"configFile": KUBECONFIG}]})
    findings = kubeconfig_findings([plain_provider, secret_provider, path_provider, kapsule, leaky_kapsule])
    assert [f.urn for f in findings] == ["urn:k8s", "urn:leaky"]
    assert findings[0].message.startswith("pulumi:providers:kubernetes k8s: property kubeconfig holds a kubeconfig in plain text")


# --- the wire view ---------------------------------------------------------------


def test_the_wire_view_unwraps_secrets_and_marks_unknowns() -> None:
    resource = from_wire(
        {
            "type": "pulumi:pulumi:Stack",
            "urn": "urn:s",
            "name": "s",
            "properties": {"a": secret({"b": [1, UNKNOWN_WIRE]}), "c": "x"},
            "options": {"additionalSecretOutputs": ["c"]},
            "provider": {"urn": "urn:p"},
        }
    )
    assert resource.value("a", "b", 0) == 1
    assert resource.value("a", "b", 1) is UNKNOWN
    assert resource.value("a", "missing") is None
    assert resource.is_secret("a") and resource.is_secret("c")
    assert resource.provider_urn == "urn:p"
    assert plain(secret(secret("x"))) == "x"


def test_with_the_site_document_two_stacks_that_each_fit_are_refused(tmp_path: Path) -> None:
    """Two inline stacks, each of one cluster of the hall: alone each fits; planned among the site, neither does."""
    from support import one_hall_two_stacks

    one_hall_two_stacks(tmp_path)
    document = yaml.safe_load((tmp_path / "sites/dc.yaml").read_text())
    for own in document["clusters"]:
        values = {"site": document["site"], "clusters": [own]}
        assert power_findings(values) == []
        [message] = power_findings(values, site_document=document)
        assert message.startswith("hall dc/hall-1 draws 5,800.1 kW rated, over its limit of 4,400.0 kW")
        assert message.endswith("clusters drawing on it: train-a, train-b (site power tree from the site document in the policy config)")


def with_pod_security(resources: list[Seen], labels: dict[str, str] | None) -> list[Seen]:
    namespace = next(r for r in resources if r.type == TYPES["Namespace"])
    props = copy.deepcopy(dict(namespace.props))
    props["metadata"]["labels"] = {k: v for k, v in props["metadata"]["labels"].items() if not k.startswith("pod-security")}
    props["metadata"]["labels"].update(labels or {})
    return [Seen(r.type, r.name, r.urn, props, PROVIDER) if r is namespace else r for r in resources]


def test_tenant_namespaces_enforce_restricted_pod_security_unless_allowed() -> None:
    assert pod_security_findings(tenant("kyutai"), {}) == []
    baseline = with_pod_security(tenant("kyutai"), {"pod-security.kubernetes.io/enforce": "baseline"})
    [finding] = pod_security_findings(baseline, {})
    assert finding.message == (
        "tenant namespace kyutai enforces Pod Security 'baseline', which the pack's config does not allow it (allowed: restricted); "
        "once reviewed, allow it with tenant-pod-security: {allowed: {kyutai: baseline}}"
    )
    assert pod_security_findings(baseline, {"kyutai": "baseline"}) == pod_security_findings(baseline, {"kyutai": "privileged"}) == []
    assert len(pod_security_findings(baseline, {"mistral-lab": "privileged"})) == 1  # another tenant's allowance is not its own


def test_a_tenant_namespace_without_an_enforce_label_runs_privileged_and_fails() -> None:
    [finding] = pod_security_findings(with_pod_security(tenant("kyutai"), None), {"kyutai": "baseline"})
    assert "enforces Pod Security 'privileged'" in finding.message and "(allowed: baseline)" in finding.message
