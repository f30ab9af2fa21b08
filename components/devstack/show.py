"""Print what a cluster holds, as the API server sees it: nodes per pool with their
GPUs, tenant namespaces with their GPU quota, and Kueue's per-flavor quotas.

`python -m aion_factory.devstack.show [--kubeconfig PATH]`
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from typing import Any

from .. import labels

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
    except client.ApiException:
        listed = []  # Kueue not installed
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


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"{'pool':<30} {'nodes':>6} {'ready':>6} {'GPUs':>6}"]
    lines += [f"{name:<30} {p['nodes']:>6} {p['ready']:>6} {p['gpus']:>6}" for name, p in sorted(summary["pools"].items())]
    lines += ["", f"{'tenant namespace':<30} {'GPU quota':>10}"]
    lines += [f"{ns:<30} {q['gpus_hard'] or '-':>10}" for ns, q in sorted(summary["tenant_quotas"].items())]
    if summary["cluster_queues"]:
        lines += ["", f"{'Kueue ClusterQueue':<30} GPUs per flavor"]
        for name, flavors in sorted(summary["cluster_queues"].items()):
            lines.append(f"{name:<30} {', '.join(f'{f} {q}' for f, q in flavors.items()) or '-'}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from kubernetes import config

    parser = argparse.ArgumentParser(prog="python -m aion_factory.devstack.show")
    parser.add_argument("--kubeconfig", default=".state/local/kubeconfig")
    args = parser.parse_args(argv)
    api_client = config.new_client_from_config(config_file=args.kubeconfig)  # type: ignore[no-untyped-call]
    print(format_summary(cluster_summary(api_client)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
