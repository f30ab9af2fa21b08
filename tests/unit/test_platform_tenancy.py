"""Tenant objects from the cluster view: namespace, access, network fence, quota, defaults."""

from typing import Any

import pytest
from kube_validation import assert_valid_builtin

from aion_factory import load_stack_file, make_plan, spec_from_config
from aion_factory.labels import GPU_RESOURCE
from aion_factory.platform import queues, tenancy
from support import ROOT, view_of

SPEC = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
PLAN = make_plan(SPEC)
VIEW = view_of(SPEC, "local")


def tenant_view(name: str, view: Any = VIEW) -> Any:
    return next(t for t in view.tenants if t.name == name)


def objects_of(name: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in tenancy.tenant_objects(tenant_view(name))}


@pytest.mark.parametrize("name", ["kyutai", "mistral-lab"])
def test_every_object_is_valid_and_lives_in_the_tenant_namespace(name: str):
    objects = objects_of(name)
    assert sorted(objects) == sorted(
        [
            ("Namespace", name),
            ("ServiceAccount", name),
            ("Role", "tenant-edit"),
            ("RoleBinding", "tenant-edit"),
            ("NetworkPolicy", "default-deny"),
            ("NetworkPolicy", "allow-same-namespace"),
            ("NetworkPolicy", "allow-dns"),
            ("ResourceQuota", "tenant-quota"),
            ("ResourceQuota", "tenant-priority-classes"),
            ("LimitRange", "tenant-defaults"),
        ]
    )
    for (kind, _), obj in objects.items():
        assert_valid_builtin(obj)
        if kind != "Namespace":
            assert obj["metadata"]["namespace"] == name


def test_the_gpu_quota_is_the_tenants_ceiling_quota_plus_borrowing():
    for tenant in SPEC.tenants:
        hard = objects_of(tenant.name)[("ResourceQuota", "tenant-quota")]["spec"]["hard"]
        planned = PLAN.tenant(tenant.name)
        ceiling = sum(planned.quotas_by_cluster["local"].values()) + sum(planned.borrowing_by_cluster["local"].values())
        assert hard == {
            f"requests.{GPU_RESOURCE}": str(ceiling),
            "requests.cpu": str(tenant.cpu_quota),
            "requests.memory": "2Ti",  # the default 2,048 GiB, in the form the API server stores
            "pods": str(tenant.pods_quota),
            # The spec's defaults: 10 TiB of volumes, no LoadBalancer and no NodePort.
            "requests.storage": "10Ti",
            "persistentvolumeclaims": "100",
            "services": "100",
            "services.loadbalancers": "0",
            "services.nodeports": "0",
            "configmaps": "1000",
            "secrets": "1000",
        }
        # Never more than the cluster has.
        assert tenant_view(tenant.name).gpu_ceiling == ceiling <= PLAN.cluster("local").gpus


def test_the_memory_quota_is_one_quantity_in_the_resource_quota_and_the_cluster_queue():
    queues_by_tenant = {cq["metadata"]["name"]: cq for cq, _ in queues.queues_for(VIEW)}
    for tenant in SPEC.tenants:
        hard = objects_of(tenant.name)[("ResourceQuota", "tenant-quota")]["spec"]["hard"]
        cpu_memory = queues_by_tenant[tenant.name]["spec"]["resourceGroups"][0]["flavors"][0]["resources"]
        assert hard["requests.memory"] == next(r["nominalQuota"] for r in cpu_memory if r["name"] == "memory") == "2Ti"


def test_namespace_enforces_the_tenants_pod_security_level(config: dict[str, Any]):
    labels = objects_of("kyutai")[("Namespace", "kyutai")]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/audit"] == "restricted"
    config["tenants"][0].update(pod_security="baseline", pod_security_exception="legacy images run as root")
    tenant = tenant_view("t", view_of(spec_from_config(config), "c"))
    assert tenancy.namespace(tenant)["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def test_the_group_and_service_account_get_the_tenant_role_in_its_namespace_only(config: dict[str, Any]):
    binding = objects_of("kyutai")[("RoleBinding", "tenant-edit")]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant-edit"}
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "kyutai"},  # no group set: the tenant's name
        {"kind": "ServiceAccount", "name": "kyutai", "namespace": "kyutai"},
    ]
    config["tenants"][0]["group"] = "t-ml"
    assert tenancy.role_binding(tenant_view("t", view_of(spec_from_config(config), "c")))["subjects"][0]["name"] == "t-ml"


def test_the_role_cannot_undo_its_own_fences():
    rules = objects_of("kyutai")[("Role", "tenant-edit")]["rules"]
    writable = {(group, resource) for r in rules if "create" in r["verbs"] for group in r["apiGroups"] for resource in r["resources"]}
    assert ("", "pods") in writable and ("batch", "jobs") in writable
    for fence in [("networking.k8s.io", "networkpolicies"), ("", "resourcequotas"), ("", "limitranges"), ("", "namespaces")]:
        assert fence not in writable
    assert not any(group.startswith("rbac") for group, _ in writable)


def test_network_policies_deny_by_default_then_allow_the_namespace_and_dns():
    objects = objects_of("kyutai")
    deny = objects[("NetworkPolicy", "default-deny")]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    same = objects[("NetworkPolicy", "allow-same-namespace")]["spec"]
    assert same["ingress"] == [{"from": [{"podSelector": {}}]}] and same["egress"] == [{"to": [{"podSelector": {}}]}]
    [dns] = objects[("NetworkPolicy", "allow-dns")]["spec"]["egress"]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert dns["to"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}


