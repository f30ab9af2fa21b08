"""How Kueue gets into a cluster: its Helm chart (controller, webhooks and CRDs), or already there.

A value object, no Pulumi here: `resources.install_kueue` turns it into resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from ..spec import Kueue
from .images import KUEUE_CHART, KUEUE_MANAGER, KUEUE_VERSION
from .kueue_config import KUEUE_NAMESPACE, configuration

# The listeners of the chart's own default configuration (charts/kueue/values.yaml): its
# Deployment, Services and probes expect these ports.
CHART_LISTENERS = {
    "health": {"healthProbeBindAddress": ":8081"},
    "metrics": {"bindAddress": ":8443"},
    "webhook": {"port": 9443},
    "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
}

__all__ = ["KUEUE_NAMESPACE", "KUEUE_VERSION", "KueueInstall", "helm_values"]


def helm_values(settings: Kueue, registry: str | None = None, version: str = KUEUE_VERSION) -> dict[str, Any]:
    """The chart's values: the shared Configuration, the manager's resources, and its image when
    a private registry holds it."""
    memory = f"{settings.manager_memory_mib}Mi"
    # Memory request = limit (an evicted manager stops admission); no CPU limit (a throttled one admits late).
    manager: dict[str, Any] = {
        "resources": {"requests": {"cpu": f"{settings.manager_cpu_millicores}m", "memory": memory}, "limits": {"memory": memory}}
    }
    # The chart builds `repository:tag`; a pinned digest rides on the tag (`v0.17.0@sha256:...`).
    digest = KUEUE_MANAGER.digest if version == KUEUE_VERSION else None
    if registry is not None or digest is not None:
        tag = f"v{version}@{digest}" if digest else f"v{version}"
        manager["image"] = {"repository": KUEUE_MANAGER.repository(registry), "tag": tag, "pullPolicy": "IfNotPresent"}
    config = yaml.safe_dump(configuration(settings, CHART_LISTENERS), sort_keys=False)
    return {"managerConfig": {"controllerManagerConfigYaml": config}, "controllerManager": {"manager": manager}}


@dataclass(frozen=True)
class KueueInstall:
    mode: Literal["helm", "present"]
    version: str = KUEUE_VERSION
    settings: Kueue = field(default_factory=Kueue)
    registry: str | None = None  # a private registry holding the chart and the manager image

    @classmethod
    def helm(cls, settings: Kueue, version: str = KUEUE_VERSION, registry: str | None = None) -> KueueInstall:
        """Kueue's Helm chart at a pinned version: controller, webhooks and CRDs, in the stack, with the
        cluster's Kueue settings; from the public registry, or from `registry` when the cluster names one."""
        return cls("helm", version, settings, registry)

    @classmethod
    def present(cls, version: str = KUEUE_VERSION) -> KueueInstall:
        """Kueue came with the cluster (the local control plane runs its manager, a kind cluster
        its chart): the stack registers nothing for it, and its CRDs are not in the stack's state."""
        return cls("present", version)

    @property
    def chart(self) -> str:
        return f"oci://{KUEUE_CHART.repository(self.registry)}"

    def values(self) -> dict[str, Any]:
        return helm_values(self.settings, self.registry, self.version)
