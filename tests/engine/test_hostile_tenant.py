"""Rung 3: a tenant that tries to run more GPUs than its row powers, as its group and as its
ServiceAccount, against the real API server with Kueue's manager running.

The row is rated above its budget (the oversubscription the planner allows: 24 H100 installed, 20
powered), and the tenant's ResourceQuota is its ceiling, the whole row: the quota alone would let
every GPU run. Whatever the kind (bare Pods, a Deployment, a ReplicaSet, a StatefulSet), its pods
wait for Kueue, and the GPUs held by pods on a node never pass what the power buys. What Kueue
cannot gate, the tenant admission policies refuse, each saying what to do instead.

Figures by hand from the catalog: an H100-SXM-8-80G node draws `node_max_power_w` for 8 GPUs.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config, watch
from test_kueue_admission import Tenant

from aion_factory import labels, load_catalog
from engine_support import PulumiProject, wait_for

ROW_BUDGET_KW = 26.0
NODES = 3
NAMESPACE, GROUP = "hx-serve", "hx-serve-ml"
VALUES: dict[str, Any] = {
    "site": {"name": "hx", "facility_power_mw": 0.05, "pue": 1.25,
             "halls": [{"name": "hall-a", "it_power_kw": 40,
                        "rows": [{"name": "row-1", "it_power_kw": ROW_BUDGET_KW, "oversubscription": 1.2}]}]},
    "clusters": [
        {"name": "hx", "target": "local", "hall": "hall-a", "row": "row-1", "system_pool": {"size": 1},
         "pools": [{"name": "h100", "node_type": "H100-SXM-8-80G", "size": NODES}]}
    ],
    # The whole row budget to one tenant, allowed the training and batch classes only.
    "tenants": [{"name": NAMESPACE, "power_kw": ROW_BUDGET_KW, "clusters": ["hx"], "group": GROUP,
                 "priority_classes": ["training", "batch"]}],
}  # fmt: skip
NODE = load_catalog().gpu_node_types["H100-SXM-8-80G"]
PER_GPU_KW = NODE.node_max_power_w / NODE.gpus / 1000
POWERED = int(ROW_BUDGET_KW / PER_GPU_KW)  # 20: what the budget buys
INSTALLED = NODES * NODE.gpus  # 24: no borrowing limit, so the ceiling is every GPU of the cluster
IDENTITIES = {
    "group member": {"Impersonate-User": "eve@hx", "Impersonate-Group": GROUP},
    "service account": {"Impersonate-User": f"system:serviceaccount:{NAMESPACE}:{NAMESPACE}"},
}
RESTRICTED = {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}}


def container(gpus: int = 0, env: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    requests = {"cpu": "100m", "memory": "64Mi", **({labels.GPU_RESOURCE: str(gpus)} if gpus else {})}
    spec: dict[str, Any] = {
        "name": "main",
        "image": "registry.invalid/serve:1",
        "resources": {"requests": requests, "limits": dict(requests)},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        **extra,
    }
    if env:
        spec["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return spec


def pod_spec(*containers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"securityContext": RESTRICTED, "containers": list(containers), **extra}


def pod(name: str, spec: dict[str, Any], pod_labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": pod_labels or {}}, "spec": spec}


def template(app: str, spec: dict[str, Any], pod_labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": app, **(pod_labels or {})}}, "spec": spec}


def workload(kind: str, name: str, replicas: int, spec: dict[str, Any], meta_labels: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": meta_labels or {}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template(name, spec)},
    }
    if kind == "StatefulSet":
        # Parallel: all replicas exist at once, as one group Kueue admits whole or not at all.
        body["spec"] |= {"serviceName": name, "podManagementPolicy": "Parallel"}
    return body


def acting_as(kubeconfig: Any, identity: str) -> client.ApiClient:
    """An API client that acts as the tenant (the control plane's admin impersonates it)."""
    api = config.new_client_from_config(config_file=str(kubeconfig))
    for header, value in IDENTITIES[identity].items():
        api.set_default_header(header, value)
    return api


def gpus_of(pod: client.V1Pod) -> int:
    containers = (pod.spec.init_containers or []) + pod.spec.containers
    return sum(int(((c.resources.requests if c.resources else None) or {}).get(labels.GPU_RESOURCE, 0)) for c in containers)


class GpusOnNodes:
    """Every change to the namespace's pods, watched from a list: the GPUs held by pods bound to a
    node at each step, and the most ever held (not a sample: every event the API server sends)."""

    def __init__(self, api: Any, namespace: str) -> None:
        self.core, self.namespace = client.CoreV1Api(api), namespace
        self.held: dict[str, int] = {}
        self.peak = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        listed = self.core.list_namespaced_pod(namespace)
        for item in listed.items:
            self._see(item, deleted=False)
        self._thread = threading.Thread(target=self._follow, args=(listed.metadata.resource_version,), daemon=True)
        self._thread.start()

    def _see(self, pod: client.V1Pod, deleted: bool) -> None:
        on_node = pod.spec.node_name and pod.status.phase not in ("Succeeded", "Failed") and not deleted
        self.held[pod.metadata.name] = gpus_of(pod) if on_node else 0
        self.peak = max(self.peak, self.now)

    @property
    def now(self) -> int:
        return sum(self.held.values())

    def _follow(self, version: str) -> None:
        try:
            while not self._stop.is_set():
                for event in watch.Watch().stream(
                    self.core.list_namespaced_pod, self.namespace, resource_version=version, timeout_seconds=2
                ):
                    assert event["type"] != "ERROR", event["raw_object"]  # a gap in what was seen: the peak would mean nothing
                    self._see(event["object"], deleted=event["type"] == "DELETED")
                    version = event["object"].metadata.resource_version
        except BaseException as error:  # handed to the test by stop()
            self.error = error

    def stop(self) -> None:
        """Stop watching; what went wrong while watching fails the test."""
        self._stop.set()
        self._thread.join(timeout=10)
        if self.error is not None:
            raise self.error


@pytest.fixture(scope="module")
def project(new_project: Any, api_client: Any) -> Iterator[PulumiProject]:
    project: PulumiProject = new_project("hostile", VALUES)
    project.pulumi("up", "--yes", "--skip-preview")
    core = client.CoreV1Api(api_client)
    wait_for(lambda: core.read_namespaced_service_account("default", NAMESPACE), what="tenant namespace ready")
    yield project
    project.pulumi("destroy", "--yes", "--skip-preview", check=False)


@pytest.fixture(scope="module")
def admin(project: PulumiProject, api_client: Any) -> Any:
    return api_client


@pytest.fixture(params=sorted(IDENTITIES))
def tenant(request: pytest.FixtureRequest, project: PulumiProject, control_plane: Any) -> client.ApiClient:
    return acting_as(control_plane.kubeconfig, request.param)


def refused(call: Callable[[], Any], says: str) -> None:
    with pytest.raises(client.ApiException) as caught:
        call()
    assert caught.value.status in (403, 422), caught.value.body
    assert says in caught.value.body, caught.value.body


def cleared(admin: Any) -> None:
    """Nothing left of the tenant's work: no workload, no pod, its GPU quota unused."""
    apps, core = client.AppsV1Api(admin), client.CoreV1Api(admin)
    for kind in ("deployment", "replica_set", "stateful_set"):
        getattr(apps, f"delete_collection_namespaced_{kind}")(NAMESPACE, propagation_policy="Background")
    core.delete_collection_namespaced_pod(NAMESPACE, grace_period_seconds=0)
    queues = Tenant(admin, NAMESPACE)
    wait_for(lambda: not core.list_namespaced_pod(NAMESPACE).items and not queues.workloads(), timeout_s=180, what="the tenant's work gone")
    used = f"requests.{labels.GPU_RESOURCE}"
    quota = lambda: core.read_namespaced_resource_quota("tenant-quota", NAMESPACE).status.used or {}  # noqa: E731
    wait_for(lambda: quota().get(used) == "0", what="quota freed")


def test_the_quota_alone_would_let_every_installed_gpu_run(admin: Any) -> None:
    """What makes the rest mean something: the ResourceQuota is above what the row powers."""
    assert (POWERED, INSTALLED) == (20, 24)
    hard = client.CoreV1Api(admin).read_namespaced_resource_quota("tenant-quota", NAMESPACE).spec.hard
    assert hard[f"requests.{labels.GPU_RESOURCE}"] == str(INSTALLED)


# --- What Kueue cannot gate: refused by the tenant admission policies -------------------------------------


def test_a_gpu_pod_kueue_would_not_gate_is_refused(tenant: client.ApiClient) -> None:
    """A pod whose owner Kueue manages is left ungated by Kueue's webhook: here the tenant's own
    suspended Job, named as the owner of a pod the tenant writes itself."""
    batch, core = client.BatchV1Api(tenant), client.CoreV1Api(tenant)
    name = f"decoy-{uuid.uuid4().hex[:6]}"
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
           "spec": {"template": {"spec": pod_spec(container(gpus=1), restartPolicy="Never")}}}  # fmt: skip
    created = batch.create_namespaced_job(NAMESPACE, job)
    try:
        assert created.spec.suspend is True  # Kueue holds the Job
        owned = pod(f"{name}-stowaway", pod_spec(container(gpus=8)))
        owner = {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": created.metadata.uid, "controller": True}
        owned["metadata"]["ownerReferences"] = [owner]
        refused(lambda: core.create_namespaced_pod(NAMESPACE, owned), "runs only once Kueue admits it")
    finally:
        batch.delete_namespaced_job(name, NAMESPACE, propagation_policy="Background")


def test_a_gpu_pod_for_another_queue_is_refused(tenant: client.ApiClient) -> None:
    elsewhere = pod("elsewhere", pod_spec(container(gpus=1)), {"kueue.x-k8s.io/queue-name": "express"})
    says = "set the kueue.x-k8s.io/queue-name label to 'default'"
    refused(lambda: client.CoreV1Api(tenant).create_namespaced_pod(NAMESPACE, elsewhere, dry_run="All"), says)


@pytest.mark.parametrize("gpus", [8, 0])
def test_a_pod_bound_to_a_node_by_hand_is_refused(tenant: client.ApiClient, admin: Any, gpus: int) -> None:
    node = client.CoreV1Api(admin).list_node(label_selector=f"{labels.CLUSTER}=hx,{labels.POOL}=h100").items[0].metadata.name
    bound = pod("bound", pod_spec(container(gpus=gpus), nodeName=node))
    refused(lambda: client.CoreV1Api(tenant).create_namespaced_pod(NAMESPACE, bound, dry_run="All"), "nodeName")


@pytest.mark.parametrize("toleration", [{"operator": "Exists"}, {"key": labels.GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}])
def test_a_pod_asking_for_no_gpu_is_kept_off_the_gpu_nodes(tenant: client.ApiClient, toleration: dict[str, str]) -> None:
    """There a CUDA image's own NVIDIA_VISIBLE_DEVICES=all, which admission cannot see, would reach the node's GPUs."""
    stowaway = pod("stowaway", pod_spec(container(), tolerations=[toleration]))
    refused(
        lambda: client.CoreV1Api(tenant).create_namespaced_pod(NAMESPACE, stowaway, dry_run="All"), "may not tolerate the GPU nodes' taints"
    )
    elsewhere = pod("elsewhere", pod_spec(container(), tolerations=[{"key": "example.com/maintenance", "operator": "Exists"}]))
    assert client.CoreV1Api(tenant).create_namespaced_pod(NAMESPACE, elsewhere, dry_run="All").metadata.name == "elsewhere"


def test_only_kueue_lifts_its_gate(tenant: client.ApiClient, admin: Any) -> None:
    core = client.CoreV1Api(tenant)
    name = f"jump-{uuid.uuid4().hex[:6]}"
    # More GPUs than the power buys: Kueue never admits it, so it stays gated.
    core.create_namespaced_pod(NAMESPACE, pod(name, pod_spec(container(gpus=POWERED + 1))))
    try:
        gates = core.read_namespaced_pod(name, NAMESPACE).spec.scheduling_gates
        assert "kueue.x-k8s.io/admission" in [g.name for g in gates]  # (and Kueue's topology gate)
        lift = {"spec": {"schedulingGates": None}}
        refused(lambda: core.patch_namespaced_pod(name, NAMESPACE, lift), "only Kueue lifts the kueue.x-k8s.io/admission")
        assert core.read_namespaced_pod(name, NAMESPACE).spec.node_name is None
    finally:
        client.CoreV1Api(admin).delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=0)


