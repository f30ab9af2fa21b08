"""Rung 2: what ClusterPlatform registers for the local stack (two tenants, two GPU models), under mocks.

Every quota figure is compared with the planner's. Two programs only (pulumi/pulumi#7663).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from aion_factory import __version__, load_stack_file, make_plan
from aion_factory.labels import FLAVOR, GPU_RESOURCE, pool_selector, recommended_labels
from aion_factory.platform import ClusterPlatform, KueueInstall, PlatformArgs, PlatformChoices, StorageClassChoice, platform_manifest
from aion_factory.platform.install import helm_values
from aion_factory.platform.resources import FORCE_APPLY
from aion_factory.platform.tenancy import TOKEN_SECRET_POLICY
from aion_factory.spec import Kueue
from mocks_support import parent_types
from support import ROOT, view_of

SPEC = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
PLAN = make_plan(SPEC)
VIEW = view_of(SPEC, "local")
NAME = "local-platform"
TENANTS = ("kyutai", "mistral-lab")
KUEUE = "kubernetes:kueue.x-k8s.io/v1beta2"
CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
ADMISSION = "kubernetes:admissionregistration.k8s.io/v1"
TOKEN_POLICY = TOKEN_SECRET_POLICY


def deploy(kueue: KueueInstall, storage: StorageClassChoice | None) -> None:
    provider = k8s.Provider("k8s", kubeconfig="{}")
    args = PlatformArgs(VIEW, PlatformChoices(kueue, storage))
    ClusterPlatform(NAME, args, pulumi.ResourceOptions(providers={"kubernetes": provider}))


_RUNS: dict[str, tuple[Any, dict[str, str]]] = {}


@pytest.fixture
def local(run_program: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, str]]:
    """The local stack's platform, run once and shared by the tests that read it."""
    if "local" not in _RUNS:
        recorder = run_program(lambda: deploy(KueueInstall.present(), StorageClassChoice.local()))
        _RUNS["local"] = (recorder, parent_types())
    return _RUNS["local"]


def kinds(recorder: Any) -> dict[str, list[str]]:
    by_type: dict[str, list[str]] = {}
    for r in recorder.resources:
        by_type.setdefault(r.type, []).append(r.name)
    return by_type


def test_exactly_these_children(local: tuple[Any, dict[str, str]]):
    recorder, _ = local
    per_tenant = {
        "kubernetes:core/v1:Namespace": ["namespace-{t}"],
        "kubernetes:core/v1:ServiceAccount": ["serviceaccount-{t}-{t}"],
        "kubernetes:rbac.authorization.k8s.io/v1:Role": ["role-{t}-tenant-edit"],
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ["rolebinding-{t}-tenant-edit"],
        "kubernetes:networking.k8s.io/v1:NetworkPolicy": [
            f"networkpolicy-{{t}}-{p}" for p in ("default-deny", "allow-same-namespace", "allow-dns")
        ],
        "kubernetes:core/v1:ResourceQuota": ["resourcequota-{t}-tenant-quota", "resourcequota-{t}-tenant-priority-classes"],
        "kubernetes:core/v1:LimitRange": ["limitrange-{t}-tenant-defaults"],
    }
    expected = {kind: [f"{NAME}-{t}-{n.format(t=t)}" for t in TENANTS for n in names] for kind, names in per_tenant.items()}
    expected["kubernetes:core/v1:Namespace"].append(f"{NAME}-power-caps-namespace-aion-system")
    quotas = f"{NAME}-quotas"
    expected |= {
        "aion:platform:ClusterPlatform": [NAME],
        "aion:platform:Tenant": [f"{NAME}-{t}" for t in TENANTS],
        "aion:platform:PowerAwareQuotas": [quotas],
        "aion:platform:GpuPowerCaps": [f"{NAME}-power-caps"],
        "pulumi:providers:kubernetes": ["k8s"],
        "kubernetes:scheduling.k8s.io/v1:PriorityClass": [f"{quotas}-priorityclass-{c}" for c in ("inference", "training", "batch")],
        f"{KUEUE}:WorkloadPriorityClass": [f"{quotas}-workloadpriorityclass-{c}" for c in ("inference", "training", "batch")],
        f"{KUEUE}:ResourceFlavor": [f"{quotas}-resourceflavor-{f}" for f in ("default-flavor", "h100-sxm", "l40s")],
        f"{KUEUE}:Cohort": [f"{quotas}-cohort-lab", f"{quotas}-cohort-lab-hall-a"],
        f"{KUEUE}:ClusterQueue": [f"{quotas}-clusterqueue-{t}" for t in TENANTS],
        f"{KUEUE}:LocalQueue": [f"{quotas}-localqueue-{t}-default" for t in TENANTS],
        # Every GPU pool: h100 under its cap, l40s at its GPUs' default limit (a derate's cap ends there).
        "kubernetes:apps/v1:DaemonSet": [f"{NAME}-power-caps-daemonset-aion-system-gpu-power-cap-{p}" for p in ("h100", "l40s")],
        "kubernetes:core/v1:ConfigMap": [f"{NAME}-power-caps-configmap-aion-system-gpu-power-cap-{p}" for p in ("h100", "l40s")],
        "kubernetes:storage.k8s.io/v1:StorageClass": [f"{NAME}-storageclass-aion-local"],
        "aion:platform:TenantAdmission": [f"{NAME}-admission"],
        f"{ADMISSION}:ValidatingAdmissionPolicy": [f"{NAME}-validatingadmissionpolicy-{TOKEN_POLICY}"],
        f"{ADMISSION}:ValidatingAdmissionPolicyBinding": [f"{NAME}-validatingadmissionpolicybinding-{TOKEN_POLICY}"],
    }
    policies = ("aion-tenant-workloads", "aion-kueue-admission", "aion-tenant-services")
    for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"):
        expected[f"{ADMISSION}:{kind}"] += [f"{NAME}-admission-{kind.lower()}-{p}" for p in policies]
    assert {k: sorted(v) for k, v in kinds(recorder).items()} == {k: sorted(v) for k, v in expected.items()}


