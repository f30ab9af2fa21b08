"""A tenant's namespace and what fences it in, as plain Kubernetes objects.

Built from the tenant's part of the cluster view only; `components.Tenant` turns them into resources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import Problem
from ..keys import key_path
from ..labels import GPU_RESOURCE, PREFIX, pod_security_levels
from ..view import TenantView
from .quantities import binary_quantity

TENANT_LABEL = f"{PREFIX}/tenant"
ROLE = "tenant-edit"
QUOTA = "tenant-quota"
PRIORITY_QUOTA = "tenant-priority-classes"
LIMIT_RANGE = "tenant-defaults"
# Requests given to containers that set none, so the quota still counts them.
DEFAULT_REQUESTS = {"cpu": "250m", "memory": "256Mi"}
# One policy for every tenant namespace (those labelled with TENANT_LABEL): no Secret of this type.
TOKEN_SECRET_POLICY = "aion-tenant-no-service-account-token-secrets"
SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"
ADMISSION_API = "admissionregistration.k8s.io/v1"

_EDIT = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
_READ = ("get", "list", "watch")
# Our own Role rather than the built-in `edit` ClusterRole, and never wider than it (upstream:
# kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go, `edit` = aggregate-to-edit
# + aggregate-to-view). Narrower where `edit` crosses the tenant's fence: it may rewrite
# NetworkPolicies (that would undo the default deny below), and Endpoints and EndpointSlices stay
# read-only: writing one points a Service at any address, another tenant's pods included
# (CVE-2021-25740, kubernetes/kubernetes#103675; upstream `edit` dropped endpoints write in 1.22).
# Nothing here is cluster-scoped: it is a Role, bound in the tenant's namespace only.
_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "",
        (
            "configmaps",
            "persistentvolumeclaims",
            "pods",
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "secrets",
            "serviceaccounts",
            "services",
        ),
        _EDIT,
    ),
    ("", ("endpoints", "events", "limitranges", "pods/log", "resourcequotas"), _READ),
    ("discovery.k8s.io", ("endpointslices",), _READ),
    ("apps", ("deployments", "deployments/scale", "replicasets", "statefulsets", "statefulsets/scale"), _EDIT),
    ("batch", ("cronjobs", "jobs"), _EDIT),
    ("autoscaling", ("horizontalpodautoscalers",), _EDIT),
    ("policy", ("poddisruptionbudgets",), _EDIT),
    ("kueue.x-k8s.io", ("localqueues", "workloads"), _READ),
)


def tenant_objects(tenant: TenantView) -> list[dict[str, Any]]:
    """Namespace first: every other object lives in it."""
    ns = tenant.namespace
    return [
        namespace(tenant),
        # The identity the tenant's pipelines deploy with, bound to the same Role as its group.
        _object("v1", "ServiceAccount", service_account(tenant), ns),
        {**_object("rbac.authorization.k8s.io/v1", "Role", ROLE, ns), "rules": role_rules()},
        role_binding(tenant),
        *network_policies(ns),
        resource_quota(tenant),
        priority_class_quota(tenant),
        limit_range(tenant),
    ]


def foreign_namespaces(tenants: Iterable[TenantView], live: Mapping[str, Mapping[str, str]], cluster: str) -> list[Problem]:
    """Tenant namespaces that exist on the cluster (`live`: name -> labels) but are not the tenant's own.

    The stack applies a tenant's namespace over whatever holds its name: the tenant's group would read
    that namespace's Secrets, and removing the tenant would delete it. Ours carry TENANT_LABEL with the
    tenant's name (a namespace an earlier deploy made); anything else is refused by name, never adopted.
    """
    return [
        Problem(
            key_path(["tenants", tenant.index, "name"]),
            f"namespace {tenant.namespace!r} already exists on cluster {cluster} without the label {TENANT_LABEL}={tenant.name} "
            "that the toolkit puts on a tenant's namespace: the tenant would take it over (its group reading the namespace's "
            "Secrets, a removed tenant deleting it); allowed: a name no namespace of the cluster has, or that namespace removed first",
        )
        for tenant in tenants
        if tenant.namespace in live and live[tenant.namespace].get(TENANT_LABEL) != tenant.name
    ]


def service_account(tenant: TenantView) -> str:
    return tenant.name


def namespace(tenant: TenantView) -> dict[str, Any]:
    """The tenant's Pod Security level in every mode; `platform_manifest` pins their version to the cluster's minor."""
    labels = {TENANT_LABEL: tenant.name, **pod_security_levels(tenant.pod_security)}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": tenant.namespace, "labels": labels}}


def role_rules() -> list[dict[str, Any]]:
    # Fresh lists for every object: shared ones would alias across tenants.
    return [{"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)} for group, resources, verbs in _RULES]


def role_binding(tenant: TenantView) -> dict[str, Any]:
    ns = tenant.namespace
    rbac = "rbac.authorization.k8s.io"
    return {
        **_object(f"{rbac}/v1", "RoleBinding", ROLE, ns),
        "roleRef": {"apiGroup": rbac, "kind": "Role", "name": ROLE},
        "subjects": [
            {"apiGroup": rbac, "kind": "Group", "name": tenant.group},
            {"kind": "ServiceAccount", "name": service_account(tenant), "namespace": ns},
        ],
    }


def network_policies(ns: str) -> list[dict[str, Any]]:
    """Deny everything, then let pods talk among themselves and resolve names."""
    dns = {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    return [
        _policy(ns, "default-deny", {"policyTypes": ["Ingress", "Egress"]}),
        _policy(
            ns,
            "allow-same-namespace",
            {"policyTypes": ["Ingress", "Egress"], "ingress": [{"from": [{"podSelector": {}}]}], "egress": [{"to": [{"podSelector": {}}]}]},
        ),
        _policy(ns, "allow-dns", {"policyTypes": ["Egress"], "egress": [dns]}),
    ]


def resource_quota(tenant: TenantView) -> dict[str, Any]:
    """The API server's hard cap: GPUs up to the tenant's ceiling, so borrowing stays possible and nothing more;
    cpu, memory, pods and storage; and counts of the objects that cost the cluster or open it up. LoadBalancer
    and NodePort Services are none by default: each puts a port or a public address in front of the tenant's
    pods, past the NetworkPolicies (the quota counts a LoadBalancer's node ports as node ports too)."""
    objects = tenant.object_quotas
    hard = {
        f"requests.{GPU_RESOURCE}": str(tenant.gpu_ceiling),
        "requests.cpu": str(tenant.cpu_quota),
        "requests.memory": binary_quantity(tenant.memory_quota_gib),
        "pods": str(tenant.pods_quota),
        "requests.storage": binary_quantity(tenant.storage_quota_gib),
        "persistentvolumeclaims": str(objects.persistentvolumeclaims),
        "services": str(objects.services),
        "services.loadbalancers": str(objects.loadbalancers),
        "services.nodeports": str(objects.nodeports),
        "configmaps": str(objects.configmaps),
        "secrets": str(objects.secrets),
    }
    return {**_object("v1", "ResourceQuota", QUOTA, tenant.namespace), "spec": {"hard": hard}}


def priority_class_quota(tenant: TenantView) -> dict[str, Any]:
    """No pod with a PriorityClass outside the tenant's set: zero pods for every other class.

    A ResourceQuota scoped by PriorityClass, the upstream way to limit who uses a class
    (kubernetes.io/docs/concepts/policy/resource-quotas/#limit-priority-class-consumption-by-default),
    rather than a ValidatingAdmissionPolicy: it sits in the tenant's namespace with the rest of its
    fence, needs no cluster-wide policy, binding and parameter object per tenant, and every API
    server enforces it. Since Kubernetes 1.17 any namespace may use the `system-*` classes unless a
    quota says otherwise, so this also keeps tenants off system-node-critical. Pods without a class
    (none of ours is the global default) are outside its scope (`Exists`).
    """
    match: list[dict[str, Any]] = [{"scopeName": "PriorityClass", "operator": "Exists"}]
    if tenant.priority_classes:
        match.append({"scopeName": "PriorityClass", "operator": "NotIn", "values": list(tenant.priority_classes)})
    spec = {"hard": {"pods": "0"}, "scopeSelector": {"matchExpressions": match}}
    return {**_object("v1", "ResourceQuota", PRIORITY_QUOTA, tenant.namespace), "spec": spec}


def limit_range(tenant: TenantView) -> dict[str, Any]:
    """Default requests, and the largest container: the API server refuses one above it at once, where it
    would otherwise wait Pending for a node that does not exist. A maximum makes a limit compulsory, so
    containers that set none get the maximum as their limit: never below a request the maximum allows."""
    largest = {"cpu": str(tenant.container_max_cpu), "memory": binary_quantity(tenant.container_max_memory_gib)}
    container = {"type": "Container", "defaultRequest": dict(DEFAULT_REQUESTS), "default": dict(largest), "max": dict(largest)}
    return {**_object("v1", "LimitRange", LIMIT_RANGE, tenant.namespace), "spec": {"limits": [container]}}


def service_account_token_policy() -> list[dict[str, Any]]:
    """No Secret of type kubernetes.io/service-account-token in a tenant namespace (policy, then its binding).

    Kubernetes fills such a Secret with a token of the ServiceAccount it names that never expires: the
    tenant's pipeline identity would outlive the revocation of whoever made it (a member leaving the
    group). Neither the Role (it grants Secrets, and RBAC cannot tell their types apart) nor a quota
    (object counts take no type) can refuse it; a ValidatingAdmissionPolicy can. Tenants ask for
    short-lived tokens instead (a projected volume, `kubectl create token` by whoever may).
    """
    rules = [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["secrets"]}]
    validation = {
        "expression": f"!has(object.type) || object.type != '{SERVICE_ACCOUNT_TOKEN}'",
        "message": f"a {SERVICE_ACCOUNT_TOKEN} Secret holds a token that never expires; tenants use projected, expiring tokens",
        "reason": "Forbidden",
    }
    policy = {
        "apiVersion": ADMISSION_API,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": TOKEN_SECRET_POLICY},
        "spec": {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": rules}, "validations": [validation]},
    }
    tenants = {"namespaceSelector": {"matchExpressions": [{"key": TENANT_LABEL, "operator": "Exists"}]}}
    binding = {
        "apiVersion": ADMISSION_API,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": TOKEN_SECRET_POLICY},
        "spec": {"policyName": TOKEN_SECRET_POLICY, "validationActions": ["Deny"], "matchResources": tenants},
    }
    return [policy, binding]


def _policy(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {**_object("networking.k8s.io/v1", "NetworkPolicy", name, ns), "spec": {"podSelector": {}, **spec}}


def _object(api_version: str, kind: str, name: str, ns: str) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": ns}}