@pytest.mark.parametrize(
    ("env", "gpus", "says"),
    [
        ({"NVIDIA_VISIBLE_DEVICES": "all"}, 0, "NVIDIA_VISIBLE_DEVICES is set by the GPU device plugin"),
        ({"NVIDIA_VISIBLE_DEVICES": "all"}, 1, "NVIDIA_VISIBLE_DEVICES is set by the GPU device plugin"),  # more than it asked for
        ({"NVIDIA_DRIVER_CAPABILITIES": "all"}, 0, "a container that requests no nvidia.com/gpu may not set NVIDIA_* variables"),
    ],
)
def test_gpus_by_environment_variable_are_refused(tenant: client.ApiClient, env: dict[str, str], gpus: int, says: str) -> None:
    core, apps = client.CoreV1Api(tenant), client.AppsV1Api(tenant)
    # In an init container as in the main one, in a pod as in a Deployment's template.
    sneaky = pod_spec(container(gpus=gpus, env=env))
    refused(lambda: core.create_namespaced_pod(NAMESPACE, pod("sneaky", sneaky), dry_run="All"), says)
    init = pod_spec(container(), initContainers=[{**container(gpus=gpus, env=env), "name": "init"}])
    refused(lambda: core.create_namespaced_pod(NAMESPACE, pod("sneaky-init", init), dry_run="All"), says)
    refused(lambda: apps.create_namespaced_deployment(NAMESPACE, workload("Deployment", "sneaky", 1, sneaky), dry_run="All"), says)