def test_it_registers_exactly_the_platform_manifest_with_its_values(local: tuple[Any, dict[str, str]]):
    """The golden test pins `platform_manifest`; this pins that the component registers that and nothing else."""
    recorder, _ = local
    objects = platform_manifest(VIEW, StorageClassChoice.local()).objects()
    registered = [r for r in recorder.resources if r.type.startswith("kubernetes:")]
    assert recorder.of_type(CRD) == []  # Kueue came with the cluster: none of its CRDs in the stack
    assert len(registered) == len(objects)
    by_name = {(r.type.rsplit(":", 1)[1], r.inputs["metadata"].get("namespace"), r.inputs["metadata"]["name"]): r for r in registered}
    for obj in objects:
        found = by_name[obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]]
        forced = {**obj["metadata"], "annotations": {**obj["metadata"].get("annotations", {}), **FORCE_APPLY}}
        assert {key: found.inputs.get(key) for key in obj if key not in ("apiVersion", "kind")} == {
            key: value for key, value in {**obj, "metadata": forced}.items() if key not in ("apiVersion", "kind")
        }, obj["metadata"]


def test_children_are_parented_and_use_the_given_provider(local: tuple[Any, dict[str, str]]):
    recorder, found = local
    assert found[NAME] == "pulumi:pulumi:Stack"
    assert found[f"{NAME}-kyutai"] == found[f"{NAME}-quotas"] == found[f"{NAME}-power-caps"] == "aion:platform:ClusterPlatform"
    assert found[f"{NAME}-kyutai-namespace-kyutai"] == "aion:platform:Tenant"
    assert found[f"{NAME}-quotas-clusterqueue-kyutai"] == "aion:platform:PowerAwareQuotas"
    orphans = [name for name, parent in found.items() if name not in (NAME, "k8s") and not parent.startswith("aion:platform:")]
    assert orphans == []
    for r in recorder.resources:
        if r.type.startswith("kubernetes:"):
            assert r.provider is not None and r.provider.endswith("::k8s::k8s-id"), r.name


# The local stack's quotas by hand, from the catalog (planner/quotas.py's rule): the h100 pool rates
# 3 nodes x (10,200 W - 8 x (700 - 600) W) = 28.2 kW for 24 GPUs, the l40s pool 2 x 1,643.2 W = 3.2864 kW
# for 8 GPUs: 31.4864 kW. kyutai's 16 kW -> floor(16 x 24 / 31.4864) = 12 H100s, floor(16 x 8 / 31.4864) = 4
# L40S; mistral-lab's 8 kW -> 6 and 2. kyutai may borrow half its quota (6, 2); mistral-lab, with no
# limit, whatever the cluster has beyond its own (18, 6), and lends half of its own (3, 1).
NOMINAL = {"kyutai": {"h100-sxm": 12, "l40s": 4}, "mistral-lab": {"h100-sxm": 6, "l40s": 2}}
BORROWING = {"kyutai": {"h100-sxm": 6, "l40s": 2}, "mistral-lab": {"h100-sxm": 18, "l40s": 6}}
LENDING = {"kyutai": {}, "mistral-lab": {"h100-sxm": 3, "l40s": 1}}


