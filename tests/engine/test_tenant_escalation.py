"""A tenant tries to leave its namespace, with its own identity, against the real API server:
every attempt is refused (RBAC's 403, ResourceQuota's, LimitRange's, Pod Security's or a
ValidatingAdmissionPolicy's, each with the API server's message), and what it may do still works.

The tenant `kyutai` of the local stack, its group `kyutai-ml` and its pipelines' ServiceAccount,
allowed the PriorityClasses `training` and `batch` only (the default; the local stack grants it
`inference`). And a stack whose tenant is named like a namespace that exists already is refused
before any resource, the namespace left as it was.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config

from engine_support import PulumiProject, stack_values, wait_for
from support import ROOT

LOCAL_STACK = ROOT / "stacks/Pulumi.local.yaml"
TENANT, OTHER, GROUP = "kyutai", "mistral-lab", "kyutai-ml"
IDENTITIES = {
    "group member": {"Impersonate-User": "alice@kyutai", "Impersonate-Group": GROUP},
    "service account": {"Impersonate-User": f"system:serviceaccount:{TENANT}:{TENANT}"},
}


@pytest.fixture(scope="module")
def project(new_project: Any, api_client: Any) -> Iterator[PulumiProject]:
    values = copy.deepcopy(stack_values(LOCAL_STACK))
    kyutai = next(t for t in values["tenants"] if t["name"] == TENANT)
    kyutai.update(group=GROUP, priority_classes=["training", "batch"])
    project = new_project("escalation", values)
    project.pulumi("up", "--yes", "--skip-preview")
    core = client.CoreV1Api(api_client)
    wait_for(lambda: core.read_namespaced_service_account("default", TENANT), what="tenant namespace ready")
    # The API server loads an admission policy and its binding a moment after they are written.
    wait_for(lambda: token_secret_refused(core), what="the token Secret policy enforced")
    yield project
    project.pulumi("destroy", "--yes", "--skip-preview", check=False)


@pytest.fixture(params=sorted(IDENTITIES))
def tenant(request: pytest.FixtureRequest, project: PulumiProject, control_plane: Any) -> client.ApiClient:
    """An API client that acts as the tenant (the control plane's admin impersonates it)."""
    api = config.new_client_from_config(config_file=str(control_plane.kubeconfig))
    for header, value in IDENTITIES[request.param].items():
        api.set_default_header(header, value)
    return api


def token_secret(name: str) -> dict[str, Any]:
    """A Secret that Kubernetes fills with a never-expiring token of the tenant's ServiceAccount."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "annotations": {"kubernetes.io/service-account.name": TENANT}},
        "type": "kubernetes.io/service-account-token",
    }


def token_secret_refused(core: client.CoreV1Api) -> bool:
    try:
        core.create_namespaced_secret(TENANT, token_secret("probe"), dry_run="All")
    except client.ApiException as error:
        return error.status == 403
    return False


def refused(call: Callable[[], Any]) -> client.ApiException:
    with pytest.raises(client.ApiException) as caught:
        call()
    assert caught.value.status == 403, caught.value.body
    return caught.value


def pod(name: str, priority_class: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "main",
                "image": "registry.invalid/app:1",
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    }
    if priority_class:
        spec["priorityClassName"] = priority_class
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def test_the_tenant_may_run_pods_in_its_own_namespace(tenant: client.ApiClient) -> None:
    core = client.CoreV1Api(tenant)
    assert core.create_namespaced_pod(TENANT, pod("plain"), dry_run="All").metadata.namespace == TENANT
    assert core.create_namespaced_pod(TENANT, pod("train", "training"), dry_run="All").spec.priority_class_name == "training"


@pytest.mark.parametrize("priority_class", ["inference", "system-node-critical", "system-cluster-critical"])
def test_a_priority_class_outside_the_tenants_set_is_refused(tenant: client.ApiClient, priority_class: str) -> None:
    error = refused(lambda: client.CoreV1Api(tenant).create_namespaced_pod(TENANT, pod("jump", priority_class)))
    assert "exceeded quota: tenant-priority-classes" in error.body


def test_endpoints_and_endpointslices_are_read_only(tenant: client.ApiClient) -> None:
    target = {"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}
    endpoints = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "steal"}, "subsets": [target]}
    refused(lambda: client.CoreV1Api(tenant).create_namespaced_endpoints(TENANT, endpoints))
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "steal", "labels": {"kubernetes.io/service-name": "svc"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.1"]}],
    }
    refused(lambda: client.DiscoveryV1Api(tenant).create_namespaced_endpoint_slice(TENANT, slice_))
    assert client.CoreV1Api(tenant).list_namespaced_endpoints(TENANT) is not None  # reading its own is fine


def test_binding_itself_to_cluster_admin_is_refused(tenant: client.ApiClient) -> None:
    rbac = client.RbacAuthorizationV1Api(tenant)
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "promote"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": GROUP}],
    }
    refused(lambda: rbac.create_namespaced_role_binding(TENANT, binding))
    cluster_binding = {**binding, "kind": "ClusterRoleBinding"}
    refused(lambda: rbac.create_cluster_role_binding(cluster_binding))


def test_its_own_fence_cannot_be_lowered(tenant: client.ApiClient) -> None:
    refused(lambda: client.NetworkingV1Api(tenant).delete_namespaced_network_policy("default-deny", TENANT))
    patch = {"spec": {"hard": {"pods": "100"}}}
    refused(lambda: client.CoreV1Api(tenant).patch_namespaced_resource_quota("tenant-priority-classes", TENANT, patch))
    refused(
        lambda: client.CoreV1Api(tenant).patch_namespace(
            TENANT, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}
        )
    )


def test_another_tenants_namespace_and_cluster_scope_are_out_of_reach(tenant: client.ApiClient) -> None:
    core = client.CoreV1Api(tenant)
    refused(lambda: core.list_namespaced_pod(OTHER))
    refused(lambda: core.list_namespaced_secret(OTHER))
    refused(lambda: core.create_namespaced_pod(OTHER, pod("intruder"), dry_run="All"))
    refused(lambda: core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "escape"}}))
    refused(lambda: core.list_node())
    priority = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "mine"}, "value": 10**6}
    refused(lambda: client.SchedulingV1Api(tenant).create_priority_class(priority))


def test_a_privileged_pod_is_refused_by_pod_security(tenant: client.ApiClient) -> None:
    escape = pod("escape")
    escape["spec"].update(hostNetwork=True, hostPID=True)
    escape["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    message = json.loads(refused(lambda: client.CoreV1Api(tenant).create_namespaced_pod(TENANT, escape)).body)["message"]
    assert 'violates PodSecurity "restricted:v1.35"' in message
    assert "hostNetwork=true" in message and "hostPID=true" in message and "securityContext.privileged=true" in message


def test_a_container_larger_than_any_node_is_refused_by_the_limit_range(tenant: client.ApiClient) -> None:
    # The local stack's largest node: an H100-SXM-8-80G, 128 vCPUs (data/catalog.yaml).
    huge = pod("huge")
    huge["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "200"}, "limits": {"cpu": "200"}}
    error = refused(lambda: client.CoreV1Api(tenant).create_namespaced_pod(TENANT, huge))
    assert "maximum cpu usage per Container is 128, but limit is 200" in error.body


def service(name: str, kind: str) -> dict[str, Any]:
    spec = {"type": kind, "selector": {"app": "serve"}, "ports": [{"port": 80, "targetPort": 8080}]}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def test_loadbalancer_and_nodeport_services_are_over_quota_and_cluster_ips_are_not(tenant: client.ApiClient) -> None:
    core = client.CoreV1Api(tenant)
    error = refused(lambda: core.create_namespaced_service(TENANT, service("public", "LoadBalancer")))
    assert "exceeded quota: tenant-quota" in error.body and "limited: " in error.body
    assert "services.loadbalancers=1" in error.body  # requested: one; the quota holds none
    error = refused(lambda: core.create_namespaced_service(TENANT, service("port", "NodePort")))
    assert "exceeded quota: tenant-quota, requested: services.nodeports=1" in error.body
    assert core.create_namespaced_service(TENANT, service("inside", "ClusterIP"), dry_run="All").spec.type == "ClusterIP"


def test_a_service_account_token_secret_is_refused_and_other_secrets_are_not(tenant: client.ApiClient) -> None:
    core = client.CoreV1Api(tenant)
    error = refused(lambda: core.create_namespaced_secret(TENANT, token_secret("forever")))
    assert "ValidatingAdmissionPolicy 'aion-tenant-no-service-account-token-secrets'" in error.body
    assert "a kubernetes.io/service-account-token Secret holds a token that never expires" in error.body
    opaque = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"key": "value"}}
    assert core.create_namespaced_secret(TENANT, opaque, dry_run="All").type == "Opaque"


def test_a_tenant_named_like_an_existing_namespace_is_refused_before_any_resource(new_project: Any, api_client: Any) -> None:
    core = client.CoreV1Api(api_client)
    squatted = "team-tools"  # an operator's namespace, not the toolkit's
    core.create_namespace({"metadata": {"name": squatted, "labels": {"owner": "ops"}}})
    try:
        core.create_namespaced_secret(squatted, {"metadata": {"name": "ops-token"}, "stringData": {"token": "s3cret"}})
        values = copy.deepcopy(stack_values(LOCAL_STACK))
        values["tenants"] = [{"name": squatted, "power_kw": 8, "clusters": [values["clusters"][0]["name"]], "group": GROUP}]
        project = new_project("takeover", values)
        result = project.pulumi("up", "--yes", "--skip-preview", check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "a target would refuse the clusters; nothing was deployed:" in output
        refusal = f"aion:tenants[0].name: namespace {squatted!r} already exists on cluster local without the label "
        assert f"{refusal}aion-factory.io/tenant={squatted}" in output
        after = core.read_namespace(squatted)
        assert {k: v for k, v in (after.metadata.labels or {}).items() if k != "kubernetes.io/metadata.name"} == {"owner": "ops"}
        assert client.RbacAuthorizationV1Api(api_client).list_namespaced_role_binding(squatted).items == []
        assert [s.metadata.name for s in core.list_namespaced_secret(squatted).items] == ["ops-token"]
        exported = project.pulumi("stack", "export").stdout
        assert "kubernetes:" not in exported  # nothing registered
    finally:
        core.delete_namespace(squatted)