def test_a_gpu_container_keeps_the_nvidia_settings_it_may_use(tenant: client.ApiClient) -> None:
    ok = pod_spec(container(gpus=1, env={"NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}))
    assert client.CoreV1Api(tenant).create_namespaced_pod(NAMESPACE, pod("cuda", ok), dry_run="All").metadata.name == "cuda"


def test_a_kueue_priority_outside_the_tenants_classes_is_refused(tenant: client.ApiClient) -> None:
    says = "must name one of this tenant's priority classes (training, batch)"
    jump = {"kueue.x-k8s.io/priority-class": "inference"}
    core, apps = client.CoreV1Api(tenant), client.AppsV1Api(tenant)
    refused(lambda: core.create_namespaced_pod(NAMESPACE, pod("vip", pod_spec(container(gpus=1)), jump), dry_run="All"), says)
    labelled = workload("Deployment", "vip", 1, pod_spec(container()), jump)
    refused(lambda: apps.create_namespaced_deployment(NAMESPACE, labelled, dry_run="All"), says)
    in_template = workload("Deployment", "vip", 1, pod_spec(container()))
    in_template["spec"]["template"]["metadata"]["labels"] |= jump
    refused(lambda: apps.create_namespaced_deployment(NAMESPACE, in_template, dry_run="All"), says)
    own = workload("Deployment", "own", 1, pod_spec(container()), {"kueue.x-k8s.io/priority-class": "training"})
    assert apps.create_namespaced_deployment(NAMESPACE, own, dry_run="All").metadata.name == "own"


def test_a_job_that_names_a_workload_kueue_did_not_make_for_it_is_refused(tenant: client.ApiClient) -> None:
    prebuilt = {"kueue.x-k8s.io/prebuilt-workload-name": "w"}
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "borrowed", "labels": prebuilt},
           "spec": {"template": {"spec": pod_spec(container(gpus=1), restartPolicy="Never")}}}  # fmt: skip
    refused(lambda: client.BatchV1Api(tenant).create_namespaced_job(NAMESPACE, job, dry_run="All"), "remove the kueue.x-k8s.io/prebuilt")


def test_a_service_with_external_ips_is_refused(tenant: client.ApiClient) -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mitm"},
               "spec": {"selector": {"app": "x"}, "ports": [{"port": 443}], "externalIPs": ["10.0.0.10"]}}  # fmt: skip
    refused(lambda: client.CoreV1Api(tenant).create_namespaced_service(NAMESPACE, service, dry_run="All"), "CVE-2020-8554")
    del service["spec"]["externalIPs"]
    assert client.CoreV1Api(tenant).create_namespaced_service(NAMESPACE, service, dry_run="All").metadata.name == "mitm"


