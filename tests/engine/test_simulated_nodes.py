"""Rung 3, in-process: the simulated nodes' dynamic provider against the real API server.

The engine runs this provider in its own process during `pulumi up`; here its create,
update, read and delete are called directly, so each is seen to do what the pool says.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, replace
from typing import Any

import pytest
from kubernetes import client

from aion_factory import labels, load_stack_file
from aion_factory.local.nodes import SimulatedNodesProvider
from aion_factory.local.simulated import NodeGroup, node_groups
from support import ROOT, view_of

VIEW = view_of(load_stack_file(ROOT / "stacks/Pulumi.local.yaml"), "local")


@pytest.fixture
def group() -> Iterator[NodeGroup]:
    [l40s] = [g for g in node_groups(VIEW) if g.pool == "l40s"]
    # A cluster of its own: apart from the local stack's nodes on the same control plane.
    yield replace(l40s, cluster="provider-test", labels={**l40s.labels, labels.CLUSTER: "provider-test"})


def props(group: NodeGroup, kubeconfig: str) -> dict[str, Any]:
    return {**asdict(group), "kubeconfig_path": kubeconfig, "node_names": None}


def nodes_of(api_client: Any, group: NodeGroup) -> dict[str, Any]:
    selector = ",".join(f"{k}={v}" for k, v in labels.pool_selector(group.cluster, group.pool).items())
    return {n.metadata.name: n for n in client.CoreV1Api(api_client).list_node(label_selector=selector).items}


def test_create_update_read_delete(group: NodeGroup, control_plane: Any, api_client: Any) -> None:
    provider, kubeconfig = SimulatedNodesProvider(), str(control_plane.kubeconfig)
    created = provider.create(props(group, kubeconfig))
    assert created.id == "provider-test-l40s"
    found = nodes_of(api_client, group)
    assert sorted(found) == ["provider-test-l40s-0", "provider-test-l40s-1"] == created.outs["node_names"]
    node = found["provider-test-l40s-0"]
    assert node.status.capacity[labels.GPU_RESOURCE] == "4"
    assert {k: node.metadata.labels[k] for k in group.labels} == group.labels

    # One more node, a new label and a new taint: the old nodes are patched, the new one created.
    grown = replace(group, count=3, labels={**group.labels, "team": "vision"}, taints=[])
    diff = provider.diff(created.id, created.outs, props(grown, kubeconfig))
    assert diff.changes and not diff.replaces
    provider.update(created.id, created.outs, props(grown, kubeconfig))
    found = nodes_of(api_client, group)
    assert len(found) == 3 and all(n.metadata.labels["team"] == "vision" for n in found.values())
    # The pool's taint is gone (a new node may still carry the node controller's own not-ready taint).
    assert not [t for n in found.values() for t in n.spec.taints or [] if t.key == labels.GPU_RESOURCE]
    assert provider.read(created.id, props(grown, kubeconfig)).outs["count"] == 3

    # A node deleted behind the engine's back: refresh (read) counts what is really there.
    client.CoreV1Api(api_client).delete_node("provider-test-l40s-2")
    assert provider.read(created.id, props(grown, kubeconfig)).outs["count"] == 2

    provider.delete(created.id, props(grown, kubeconfig))  # the missing node is no error
    assert nodes_of(api_client, group) == {}


def test_moving_a_pool_to_another_cluster_or_kubeconfig_replaces_it(group: NodeGroup) -> None:
    olds = props(group, "/a/kubeconfig")
    assert SimulatedNodesProvider().diff("id", olds, props(group, "/b/kubeconfig")).replaces == ["kubeconfig_path"]
    assert SimulatedNodesProvider().diff("id", olds, props(replace(group, cluster="other"), "/a/kubeconfig")).replaces == ["cluster"]
