"""How Kueue gets into a cluster: its Helm chart (controller, webhooks and CRDs), or already there.

A value object, no Pulumi here: `resources.install_kueue` turns it into resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from ..spec import Kueue
from .kueue_config import KUEUE_NAMESPACE, configuration

KUEUE_VERSION = "0.17.0"
KUEUE_CHART = "oci://registry.k8s.io/kueue/charts/kueue"
# The listeners of the chart's own default configuration (charts/kueue/values.yaml): its
# Deployment, Services and probes expect these ports.
CHART_LISTENERS = {
    "health": {"healthProbeBindAddress": ":8081"},
    "metrics": {"bindAddress": ":8443"},
    "webhook": {"port": 9443},
    "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
}

__all__ = ["KUEUE_CHART", "KUEUE_NAMESPACE", "KUEUE_VERSION", "KueueInstall", "helm_values"]


def helm_values(settings: Kueue) -> dict[str, Any]:
    """The chart's values: the shared Configuration, and the manager's resources."""
    memory = f"{settings.manager_memory_mib}Mi"
    return {
        "managerConfig": {"controllerManagerConfigYaml": yaml.safe_dump(configuration(settings, CHART_LISTENERS), sort_keys=False)},
        # Memory request = limit (an evicted manager stops admission); no CPU limit (a throttled one admits late).
        "controllerManager": {
            "manager": {
                "resources": {"requests": {"cpu": f"{settings.manager_cpu_millicores}m", "memory": memory}, "limits": {"memory": memory}}
            }
        },
    }


@dataclass(frozen=True)
class KueueInstall:
    mode: Literal["helm", "present"]
    version: str = KUEUE_VERSION
    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def helm(cls, settings: Kueue, version: str = KUEUE_VERSION) -> KueueInstall:
        """Kueue's Helm chart at a pinned version: controller, webhooks and CRDs, in the stack."""
        return cls("helm", version, helm_values(settings))

    @classmethod
    def present(cls, version: str = KUEUE_VERSION) -> KueueInstall:
        """Kueue came with the cluster (the local control plane runs its manager, a kind cluster
        its chart): the stack registers nothing for it, and its CRDs are not in the stack's state."""
        return cls("present", version)