# --- Whatever the kind, Kueue admits what the power buys ----------------------------------------


# Each kind asks for the whole quota in 1-GPU pods: (who creates it, the GPUs Kueue lets run). A
# StatefulSet is one group Kueue admits whole or not at all, and 24 GPUs never fit the 20 powered.
FLOODS = {"Pod": ("group member", POWERED), "Deployment": ("service account", POWERED),
          "ReplicaSet": ("group member", POWERED), "StatefulSet": ("service account", 0)}  # fmt: skip


def flood(api: client.ApiClient, kind: str) -> None:
    spec = pod_spec(container(gpus=1))
    if kind == "Pod":
        for i in range(INSTALLED):
            client.CoreV1Api(api).create_namespaced_pod(NAMESPACE, pod(f"p-{i:02d}", spec))
        return
    create = {"Deployment": "deployment", "ReplicaSet": "replica_set", "StatefulSet": "stateful_set"}[kind]
    getattr(client.AppsV1Api(api), f"create_namespaced_{create}")(NAMESPACE, workload(kind, kind.lower(), INSTALLED, spec))


@pytest.mark.parametrize("kind", list(FLOODS))
def test_whatever_the_kind_the_gpus_on_nodes_never_pass_what_the_row_powers(kind: str, admin: Any, control_plane: Any) -> None:
    identity, runs = FLOODS[kind]
    queues = Tenant(admin, NAMESPACE)
    cleared(admin)
    seen = GpusOnNodes(admin, NAMESPACE)
    try:
        flood(acting_as(control_plane.kubeconfig, identity), kind)
        # Every pod asked for is there (the quota lets them all in), each behind Kueue's gate until admitted.
        core = client.CoreV1Api(admin)
        wait_for(lambda: len(core.list_namespaced_pod(NAMESPACE).items) == INSTALLED, what=f"the {kind}'s {INSTALLED} pods")
        waiting = INSTALLED - runs
        workloads_waiting = 1 if kind == "StatefulSet" else waiting

        def settled() -> bool:
            assert seen.peak <= POWERED, f"{seen.peak} GPUs held on nodes at once; the row powers {POWERED}"  # fail at once
            return seen.now == runs and len(queues.pending()) == workloads_waiting

        wait_for(settled, what=f"{runs} GPUs on nodes, the rest waiting")
        pending = wait_for(lambda: (p := queues.pending()) and all(p.values()) and p, what="Kueue's reasons")
        # One pod waits for GPUs to be freed; the StatefulSet's group can never fit what the power buys.
        why_waiting = f"> maximum capacity ({POWERED})" if kind == "StatefulSet" else f"insufficient unused quota for {labels.GPU_RESOURCE}"
        assert all(why_waiting in why and "in flavor h100-sxm" in why for why in pending.values()), pending
        gated = [p for p in core.list_namespaced_pod(NAMESPACE).items if p.spec.scheduling_gates]
        assert len(gated) == waiting and all("kueue.x-k8s.io/admission" in [g.name for g in p.spec.scheduling_gates] for p in gated)
    finally:
        seen.stop()
    assert seen.peak == runs <= POWERED, f"{seen.peak} GPUs held on nodes at once; the row powers {POWERED}"
    assert seen.peak * PER_GPU_KW <= ROW_BUDGET_KW


