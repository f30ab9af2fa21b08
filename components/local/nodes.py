"""SimulatedNodes: a Pulumi dynamic resource that owns one pool's fake Nodes.

Pulumi's Kubernetes provider cannot write a Node's status (where GPU capacity
lives), so this resource talks to the API server with the `kubernetes` client.
The engine creates, resizes and deletes the nodes with the pool, like any resource.

Every operation converges on what the API server holds, never on what the state
remembers: an up killed half-way leaves nodes the state does not know, and a
node may be edited or deleted by hand. So create adopts the pool's nodes that
exist already, create, update and refresh see the count, labels, taints and
capacity of the nodes themselves, and delete removes every node carrying the
pool's labels, whatever the state says.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from ..labels import PREFIX, pool_selector
from .simulated import SIMULATED, NodeGroup, node_manifest

# Changing these makes different nodes: replace rather than update.
REPLACE_ON = ("cluster", "pool", "kubeconfig_path")
# Taints that Kubernetes itself puts on a node (not-ready, unreachable): not the pool's to declare.
_SYSTEM_TAINT_PREFIX = "node.kubernetes.io/"


class ForeignNodeError(Exception):
    """A node has the name of one of the pool's nodes but is not a simulated node of that pool."""


def _core_api(kubeconfig_path: str) -> Any:
    from kubernetes import client, config  # imported in the provider process only

    return client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig_path))  # type: ignore[no-untyped-call]


def _group(props: dict[str, Any]) -> NodeGroup:
    return NodeGroup(
        cluster=props["cluster"],
        pool=props["pool"],
        count=int(props["count"]),
        labels=dict(props["labels"]),
        taints=[dict(t) for t in props["taints"]],
        capacity=dict(props["capacity"]),
    )


def selector(group: NodeGroup) -> str:
    """The pool's simulated nodes, and only them: a real node never carries the simulated label."""
    return ",".join(f"{key}={value}" for key, value in {**pool_selector(group.cluster, group.pool), SIMULATED: "true"}.items())


def _status(error: Exception) -> int | None:
    return getattr(error, "status", None)  # the kubernetes client raises ApiException


def _taint(key: str, value: str | None, effect: str) -> dict[str, str]:
    """A taint as the API server returns it: an empty value is no value."""
    return {"key": key, "effect": effect} | ({"value": value} if value else {})


def _taints(node: Any, system: bool = False) -> list[dict[str, str]]:
    """The node's taints: the pool's (or, with `system`, those Kubernetes put there)."""
    taints = node.spec.taints if node.spec else None
    return [_taint(t.key, t.value, t.effect) for t in taints or [] if t.key.startswith(_SYSTEM_TAINT_PREFIX) == system]


def observed(node: Any, group: NodeGroup) -> dict[str, Any]:
    """What of `group`'s declaration one node really carries: its labels of the pool's keys, taints, capacity."""
    labels = node.metadata.labels or {}
    capacity = (node.status.capacity if node.status else None) or {}
    return {
        "labels": {key: labels[key] for key in group.labels if key in labels},
        "taints": _taints(node),
        "capacity": {key: capacity[key] for key in group.capacity if key in capacity},
    }


def conforms(node: Any, group: NodeGroup, dropped_labels: frozenset[str] = frozenset()) -> bool:
    """The node carries the group's labels (and none of `dropped_labels`), taints and capacity."""
    seen = observed(node, group)
    declared_taints = [_taint(t["key"], t.get("value"), t["effect"]) for t in group.taints]
    return (
        seen["labels"] == group.labels
        and not dropped_labels & set(node.metadata.labels or {})
        and seen["capacity"] == group.capacity
        and sorted(map(_items, seen["taints"])) == sorted(map(_items, declared_taints))
    )


def _items(mapping: dict[str, str]) -> list[tuple[str, str]]:
    return sorted(mapping.items())


