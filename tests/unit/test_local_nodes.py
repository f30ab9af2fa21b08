"""Simulated nodes carry exactly the pool's labels, taints and GPU capacity."""

import copy
from dataclasses import asdict, replace
from types import SimpleNamespace

import pytest
from kubernetes.client import ApiException

from aion_factory import load_stack_file
from aion_factory.local import nodes
from aion_factory.local.simulated import node_groups, node_manifest
from support import ROOT, view_of


def groups():
    spec = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
    return {g.pool: g for g in node_groups(view_of(spec, "local"))}


def test_one_group_per_pool_at_its_current_size():
    by_pool = groups()
    assert {pool: g.count for pool, g in by_pool.items()} == {"h100": 2, "l40s": 2, "system": 1}
    assert by_pool["h100"].node_names() == ["local-h100-0", "local-h100-1"]


def test_gpu_node_manifest():
    h100 = groups()["h100"]
    node = node_manifest(h100, "local-h100-0")
    assert node["metadata"]["annotations"] == {"kwok.x-k8s.io/node": "fake"}
    assert node["metadata"]["labels"] == {
        "aion-factory.io/pool": "h100",
        "aion-factory.io/cluster": "local",
        "aion-factory.io/gpu-model": "H100-SXM",
        "aion-factory.io/gpu-flavor": "h100-sxm",
        "aion-factory.io/hall": "hall-a",
        "aion-factory.io/row": "row-1",
        "aion-factory.io/power-level": "row",
        "aion-factory.io/gpu-power-cap-w": "600",
        "nvidia.com/gpu.present": "true",
        "kubernetes.io/hostname": "local-h100-0",
        "aion-factory.io/simulated": "true",
        "type": "kwok",
    }
    assert node["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert node["status"]["capacity"] == {"cpu": "128", "memory": "960Gi", "pods": "110", "nvidia.com/gpu": "8"}


def test_user_labels_are_kept_and_system_nodes_have_no_gpu():
    by_pool = groups()
    assert by_pool["l40s"].labels["workload"] == "inference"
    assert by_pool["l40s"].capacity["nvidia.com/gpu"] == "4"
    assert "nvidia.com/gpu" not in by_pool["system"].capacity
    assert by_pool["system"].taints == []


# The dynamic provider against an API server held in memory: what each operation leaves behind.


class FakeNodes:
    """The few CoreV1Api calls the provider makes, over a dict of Node manifests."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict] = {}

    def list_node(self, label_selector: str) -> SimpleNamespace:
        wanted = dict(term.split("=") for term in label_selector.split(","))
        found = [n for n in self.nodes.values() if wanted.items() <= n["metadata"]["labels"].items()]
        return SimpleNamespace(items=[as_model(n) for n in found])

    def create_node(self, body: dict) -> None:
        if body["metadata"]["name"] in self.nodes:
            raise ApiException(status=409)
        self.nodes[body["metadata"]["name"]] = copy.deepcopy(body)

    def read_node(self, name: str) -> SimpleNamespace:
        return as_model(self.nodes[name])

    def patch_node(self, name: str, body: dict) -> None:
        labels = self.nodes[name]["metadata"]["labels"]
        for key, value in body["metadata"]["labels"].items():
            labels.pop(key, None) if value is None else labels.__setitem__(key, value)
        self.nodes[name]["spec"]["taints"] = copy.deepcopy(body["spec"]["taints"])

    def patch_node_status(self, name: str, body: dict) -> None:
        self.nodes[name]["status"] = copy.deepcopy(body["status"])

    def delete_node(self, name: str) -> None:
        if self.nodes.pop(name, None) is None:
            raise ApiException(status=404)


def as_model(node: dict) -> SimpleNamespace:
    taints = [SimpleNamespace(key=t["key"], value=t.get("value") or None, effect=t["effect"]) for t in node["spec"].get("taints") or []]
    return SimpleNamespace(
        metadata=SimpleNamespace(name=node["metadata"]["name"], labels=dict(node["metadata"]["labels"])),
        spec=SimpleNamespace(taints=taints),
        status=SimpleNamespace(capacity=dict(node["status"]["capacity"])),
    )


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeNodes:
    fake = FakeNodes()
    monkeypatch.setattr(nodes, "_core_api", lambda _path: fake)
    return fake


def props(group, **changes) -> dict:
    return {**asdict(replace(group, **changes)), "kubeconfig_path": "/kubeconfig", "node_names": None}


def test_create_adopts_the_nodes_an_interrupted_up_left_and_corrects_them(api: FakeNodes) -> None:
    h100 = groups()["h100"]
    api.create_node(node_manifest(h100, "local-h100-0"))  # created before the CLI was killed
    api.nodes["local-h100-0"]["status"]["capacity"]["nvidia.com/gpu"] = "1"
    api.create_node(node_manifest(replace(h100, count=3), "local-h100-2"))  # a surplus node of a bigger size
    created = nodes.SimulatedNodesProvider().create(props(h100))
    assert created.outs["node_names"] == ["local-h100-0", "local-h100-1"] == sorted(api.nodes)
    assert all(n["status"]["capacity"]["nvidia.com/gpu"] == "8" for n in api.nodes.values())


def test_create_refuses_to_take_a_node_that_is_not_simulated(api: FakeNodes) -> None:
    api.create_node({"metadata": {"name": "local-h100-0", "labels": {}}, "spec": {}, "status": {"capacity": {}}})
    with pytest.raises(nodes.ForeignNodeError, match="local-h100-0 exists and is not a simulated node"):
        nodes.SimulatedNodesProvider().create(props(groups()["h100"]))
    assert api.nodes["local-h100-0"]["metadata"]["labels"] == {}


def test_refresh_sees_hand_edits_and_the_next_update_reverts_them(api: FakeNodes) -> None:
    provider, l40s = nodes.SimulatedNodesProvider(), groups()["l40s"]
    created = provider.create(props(l40s))
    api.nodes["local-l40s-1"]["metadata"]["labels"]["workload"] = "training"
    api.nodes["local-l40s-1"]["spec"]["taints"] = [{"key": "nvidia.com/gpu", "effect": "NoExecute"}]
    api.delete_node("local-l40s-0")
    read = provider.read(created.id, created.outs).outs
    assert (read["count"], read["node_names"], read["labels"]["workload"]) == (1, ["local-l40s-1"], "training")
    assert read["taints"] == [{"key": "nvidia.com/gpu", "effect": "NoExecute"}]
    diff = provider.diff(created.id, read, props(l40s))
    assert diff.changes and not diff.replaces
    provider.update(created.id, read, props(l40s))
    assert sorted(api.nodes) == ["local-l40s-0", "local-l40s-1"]
    assert provider.read(created.id, props(l40s)).outs == {**props(l40s), "node_names": ["local-l40s-0", "local-l40s-1"]}
    assert not provider.diff(created.id, provider.read(created.id, props(l40s)).outs, props(l40s)).changes


def test_update_removes_a_label_no_longer_declared_and_keeps_the_api_servers_taints(api: FakeNodes) -> None:
    provider, l40s = nodes.SimulatedNodesProvider(), groups()["l40s"]
    created = provider.create(props(l40s))
    api.nodes["local-l40s-0"]["spec"]["taints"].append({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"})
    unlabelled = {k: v for k, v in l40s.labels.items() if k != "workload"}
    provider.update(created.id, created.outs, props(l40s, labels=unlabelled, count=1))
    assert sorted(api.nodes) == ["local-l40s-0"]
    assert "workload" not in api.nodes["local-l40s-0"]["metadata"]["labels"]
    assert [t["key"] for t in api.nodes["local-l40s-0"]["spec"]["taints"]] == ["nvidia.com/gpu", "node.kubernetes.io/not-ready"]


def test_delete_leaves_no_node_of_the_pool_whatever_the_state_says(api: FakeNodes) -> None:
    provider, h100 = nodes.SimulatedNodesProvider(), groups()["h100"]
    provider.create(props(h100, count=3))  # an up killed after a resize to 3 recorded only 2
    provider.create(props(groups()["l40s"]))
    provider.delete("local-h100", props(h100))
    assert sorted(api.nodes) == ["local-l40s-0", "local-l40s-1"]