def test_a_serving_deployment_gets_the_replicas_its_quota_admits_and_scaling_down_frees_them(admin: Any, control_plane: Any) -> None:
    cleared(admin)
    serving = acting_as(control_plane.kubeconfig, "service account")
    apps, core, queues = client.AppsV1Api(serving), client.CoreV1Api(admin), Tenant(admin, NAMESPACE)
    apps.create_namespaced_deployment(NAMESPACE, workload("Deployment", "llm", INSTALLED, pod_spec(container(gpus=1))))
    ready = lambda: client.AppsV1Api(admin).read_namespaced_deployment("llm", NAMESPACE).status.ready_replicas  # noqa: E731
    wait_for(lambda: ready() == POWERED, what="20 replicas ready")
    pending = wait_for(lambda: (p := queues.pending()) and len(p) == INSTALLED - POWERED and all(p.values()) and p, what="4 waiting")
    assert all(f"insufficient unused quota for {labels.GPU_RESOURCE} in flavor h100-sxm" in why for why in pending.values()), pending

    # Pods that ask for no GPU are not held back, though GPU work waits: Kueue admits them on cpu and memory,
    # through Kueue, not around it.
    client.CoreV1Api(serving).create_namespaced_pod(NAMESPACE, pod("tokenizer", pod_spec(container(env={"MODE": "cpu"}))))
    wait_for(lambda: core.read_namespaced_pod("tokenizer", NAMESPACE).status.phase == "Running", what="the CPU pod running")
    # Ephemeral storage, which no ClusterQueue covers, is left out of Kueue's count (excludeResourcePrefixes):
    # the pod is admitted, its gate lifted (placing it is the scheduler's job: simulated nodes have no disk).
    scratch = container()
    scratch["resources"]["requests"]["ephemeral-storage"] = scratch["resources"]["limits"]["ephemeral-storage"] = "1Gi"
    client.CoreV1Api(serving).create_namespaced_pod(NAMESPACE, pod("scratch", pod_spec(scratch)))
    wait_for(lambda: not core.read_namespaced_pod("scratch", NAMESPACE).spec.scheduling_gates, what="the scratch pod's gate lifted")
    assert {"tokenizer", "scratch"} <= set(queues.admitted())

    # Scaling down frees the quota: 16 replicas run, nothing waits, and another serving Deployment gets the rest.
    apps.patch_namespaced_deployment_scale("llm", NAMESPACE, {"spec": {"replicas": POWERED - 4}})
    wait_for(lambda: not queues.pending() and len(_on_nodes(core, "llm")) == POWERED - 4, what="16 replicas, none waiting")
    apps.create_namespaced_deployment(NAMESPACE, workload("Deployment", "embed", 4, pod_spec(container(gpus=1))))
    wait_for(lambda: len(_on_nodes(core, "embed")) == 4, what="the freed 4 GPUs to the next Deployment")
    full = lambda: len(_on_nodes(core, "llm")) + len(_on_nodes(core, "embed")) == POWERED  # noqa: E731
    wait_for(lambda: full() and not queues.pending(), what="the budget full again")


def _on_nodes(core: client.CoreV1Api, app: str) -> list[client.V1Pod]:
    return [p for p in core.list_namespaced_pod(NAMESPACE, label_selector=f"app={app}").items if p.spec.node_name]