def test_limit_range_gives_requests_to_containers_without_them_and_caps_a_container_at_the_largest_node():
    limit_range = objects_of("kyutai")[("LimitRange", "tenant-defaults")]
    assert_valid_builtin(limit_range)
    [limits] = limit_range["spec"]["limits"]
    # The local stack's largest node: an H100-SXM-8-80G, 128 vCPUs and 960 GiB (data/catalog.yaml).
    largest = {"cpu": "128", "memory": "960Gi"}
    assert limits == {"type": "Container", "defaultRequest": {"cpu": "250m", "memory": "256Mi"}, "default": largest, "max": largest}


def test_object_counts_storage_and_container_maxima_come_from_the_spec(config: dict[str, Any]):
    config["tenants"][0].update(
        storage_quota_gib=500,
        object_quotas={"loadbalancers": 2, "nodeports": 3, "services": 7, "persistentvolumeclaims": 9, "configmaps": 11, "secrets": 13},
        container_max_cpu=16,
        container_max_memory_gib=64,
    )
    tenant = tenant_view("t", view_of(spec_from_config(config), "c"))
    hard = tenancy.resource_quota(tenant)["spec"]["hard"]
    assert {key: hard[key] for key in hard if not key.startswith(("requests.cpu", "requests.memory", "requests.nvidia", "pods"))} == {
        "requests.storage": "500Gi",
        "services.loadbalancers": "2",
        "services.nodeports": "3",
        "services": "7",
        "persistentvolumeclaims": "9",
        "configmaps": "11",
        "secrets": "13",
    }
    [limits] = tenancy.limit_range(tenant)["spec"]["limits"]
    assert limits["max"] == limits["default"] == {"cpu": "16", "memory": "64Gi"}


def test_service_account_token_secrets_are_refused_in_every_tenant_namespace():
    policy, binding = tenancy.service_account_token_policy()
    assert_valid_builtin(policy)
    assert_valid_builtin(binding)
    [validation] = policy["spec"]["validations"]
    assert validation["expression"] == "!has(object.type) || object.type != 'kubernetes.io/service-account-token'"
    assert policy["spec"]["matchConstraints"]["resourceRules"][0]["resources"] == ["secrets"]
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert binding["spec"]["matchResources"] == {
        "namespaceSelector": {"matchExpressions": [{"key": "aion-factory.io/tenant", "operator": "Exists"}]}
    }
    assert tenancy.TENANT_LABEL in objects_of("kyutai")[("Namespace", "kyutai")]["metadata"]["labels"]


def test_only_tenants_of_the_cluster_are_on_it(config: dict[str, Any]):
    config["clusters"].append({**config["clusters"][0], "name": "c2", "subnet": "172.16.4.0/22"})
    config["tenants"].append({"name": "u", "power_kw": 5, "clusters": ["c2"]})
    spec = spec_from_config(config)
    assert [t.name for t in view_of(spec, "c").tenants] == ["t"]
    assert [t.name for t in view_of(spec, "c2").tenants] == ["u"]
    assert make_plan(spec).tenant("u").gpu_ceiling("c") == 0


def test_the_tenant_role_never_writes_endpoints_and_is_no_wider_than_upstream_edit():
    [role] = [o for o in tenancy.tenant_objects(tenant_view("kyutai")) if o["kind"] == "Role"]
    writes = {(rule["apiGroups"][0], r) for rule in role["rules"] if "create" in rule["verbs"] for r in rule["resources"]}
    # CVE-2021-25740: a tenant that writes Endpoints or EndpointSlices can point a Service at another tenant's pods.
    assert not writes & {("", "endpoints"), ("discovery.k8s.io", "endpointslices")}
    # What upstream `edit` may write (aggregate-to-edit, Kubernetes 1.35), less NetworkPolicies and ingresses.
    upstream_edit = {("", r) for r in ("pods", "pods/attach", "pods/exec", "pods/portforward", "configmaps", "persistentvolumeclaims")}
    upstream_edit |= {("", r) for r in ("secrets", "serviceaccounts", "services")}
    upstream_edit |= {("apps", r) for r in ("deployments", "deployments/scale", "replicasets", "statefulsets", "statefulsets/scale")}
    upstream_edit |= {("batch", "cronjobs"), ("batch", "jobs"), ("autoscaling", "horizontalpodautoscalers")}
    upstream_edit |= {("policy", "poddisruptionbudgets")}
    assert writes <= upstream_edit
    assert role["kind"] == "Role" and role["metadata"]["namespace"] == "kyutai"  # nothing cluster-scoped


def test_pods_may_use_only_the_tenants_priority_classes(config: dict[str, Any]):
    quota = objects_of("kyutai")[("ResourceQuota", "tenant-priority-classes")]
    assert_valid_builtin(quota)
    assert quota["spec"] == {
        "hard": {"pods": "0"},
        "scopeSelector": {
            "matchExpressions": [
                {"scopeName": "PriorityClass", "operator": "Exists"},
                # Granted `inference` by name in stacks/Pulumi.local.yaml.
                {"scopeName": "PriorityClass", "operator": "NotIn", "values": ["inference", "training", "batch"]},
            ]
        },
    }
    default = tenant_view("t", view_of(spec_from_config(config), "c"))
    assert tenancy.priority_class_quota(default)["spec"]["scopeSelector"]["matchExpressions"][1]["values"] == ["training", "batch"]
    config["tenants"][0]["priority_classes"] = []
    tenant = tenant_view("t", view_of(spec_from_config(config), "c"))
    assert tenancy.priority_class_quota(tenant)["spec"]["scopeSelector"]["matchExpressions"] == [
        {"scopeName": "PriorityClass", "operator": "Exists"}
    ]
