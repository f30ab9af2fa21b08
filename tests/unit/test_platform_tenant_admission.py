"""The admission policies of the tenant namespaces: which objects they judge, for whom, and what they say.

Their CEL is compiled by the real API server in tests/engine/test_hostile_tenant.py (an expression it
cannot compile is refused when the policy is created); here, what the builder renders.
"""

import copy
from typing import Any

import pytest
from kube_validation import assert_valid_builtin

from aion_factory import load_stack_file, spec_from_config
from aion_factory.platform import platform_manifest, tenant_admission
from aion_factory.platform.kueue_config import admission_policy
from aion_factory.spec import Kueue
from support import ROOT, view_of

LOCAL = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
POLICIES = ("aion-tenant-workloads", "aion-kueue-admission", "aion-tenant-services")


def rendered(view: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in tenant_admission.admission_policies(view)}


def variable(policy: dict[str, Any], name: str) -> str:
    return next(v["expression"] for v in policy["spec"]["variables"] if v["name"] == name)


def test_each_policy_is_bound_to_deny_and_every_object_is_a_valid_one():
    objects = tenant_admission.admission_policies(view_of(LOCAL, "local"))
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        (kind, name) for name in POLICIES for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
    ]
    for obj in objects:
        assert_valid_builtin(obj)
        if obj["kind"] == "ValidatingAdmissionPolicyBinding":
            assert obj["spec"] == {"policyName": obj["metadata"]["name"], "validationActions": ["Deny"]}
        else:
            assert obj["spec"]["failurePolicy"] == "Fail"  # an expression that errs refuses


def test_they_fence_exactly_the_namespaces_kueue_manages_never_the_systems_own():
    managed = admission_policy(Kueue())["managedJobsNamespaceSelector"]
    assert managed["matchExpressions"][0] == {"key": "aion-factory.io/tenant", "operator": "Exists"}
    assert managed["matchExpressions"][1]["operator"] == "NotIn"
    assert {"kube-system", "kueue-system", "aion-system"} <= set(managed["matchExpressions"][1]["values"])
    for name in POLICIES:
        assert (
            rendered(view_of(LOCAL, "local"))["ValidatingAdmissionPolicy", name]["spec"]["matchConstraints"]["namespaceSelector"] == managed
        )


def test_they_judge_what_tenants_write_and_trust_kueue_the_controllers_and_the_admins():
    for name in POLICIES:
        [condition] = rendered(view_of(LOCAL, "local"))["ValidatingAdmissionPolicy", name]["spec"]["matchConditions"]
        trusted = condition["expression"]
        assert trusted.startswith("!(")
        for who in (
            "'system:masters' in request.userInfo.groups",
            "'system:serviceaccount:kueue-system:'",
            "'system:serviceaccount:kube-system:'",
        ):
            assert who in trusted
        # A tenant's own ServiceAccount is in its namespace, never one of those.
        assert "system:serviceaccount:kyutai" not in trusted


def test_pods_and_every_kind_with_a_pod_template_a_tenant_may_write_are_judged():
    policy = rendered(view_of(LOCAL, "local"))["ValidatingAdmissionPolicy", "aion-tenant-workloads"]
    judged = {(g, r) for rule in policy["spec"]["matchConstraints"]["resourceRules"] for g in rule["apiGroups"] for r in rule["resources"]}
    # What the tenant Role lets it create (platform/tenancy.py) that makes pods.
    assert {
        ("", "pods"),
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("apps", "statefulsets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
    } <= judged
    assert all(rule["operations"] == ["CREATE", "UPDATE"] for rule in policy["spec"]["matchConstraints"]["resourceRules"])
    # Init containers count: a GPU they ask for is a GPU.
    assert "initContainers" in variable(policy, "containers")
    gate = rendered(view_of(LOCAL, "local"))["ValidatingAdmissionPolicy", "aion-kueue-admission"]
    assert "initContainers" in variable(gate, "containers")
    assert "requests" in variable(gate, "gpus") and "limits" in variable(gate, "gpus")


def test_each_tenants_kueue_priority_labels_are_its_own_priority_classes(config: dict[str, Any]):
    config = copy.deepcopy(config)
    config["tenants"] = [
        {**config["tenants"][0], "name": "first", "power_kw": 5, "priority_classes": ["training", "batch"]},
        {**config["tenants"][0], "name": "second", "power_kw": 5, "priority_classes": ["batch"]},
    ]
    spec = spec_from_config(config)
    policy = rendered(view_of(spec, "c"))["ValidatingAdmissionPolicy", "aion-tenant-workloads"]
    first, second = (t.name for t in spec.tenants[:2])
    grants = variable(policy, "grants")
    assert f'"{first}": ["training", "batch"]' in grants and f'"{second}": ["batch"]' in grants
    # A labelled namespace that is no tenant's gets no class at all.
    assert variable(policy, "allowed") == "request.namespace in variables.grants ? variables.grants[request.namespace] : []"


@pytest.mark.parametrize(
    ("policy", "says"),
    [
        (
            "aion-tenant-workloads",
            [
                "request nvidia.com/gpu",
                "request nvidia.com/gpu in its resources",
                "leave the label out",
                "(nvidia.com/gpu=present:NoSchedule): remove that toleration",
                "remove the kueue.x-k8s.io/prebuilt",
            ],
        ),
        (
            "aion-kueue-admission",
            ["run it as a Job, Deployment", "leave it out and Kueue sets it", "remove spec.nodeName", "wait for the pod's Workload"],
        ),
        ("aion-tenant-services", ["(CVE-2020-8554: it intercepts traffic meant for any address, other tenants' included): remove it"]),
    ],
)
def test_every_refusal_says_what_to_do_instead(policy: str, says: list[str]):
    validations = rendered(view_of(LOCAL, "local"))["ValidatingAdmissionPolicy", policy]["spec"]["validations"]
    assert len(validations) == len(says)
    for validation, text in zip(validations, says, strict=True):
        assert text in validation.get("messageExpression", validation["message"]), validation
        assert validation["reason"] == "Forbidden"


def test_the_platform_registers_them_before_any_tenant_object():
    kinds = [o["kind"] for o in platform_manifest(view_of(LOCAL, "local"), None).objects()]
    assert kinds[:6] == ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"] * 3
    assert kinds[6] == "Namespace"


def test_a_pod_asking_for_no_gpu_may_tolerate_no_gpu_pools_taint(config: dict[str, Any]):
    config = copy.deepcopy(config)
    config["clusters"][0]["pools"][0]["taints"] = [{"key": "gpu.example/h100", "effect": "NoExecute"}]
    policy = rendered(view_of(spec_from_config(config), "c"))["ValidatingAdmissionPolicy", "aion-tenant-workloads"]
    [rule] = [v for v in policy["spec"]["validations"] if "tolerations" in v["expression"]]
    # The pool's own taint, with kube-scheduler's wildcards: an empty key with Exists, an empty effect.
    assert 't.key == "gpu.example/h100"' in rule["expression"] and 't.effect == "NoExecute"' in rule["expression"]
    assert "(!has(t.key) || t.key == ''" in rule["expression"] and "(!has(t.effect) || t.effect == ''" in rule["expression"]
    assert rule["expression"].startswith("variables.gpus || ")  # a GPU pod tolerates what its flavor needs
    # Every GPU pool's: this one's own, the other's by default.
    assert "(gpu.example/h100:NoExecute, nvidia.com/gpu=present:NoSchedule)" in rule["message"]