def test_tenant_quotas_are_the_planners(local: tuple[Any, dict[str, str]]):
    recorder, _ = local
    for tenant in SPEC.tenants:
        quota = recorder.named(f"{NAME}-{tenant.name}-resourcequota-{tenant.name}-tenant-quota").inputs
        labels = recommended_labels("local", "tenant", __version__)
        assert quota["metadata"] == {"name": "tenant-quota", "namespace": tenant.name, "labels": labels, "annotations": FORCE_APPLY}
        assert quota["spec"]["hard"] == {
            f"requests.{GPU_RESOURCE}": str(sum(NOMINAL[tenant.name].values()) + sum(BORROWING[tenant.name].values())),
            "requests.cpu": str(tenant.cpu_quota),
            "requests.memory": "2Ti",  # the default 2,048 GiB, as the API server stores it
            "pods": "1k",  # the default 1,000 pods, as the API server stores them
            "requests.storage": "10Ti",  # the default 10,240 GiB, as the API server stores it
            "persistentvolumeclaims": str(tenant.object_quotas.persistentvolumeclaims),
            "services": str(tenant.object_quotas.services),
            "services.loadbalancers": "0",
            "services.nodeports": "0",
            "configmaps": "1k",
            "secrets": "1k",
        }
        namespace = recorder.named(f"{NAME}-{tenant.name}-namespace-{tenant.name}").inputs["metadata"]
        assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == tenant.pod_security
        assert namespace["labels"]["pod-security.kubernetes.io/enforce-version"] == "v1.35"  # the local cluster's minor
        binding = recorder.named(f"{NAME}-{tenant.name}-rolebinding-{tenant.name}-tenant-edit").inputs
        assert [(s["kind"], s["name"]) for s in binding["subjects"]] == [
            ("Group", tenant.group or tenant.name),
            ("ServiceAccount", tenant.name),
        ]


def test_cluster_queues_hold_the_planned_gpus_per_flavor(local: tuple[Any, dict[str, str]]):
    recorder, _ = local
    for tenant in ("kyutai", "mistral-lab"):
        spec = recorder.named(f"{NAME}-quotas-clusterqueue-{tenant}").inputs["spec"]
        assert spec["cohortName"] == "lab-hall-a"
        assert spec["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": tenant}}
        [gpus] = [g for g in spec["resourceGroups"] if g["coveredResources"] == [GPU_RESOURCE]]
        lending = LENDING[tenant]
        assert {f["name"]: f["resources"] for f in gpus["flavors"]} == {
            flavor: [
                {"name": GPU_RESOURCE, "nominalQuota": str(n), "borrowingLimit": str(BORROWING[tenant][flavor])}
                | ({"lendingLimit": str(lending[flavor])} if lending else {})
            ]
            for flavor, n in NOMINAL[tenant].items()
        }
        local_queue = recorder.named(f"{NAME}-quotas-localqueue-{tenant}-default").inputs
        assert (local_queue["metadata"]["namespace"], local_queue["spec"]) == (tenant, {"clusterQueue": tenant})
    hall = recorder.named(f"{NAME}-quotas-cohort-lab-hall-a").inputs
    assert hall["spec"] == {"parentName": "lab"}
    for flavor in ("h100-sxm", "l40s"):
        assert recorder.named(f"{NAME}-quotas-resourceflavor-{flavor}").inputs["spec"]["nodeLabels"] == {FLAVOR: flavor}
    training = recorder.named(f"{NAME}-quotas-workloadpriorityclass-training").inputs
    assert (training["apiVersion"], training["value"]) == ("kueue.x-k8s.io/v1beta2", 500)


def test_power_cap_daemonset_applies_the_planned_cap_on_its_pool(local: tuple[Any, dict[str, str]]):
    recorder, _ = local
    [planned] = [p for p in PLAN.pools_of("local") if p.gpu_power_cap_w]
    daemonset = recorder.named(f"{NAME}-power-caps-daemonset-aion-system-gpu-power-cap-{planned.name}")
    pod = daemonset.inputs["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == pool_selector("local", planned.name)
    config = recorder.named(f"{NAME}-power-caps-configmap-aion-system-gpu-power-cap-{planned.name}").inputs
    assert config["data"] == {"cap_w": str(planned.gpu_power_cap_w)} == {"cap_w": "600"}
    assert [v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v] == [config["metadata"]["name"]]
    storage = recorder.of_type("kubernetes:storage.k8s.io/v1:StorageClass")[0].inputs
    assert storage["provisioner"] == "kubernetes.io/no-provisioner"


def test_on_scaleway_kueue_comes_from_its_pinned_helm_chart_at_the_clusters_registry(run_program):
    # A site that names its registry (docs/AIRGAP.md): the chart and the manager image both come
    # from it; without one, the public chart (tests/unit/test_images.py).
    registry = "registry.aion.example.eu/mirror"
    kueue = KueueInstall.helm(Kueue(fair_sharing=True), registry=registry)
    recorder = run_program(lambda: deploy(kueue, StorageClassChoice.scaleway("sbs-5k")))
    [release] = recorder.of_type("kubernetes:helm.sh/v3:Release")
    assert release.name == f"{NAME}-kueue"
    inputs = release.inputs
    assert (inputs["chart"], inputs["version"]) == (f"oci://{registry}/kueue/charts/kueue", "0.17.0")
    assert inputs["values"]["controllerManager"]["manager"]["image"] == {
        "repository": f"{registry}/kueue/kueue",
        "tag": "v0.17.0",
        "pullPolicy": "IfNotPresent",
    }
    assert (inputs["namespace"], inputs["createNamespace"], inputs["name"]) == ("kueue-system", True, "kueue")
    assert inputs["values"] == helm_values(Kueue(fair_sharing=True), registry)  # the cluster's Kueue settings too
    assert recorder.of_type(CRD) == []
    [storage] = recorder.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    assert (storage.inputs["provisioner"], storage.inputs["parameters"]) == ("csi.scaleway.com", {"iops": "5000"})