def converge(api: Any, group: NodeGroup, dropped_labels: frozenset[str] = frozenset()) -> list[str]:
    """Make the API server hold exactly `group`'s nodes: create the missing, adopt and correct the
    existing, delete the pool's surplus. `dropped_labels`: label keys to remove (no longer declared)."""
    existing = {node.metadata.name: node for node in api.list_node(label_selector=selector(group)).items}
    wanted = group.node_names()
    for name in sorted(set(existing) - set(wanted)):
        delete_node(api, name)
    for name in wanted:
        node = existing.get(name) or _create(api, group, name)
        if node is not None and not conforms(node, group, dropped_labels):
            _correct(api, group, name, node, dropped_labels)
    return wanted


def _create(api: Any, group: NodeGroup, name: str) -> Any:
    """None once created; the node that stood in the way when one of that name exists already."""
    try:
        api.create_node(node_manifest(group, name))
        return None
    except Exception as error:
        if _status(error) != 409:
            raise
    node = api.read_node(name)
    if (node.metadata.labels or {}).get(SIMULATED) != "true":
        raise ForeignNodeError(f"node {name} exists and is not a simulated node; delete or rename it") from None
    return node  # a simulated node of another pool or cluster under our name: corrected below


def _correct(api: Any, group: NodeGroup, name: str, node: Any, dropped_labels: frozenset[str]) -> None:
    """Labels merged (ours no longer declared removed), the pool's taints replaced, capacity set."""
    manifest = node_manifest(group, name)
    ours = {key for key in node.metadata.labels or {} if key.startswith(PREFIX)} | dropped_labels
    labels: dict[str, str | None] = {key: None for key in ours - set(manifest["metadata"]["labels"])}
    labels.update(manifest["metadata"]["labels"])
    taints = manifest["spec"]["taints"] + _taints(node, system=True)
    api.patch_node(name, {"metadata": {"labels": labels}, "spec": {"taints": taints}})
    api.patch_node_status(name, {"status": manifest["status"]})


def delete_node(api: Any, name: str) -> None:
    try:
        api.delete_node(name)
    except Exception as error:
        if _status(error) != 404:
            raise


class SimulatedNodesProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        group = _group(props)
        names = converge(_core_api(props["kubeconfig_path"]), group)
        return CreateResult(id_=group.prefix, outs={**props, "node_names": names})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in news if key != "node_names" and olds.get(key) != news[key]]
        if olds.get("node_names") != _group(news).node_names():
            changed.append("node_names")  # a node gone or one too many, as a refresh found
        replaces = [key for key in changed if key in REPLACE_ON]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        new = _group(news)
        dropped = frozenset(olds.get("labels") or {}) - set(new.labels)
        names = converge(_core_api(news["kubeconfig_path"]), new, dropped)
        return UpdateResult(outs={**news, "node_names": names})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        group = _group(props)
        api = _core_api(props["kubeconfig_path"])
        for node in api.list_node(label_selector=selector(group)).items:
            delete_node(api, node.metadata.name)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: the pool's nodes as the API server holds them. Where a node differs from the
        declaration, its labels, taints or capacity become the state's, so the next up corrects it."""
        group = _group(props)
        nodes = sorted(_core_api(props["kubeconfig_path"]).list_node(label_selector=selector(group)).items, key=lambda n: n.metadata.name)
        outs = {**props, "count": len(nodes), "node_names": [n.metadata.name for n in nodes]}
        drifted = next((node for node in nodes if not conforms(node, group)), None)
        if drifted is not None:
            outs.update(observed(drifted, group))
        return ReadResult(id_=id_, outs=outs)


class SimulatedNodes(Resource):
    """The fake Nodes of one pool on a local cluster."""

    node_names: pulumi.Output[list[str]]

    def __init__(self, name: str, group: NodeGroup, kubeconfig_path: str, opts: pulumi.ResourceOptions | None = None) -> None:
        props = {**asdict(group), "kubeconfig_path": kubeconfig_path, "node_names": None}
        super().__init__(SimulatedNodesProvider(), name, props, opts)
