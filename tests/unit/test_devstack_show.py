"""The summary `make local` prints: Kueue counts as not installed only when the API server has no
ClusterQueue resource (404); any other refusal is an error, never an empty Kueue. What a stack
plans is what each cluster's own target chooses."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes import client

from aion_factory.devstack import show
from support import ROOT


class Core:
    """A cluster with no nodes and no quotas: only Kueue's answer matters here."""

    def __init__(self, _api_client: Any) -> None:
        pass

    def list_node(self, **_: Any) -> SimpleNamespace:
        return SimpleNamespace(items=[])

    def list_resource_quota_for_all_namespaces(self) -> SimpleNamespace:
        return SimpleNamespace(items=[])


def custom_objects(status: int | None) -> type:
    class CustomObjects:
        def __init__(self, _api_client: Any) -> None:
            pass

        def list_cluster_custom_object(self, group: str, version: str, plural: str) -> dict[str, Any]:
            assert (group, version, plural) == show.KUEUE
            if status is not None:
                raise client.ApiException(status=status, reason={404: "Not Found", 403: "Forbidden", 503: "Service Unavailable"}[status])
            queue = {"name": "gpu-h100", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": 16}]}
            return {"items": [{"metadata": {"name": "kyutai"}, "spec": {"resourceGroups": [{"flavors": [queue]}]}}]}

    return CustomObjects


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(client, "CoreV1Api", Core)

    def answering(status: int | None) -> None:
        monkeypatch.setattr(client, "CustomObjectsApi", custom_objects(status))

    return answering


def test_kueues_queues_are_listed(api) -> None:
    api(None)
    assert show.cluster_summary(object())["cluster_queues"] == {"kyutai": {"gpu-h100": 16}}


def test_no_clusterqueue_resource_means_kueue_is_not_installed(api) -> None:
    api(404)
    assert show.cluster_summary(object())["cluster_queues"] == {}


@pytest.mark.parametrize("status", [403, 503])
def test_any_other_refusal_is_not_read_as_kueue_missing(api, status: int) -> None:
    api(status)
    with pytest.raises(client.ApiException) as refused:
        show.cluster_summary(object())
    assert refused.value.status == status


def test_the_command_says_the_refusal_and_fails(api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from kubernetes import config

    api(403)
    monkeypatch.setattr(config, "new_client_from_config", lambda config_file: object())
    assert show.main(["--kubeconfig", "unused"]) == 1
    assert capsys.readouterr().err.startswith("error: the API server refused a read (403 Forbidden)")


@pytest.mark.parametrize(
    ("stack", "storage_class"),
    [
        ("Pulumi.local.yaml", ("aion-local", "kubernetes.io/no-provisioner")),
        ("Pulumi.dc5-train-1.yaml", ("aion-sbs-15k", "csi.scaleway.com")),  # Kapsule's, not the local one
    ],
)
def test_planned_objects_are_those_of_each_clusters_own_target(stack: str, storage_class: tuple[str, str]) -> None:
    objects = show.planned_objects(str(ROOT / "stacks" / stack))
    assert [(o["metadata"]["name"], o["provisioner"]) for o in objects if o["kind"] == "StorageClass"] == [storage_class]
