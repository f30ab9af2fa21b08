"""Kueue's Configuration, from the spec: one place for every target.

Kapsule and kind get it through the Helm chart's values (`install.helm_values`), the
local control plane writes it for the manager it runs (`devstack/kueue.py`). Only the
listeners differ: the chart's ports and leader election there, 127.0.0.1 here.
"""

from __future__ import annotations

import copy
from typing import Any

from ..spec import KUEUE_NAMESPACE, SYSTEM_NAMESPACE, Kueue
from .tenancy import TENANT_LABEL

API_VERSION = "config.kueue.x-k8s.io/v1beta2"
# Never managed, even if one carried the tenant label: the cluster's own add-ons, Kueue's and ours.
UNMANAGED_NAMESPACES = ("kube-system", KUEUE_NAMESPACE, SYSTEM_NAMESPACE)
# The namespaces Kueue manages, and the ones the tenant admission policy fences: the toolkit's
# tenant namespaces, by the label only the platform sets (a tenant may not edit its namespace).
# Any other namespace (an add-on's: the GPU operator, cert-manager, monitoring) is left alone: with
# the pod integration on, its pods would otherwise wait forever for a LocalQueue that is not there.
TENANT_NAMESPACES: dict[str, Any] = {
    "matchExpressions": [
        {"key": TENANT_LABEL, "operator": "Exists"},
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": list(UNMANAGED_NAMESPACES)},
    ]
}
# Always on, whatever `Kueue.integrations` lists: the pods a tenant creates itself or through a
# Deployment, StatefulSet or ReplicaSet are gated until Kueue admits them, as Jobs are suspended.
# Without them a GPU pod runs on the ResourceQuota alone, and that quota is the tenant's ceiling
# (nominal plus borrowing), above what the power buys on an oversubscribed row.
SERVING_INTEGRATIONS = ("pod", "deployment", "statefulset")
# Resources Kueue does not count: a pod's request for one its ClusterQueues do not cover would
# leave it inadmissible forever ("resource ephemeral-storage unavailable in ClusterQueue"). The
# ClusterQueues cover what power and the quota bound (GPUs, cpu, memory); these nodes' other
# resources stay with the scheduler and the namespace's LimitRange. Prefixes, so every page size.
EXCLUDED_RESOURCE_PREFIXES = ("ephemeral-storage", "hugepages-")
# Kueue's own default: when a borrower must give way, first preempt queues above their fair
# share once the preemptor is admitted, then those above it even before (configuration_types.go).
FAIR_SHARING_PREEMPTION = ("LessThanOrEqualToFinalShare", "LessThanInitialShare")


def admission_policy(settings: Kueue) -> dict[str, Any]:
    """What decides admission, the same everywhere: which workloads Kueue manages, and how it shares."""
    policy: dict[str, Any] = {
        # Every workload of a tenant goes through Kueue, whether it names a queue or not.
        "manageJobsWithoutQueueName": True,
        # For the pod-based integrations a strong fence (never a pod outside it, whatever its labels);
        # the Helm chart gives the same selector to every integration's webhook.
        "managedJobsNamespaceSelector": tenant_namespaces(),
        "integrations": {"frameworks": [*settings.integrations, *SERVING_INTEGRATIONS]},
        "resources": {"excludeResourcePrefixes": list(EXCLUDED_RESOURCE_PREFIXES)},
    }
    if settings.fair_sharing:
        policy["fairSharing"] = {"preemptionStrategies": list(FAIR_SHARING_PREEMPTION)}
    return policy


def tenant_namespaces() -> dict[str, Any]:
    """A fresh copy of `TENANT_NAMESPACES` (each object that carries it gets its own)."""
    return copy.deepcopy(TENANT_NAMESPACES)


# How fast the manager may talk to the API server, and how many objects of a kind it reconciles at
# once: the Helm chart's own values (charts/kueue/values.yaml). Without them Kueue falls back to
# 20 requests/s, burst 30 (apis/config/v1beta2/defaults.go), and admitting a Job takes several
# writes: the admission rate follows (BENCHMARKS.md, section 6).
THROUGHPUT = {
    "clientConnection": {"qps": 50, "burst": 100},
    "controller": {
        "groupKindConcurrency": {
            "Job.batch": 5,
            "Pod": 5,
            "Workload.kueue.x-k8s.io": 5,
            "LocalQueue.kueue.x-k8s.io": 1,
            "ClusterQueue.kueue.x-k8s.io": 1,
            "ResourceFlavor.kueue.x-k8s.io": 1,
        }
    },
}


def configuration(settings: Kueue, listeners: dict[str, Any]) -> dict[str, Any]:
    """A whole Configuration: the target's listeners, the chart's throughput, the shared admission policy."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Configuration",
        "namespace": KUEUE_NAMESPACE,
        **listeners,
        **THROUGHPUT,
        **admission_policy(settings),
    }
