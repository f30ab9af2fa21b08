"""Rung 3: Kueue's real manager admits the local stack's workloads by the planner's quotas.

The local stack as deployed (tenants kyutai and mistral-lab share the hall's cohort), and
Jobs of one H100 GPU each, submitted as a tenant would: to its namespace, without naming a
queue (Kueue sends them to the `default` LocalQueue). Every figure is the plan's, worked out by hand.
The tests run in file order and share the jobs they leave running.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from aion_factory import labels
from aion_factory.local.simulated import pod_runtime
from aion_factory.planner import FlavorQuota
from aion_factory.platform.tenancy import TENANT_LABEL
from engine_support import PulumiProject, deployed, stack_values, wait_for
from support import ROOT


def renamed(values: dict[str, Any]) -> dict[str, Any]:
    """The local stack under names of its own: nothing is confused with what other engine tests deploy."""
    values = copy.deepcopy(values)
    values["clusters"][0]["name"] = "kq"
    for tenant in values["tenants"]:
        tenant.update(name=f"kq-{tenant['name']}", clusters=["kq"])
    return values


VALUES = renamed(stack_values(ROOT / "stacks/Pulumi.local.yaml"))
FLAVOR = "h100-sxm"
# The local stack's H100 quotas by hand (tests/mocks/test_platform.py shows the arithmetic): kyutai's
# 16 kW buy 12 and it may borrow half as many (6); mistral-lab's 8 kW buy 6, half of which (3) it lends.
KYUTAI = FlavorQuota(FLAVOR, nominal=12, borrowing=6, lending=None)
MISTRAL = FlavorQuota(FLAVOR, nominal=6, borrowing=18, lending=3)
KUEUE = ("kueue.x-k8s.io", "v1beta2")


def job(name: str, runs: str = "1h", priority: str | None = None) -> dict[str, Any]:
    """A Job of one pod and one H100 GPU; KWOK completes its pod after `runs`."""
    meta: dict[str, Any] = {"name": name}
    if priority:
        meta["labels"] = {"kueue.x-k8s.io/priority-class": priority}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": pod_runtime(runs)},
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {labels.FLAVOR: FLAVOR},
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        {
                            "name": "train",
                            "image": "registry.invalid/train:1",
                            "resources": {"requests": {labels.GPU_RESOURCE: "1", "cpu": "1", "memory": "1Gi"},
                                          "limits": {labels.GPU_RESOURCE: "1", "cpu": "1", "memory": "1Gi"}},
                            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                        }
                    ],
                },
            },
        },
    }  # fmt: skip


class Tenant:
    def __init__(self, api_client: Any, namespace: str) -> None:
        self.namespace = namespace
        self.batch = client.BatchV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    def submit(self, *jobs: dict[str, Any]) -> None:
        for body in jobs:
            self.batch.create_namespaced_job(self.namespace, body)

    def workloads(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.custom.list_namespaced_custom_object(*KUEUE, self.namespace, "workloads")["items"]
        return items

    def admitted(self) -> list[str]:
        return sorted(_owner(w) for w in self.workloads() if _condition(w, "Admitted") == "True")

    def decided(self) -> int:
        """Workloads Kueue has looked at: each holds quota, or its QuotaReserved condition says why not."""
        return sum(1 for w in self.workloads() if _condition(w, "QuotaReserved") == "True" or _message(w, "QuotaReserved"))

    def pending(self) -> dict[str, str]:
        """Job -> why it waits, for every workload without quota."""
        return {_owner(w): _message(w, "QuotaReserved") for w in self.workloads() if _condition(w, "QuotaReserved") != "True"}


def _owner(workload: dict[str, Any]) -> str:
    return str(workload["metadata"]["ownerReferences"][0]["name"])


def _condition(workload: dict[str, Any], kind: str) -> str | None:
    return next((c["status"] for c in workload.get("status", {}).get("conditions", []) if c["type"] == kind), None)


def _message(workload: dict[str, Any], kind: str) -> str:
    return next((c.get("message", "") for c in workload.get("status", {}).get("conditions", []) if c["type"] == kind), "")


@pytest.fixture(scope="module")
def stack(new_project: Any) -> Iterator[PulumiProject]:
    yield from deployed(new_project, "kueue", VALUES)


@pytest.fixture(scope="module")
def kyutai(stack: PulumiProject, api_client: Any) -> Tenant:
    return Tenant(api_client, "kq-kyutai")


@pytest.fixture(scope="module")
def mistral(stack: PulumiProject, api_client: Any) -> Tenant:
    return Tenant(api_client, "kq-mistral-lab")


def test_a_tenant_is_admitted_its_quota_then_borrows_what_the_cohort_lends_and_the_rest_waits(kyutai: Tenant) -> None:
    lendable = MISTRAL.lending or 0  # mistral-lab lends half its quota, keeps the rest for itself
    expected = KYUTAI.nominal + min(KYUTAI.borrowing, lendable)
    kyutai.submit(*(job(f"train-{i:02d}") for i in range(20)))
    # Once Kueue has looked at every workload (each has reserved quota, or says why not), no more is admitted.
    wait_for(lambda: kyutai.decided() == 20, what="Kueue's verdict on every workload")
    assert len(kyutai.admitted()) == expected == 15
    pending = kyutai.pending()
    assert len(pending) == 20 - expected
    assert all(f"insufficient unused quota for {labels.GPU_RESOURCE} in flavor {FLAVOR}" in why for why in pending.values()), pending


def test_the_lenders_kept_share_is_admitted_at_once(mistral: Tenant) -> None:
    kept = MISTRAL.nominal - (MISTRAL.lending or 0)
    mistral.submit(*(job(f"serve-{i}") for i in range(kept)))
    assert len(wait_for(lambda: (a := mistral.admitted()) and len(a) == kept and a, what="its kept share admitted")) == kept == 3


def test_a_higher_priority_workload_preempts_a_lower_one_of_its_tenant(kyutai: Tenant) -> None:
    kyutai.submit(job("inference-0", priority="inference"))
    wait_for(lambda: "inference-0" in kyutai.admitted(), what="the inference job admitted")
    evicted = [w for w in kyutai.workloads() if _condition(w, "Evicted") == "True"]
    assert evicted, "a batch of lower priority made room"


def test_when_jobs_finish_the_next_ones_are_admitted(kyutai: Tenant) -> None:
    batch = kyutai.batch
    batch.delete_collection_namespaced_job(kyutai.namespace, propagation_policy="Background")
    wait_for(lambda: not kyutai.workloads(), what="the tenant's queue empty")
    room = KYUTAI.nominal + min(KYUTAI.borrowing, MISTRAL.lending or 0)
    kyutai.submit(*(job(f"short-{i:02d}", runs="4s") for i in range(room + 2)))
    wait_for(lambda: len(kyutai.pending()) == 2, what="two jobs beyond the room waiting")
    finished = wait_for(
        lambda: (done := [w for w in kyutai.workloads() if _condition(w, "Finished") == "True"]) and len(done) == room + 2 and done,
        timeout_s=180,
        what="every job admitted in turn and finished",
    )
    assert len(finished) == room + 2


def test_a_job_in_a_namespace_without_a_local_queue_is_not_admitted(stack: PulumiProject, api_client: Any) -> None:
    # A tenant namespace (Kueue manages those only, by their label) whose LocalQueue is missing.
    core = client.CoreV1Api(api_client)
    core.create_namespace({"metadata": {"name": "no-queue", "labels": {TENANT_LABEL: "no-queue"}}})
    try:
        client.BatchV1Api(api_client).create_namespaced_job("no-queue", job("stray"))
        stray = Tenant(api_client, "no-queue")
        # Kueue looks at it and says why it cannot admit it: its namespace has no LocalQueue.
        wait_for(lambda: stray.decided() == 1, what="Kueue's verdict on its workload")
        assert stray.admitted() == [] and "LocalQueue" in next(iter(stray.pending().values()))
        assert client.BatchV1Api(api_client).read_namespaced_job("stray", "no-queue").spec.suspend is True  # no pod ever ran
    finally:
        core.delete_namespace("no-queue")


def test_a_destroy_with_jobs_still_running_removes_every_queue_and_namespace(stack: PulumiProject, api_client: Any) -> None:
    # Kueue keeps a ClusterQueue while work it admitted runs; the work goes with its namespace.
    assert any(
        _condition(w, "Admitted") == "True" and _condition(w, "Finished") != "True"
        for w in Tenant(api_client, "kq-mistral-lab").workloads()
    )
    stack.pulumi("destroy", "--yes", "--skip-preview")
    custom = client.CustomObjectsApi(api_client)
    assert [q["metadata"]["name"] for q in custom.list_cluster_custom_object(*KUEUE, "clusterqueues")["items"]] == []
    namespaces = [n.metadata.name for n in client.CoreV1Api(api_client).list_namespace().items]
    assert not [n for n in namespaces if n.startswith("kq-")], namespaces
