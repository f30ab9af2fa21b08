"""Print what a cluster holds, as the API server sees it: nodes per pool with their
GPUs, tenant namespaces with their GPU quota, and Kueue's per-flavor quotas; with a
stack file, also where the API server differs from what that stack plans (a quota
raised by hand, a NetworkPolicy deleted, a Role widened).

`python -m aion_factory.devstack.show [--kubeconfig PATH] [--stack-file PATH]`
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from .. import labels
from ..environment import DEFAULT_LOCAL_KUBECONFIG
from ..platform.manifest import Object

KUEUE = ("kueue.x-k8s.io", "v1beta2", "clusterqueues")


def cluster_summary(api_client: Any) -> dict[str, Any]:
    from kubernetes import client

    core: Any = client.CoreV1Api(api_client)  # the client's models are loosely typed
    pools: dict[str, dict[str, int]] = defaultdict(lambda: {"nodes": 0, "ready": 0, "gpus": 0})
    for node in core.list_node(label_selector=labels.POOL).items:
        pool = pools[f"{node.metadata.labels.get(labels.CLUSTER, '?')}/{node.metadata.labels[labels.POOL]}"]
        pool["nodes"] += 1
        pool["ready"] += any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
        pool["gpus"] += int((node.status.allocatable or {}).get(labels.GPU_RESOURCE, "0"))
    quotas = {
        quota.metadata.namespace: {"gpus_hard": quota.status.hard.get(f"requests.{labels.GPU_RESOURCE}") if quota.status.hard else None}
        for quota in core.list_resource_quota_for_all_namespaces().items
        if quota.spec.hard and f"requests.{labels.GPU_RESOURCE}" in quota.spec.hard
    }
    queues = {}
    try:
        custom: Any = client.CustomObjectsApi(api_client)
        listed = custom.list_cluster_custom_object(*KUEUE)["items"]
    except client.ApiException as error:
        if error.status != 404:
            raise  # forbidden, unavailable, ...: not an answer about Kueue
        listed = []  # the API server has no such resource: Kueue's CRDs are not installed
    for queue in listed:
        flavors = {
            flavor["name"]: resource["nominalQuota"]
            for group in queue["spec"].get("resourceGroups", [])
            for flavor in group["flavors"]
            for resource in flavor["resources"]
            if resource["name"] == labels.GPU_RESOURCE
        }
        queues[queue["metadata"]["name"]] = flavors
    return {"pools": dict(pools), "tenant_quotas": quotas, "cluster_queues": queues}


# What of a tenant's fence the API server must hold as planned: kind -> the fields compared.
FENCE = {"ResourceQuota": ("spec", "hard"), "NetworkPolicy": ("spec",), "Role": ("rules",)}


@dataclass(frozen=True)
class Difference:
    """A planned object that the API server lacks (`missing`) or holds otherwise."""

    api_version: str
    kind: str
    namespace: str
    name: str
    what: str

    @property
    def missing(self) -> bool:
        return self.what == "missing"

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}: {self.what}"


def plan_differences(api_client: Any, planned: list[Object]) -> list[Difference]:
    """Each planned quota, NetworkPolicy or Role that the API server lacks or holds otherwise.

    Compared whole, not as Pulumi's refresh compares: pulumi-kubernetes prunes what it reads to the
    shape of the declared object (provider/pkg/provider/util.go, pruneSlice, pruneMap), so a rule
    appended to a Role or a key added to a quota is invisible to its refresh and diff."""
    from kubernetes import client, dynamic

    resources = dynamic.DynamicClient(api_client).resources  # type: ignore[no-untyped-call]
    found = []
    for obj in planned:
        fields = FENCE.get(obj["kind"])
        if fields is None:
            continue
        meta = obj["metadata"]
        try:
            live = resources.get(api_version=obj["apiVersion"], kind=obj["kind"]).get(name=meta["name"], namespace=meta["namespace"])
        except client.ApiException as error:
            if error.status != 404:
                raise
            found.append(Difference(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"], "missing"))
            continue
        want, have = _at(obj, fields), _at(live.to_dict(), fields)
        if _normal(want) != _normal(have):
            found.append(Difference(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"], _difference(want, have)))
    return found


def _at(obj: Any, fields: tuple[str, ...]) -> Any:
    for field in fields:
        obj = (obj or {}).get(field)
    return obj


def _normal(value: Any) -> Any:
    """Drop what the API server adds by default (empty lists and maps), so only real differences remain."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _difference(want: Any, have: Any) -> str:
    if isinstance(want, dict) and isinstance(have, dict) and all(not isinstance(v, (dict, list)) for v in want.values()):
        changed = [f"{k} {have.get(k, 'unset')} (planned {v})" for k, v in want.items() if have.get(k) != v]
        changed += [f"{k} {v} (not planned)" for k, v in have.items() if k not in want]
        return ", ".join(changed)
    return "differs from the plan"


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"{'pool':<30} {'nodes':>6} {'ready':>6} {'GPUs':>6}"]
    lines += [f"{name:<30} {p['nodes']:>6} {p['ready']:>6} {p['gpus']:>6}" for name, p in sorted(summary["pools"].items())]
    lines += ["", f"{'tenant namespace':<30} {'GPU quota':>10}"]
    lines += [f"{ns:<30} {q['gpus_hard'] or '-':>10}" for ns, q in sorted(summary["tenant_quotas"].items())]
    if summary["cluster_queues"]:
        lines += ["", f"{'Kueue ClusterQueue':<30} GPUs per flavor"]
        for name, flavors in sorted(summary["cluster_queues"].items()):
            lines.append(f"{name:<30} {', '.join(f'{f} {q}' for f, q in flavors.items()) or '-'}")
    if "differences" in summary:
        lines += ["", "differs from the plan:" if summary["differences"] else "as planned: every tenant's quota, NetworkPolicies and Role"]
        lines += [f"  {difference}" for difference in summary["differences"]]
    return "\n".join(lines) + "\n"


def planned_objects(stack_file: str) -> list[Object]:
    """The platform objects of every cluster the stack file deploys, as its program registers them."""
    from ..planner import make_plan
    from ..platform.manifest import platform_manifest
    from ..site import load_stack
    from ..target import target_for
    from ..view import cluster_view

    stack = load_stack(stack_file)
    plan = make_plan(stack.spec)
    objects: list[Object] = []
    for name in stack.clusters:
        view = cluster_view(stack.spec, plan, name)
        # As the program does: the cluster's own target chooses (a Kapsule cluster's StorageClass is not the local one).
        storage = target_for(view.target).platform_choices(view).storage
        objects += platform_manifest(view, storage).objects()
    return objects


def main(argv: list[str] | None = None) -> int:
    from kubernetes import client, config

    parser = argparse.ArgumentParser(prog="python -m aion_factory.devstack.show")
    parser.add_argument("--kubeconfig", default=str(DEFAULT_LOCAL_KUBECONFIG))
    parser.add_argument("--stack-file", help="compare with what this stack file plans")
    args = parser.parse_args(argv)
    api_client = config.new_client_from_config(config_file=args.kubeconfig)  # type: ignore[no-untyped-call]
    try:
        summary = cluster_summary(api_client)
        if args.stack_file:
            summary["differences"] = plan_differences(api_client, planned_objects(args.stack_file))
    except client.ApiException as error:
        print(f"error: the API server refused a read ({error.status} {error.reason}): {str(error.body or '')[:500]}", file=sys.stderr)
        return 1
    print(format_summary(summary), end="")
    return 1 if summary.get("differences") else 0


if __name__ == "__main__":
    sys.exit(main())
