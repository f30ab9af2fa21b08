"""SimulatedNodes: a Pulumi dynamic resource that owns one pool's fake Nodes.

Pulumi's Kubernetes provider cannot write a Node's status (where GPU capacity
lives), so this resource talks to the API server with the `kubernetes` client.
The engine creates, resizes and deletes the nodes with the pool, like any resource.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from ..labels import pool_selector
from .simulated import NodeGroup, node_manifest

# Changing these makes different nodes: replace rather than update.
REPLACE_ON = ("cluster", "pool", "kubeconfig_path")


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


def _is_missing(error: Exception) -> bool:
    return getattr(error, "status", None) == 404


class SimulatedNodesProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        group = _group(props)
        api = _core_api(props["kubeconfig_path"])
        for name in group.node_names():
            api.create_node(node_manifest(group, name))
        return CreateResult(id_=group.prefix, outs={**props, "node_names": group.node_names()})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in news if key != "node_names" and olds.get(key) != news[key]]
        replaces = [key for key in changed if key in REPLACE_ON]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        old, new = _group(olds), _group(news)
        api = _core_api(news["kubeconfig_path"])
        wanted = set(new.node_names())
        for name in old.node_names():
            if name not in wanted:
                self._delete(api, name)
        existing = set(old.node_names())
        for name in new.node_names():
            manifest = node_manifest(new, name)
            if name not in existing:
                api.create_node(manifest)
            elif (old.labels, old.taints) != (new.labels, new.taints):
                api.patch_node(name, {"metadata": {"labels": manifest["metadata"]["labels"]}, "spec": manifest["spec"]})
            if name in existing and old.capacity != new.capacity:
                api.patch_node_status(name, {"status": manifest["status"]})
        return UpdateResult(outs={**news, "node_names": new.node_names()})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        api = _core_api(props["kubeconfig_path"])
        for name in _group(props).node_names():
            self._delete(api, name)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: count the pool's nodes that really exist."""
        group = _group(props)
        api = _core_api(props["kubeconfig_path"])
        selector = ",".join(f"{key}={value}" for key, value in pool_selector(group.cluster, group.pool).items())
        names = sorted(n.metadata.name for n in api.list_node(label_selector=selector).items)
        return ReadResult(id_=id_, outs={**props, "count": len(names), "node_names": names})

    @staticmethod
    def _delete(api: Any, name: str) -> None:
        try:
            api.delete_node(name)
        except Exception as error:  # the kubernetes client raises ApiException
            if not _is_missing(error):
                raise


class SimulatedNodes(Resource):
    """The fake Nodes of one pool on a local cluster."""

    node_names: pulumi.Output[list[str]]

    def __init__(self, name: str, group: NodeGroup, kubeconfig_path: str, opts: pulumi.ResourceOptions | None = None) -> None:
        props = {**asdict(group), "kubeconfig_path": kubeconfig_path, "node_names": None}
        super().__init__(SimulatedNodesProvider(), name, props, opts)
