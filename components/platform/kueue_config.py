"""Kueue's Configuration, from the spec: one place for every target.

Kapsule and kind get it through the Helm chart's values (`install.helm_values`), the
local control plane writes it for the manager it runs (`devstack/kueue.py`). Only the
listeners differ: the chart's ports and leader election there, 127.0.0.1 here.
"""

from __future__ import annotations

from typing import Any

from ..spec import Kueue

KUEUE_NAMESPACE = "kueue-system"
API_VERSION = "config.kueue.x-k8s.io/v1beta2"
# Namespaces whose Jobs Kueue leaves alone: the cluster's own add-ons, Kueue's and ours.
UNMANAGED_NAMESPACES = ("kube-system", KUEUE_NAMESPACE, "aion-system")
# Kueue's own default: when a borrower must give way, first preempt queues above their fair
# share once the preemptor is admitted, then those above it even before (configuration_types.go).
FAIR_SHARING_PREEMPTION = ("LessThanOrEqualToFinalShare", "LessThanInitialShare")


def admission_policy(settings: Kueue) -> dict[str, Any]:
    """What decides admission, the same everywhere: which Jobs Kueue manages, and how it shares."""
    policy: dict[str, Any] = {
        # Every Job goes through Kueue: one in a namespace without a LocalQueue waits, it never runs unqueued.
        "manageJobsWithoutQueueName": True,
        "managedJobsNamespaceSelector": {
            "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": list(UNMANAGED_NAMESPACES)}]
        },
        "integrations": {"frameworks": list(settings.integrations)},
    }
    if settings.fair_sharing:
        policy["fairSharing"] = {"preemptionStrategies": list(FAIR_SHARING_PREEMPTION)}
    return policy


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
