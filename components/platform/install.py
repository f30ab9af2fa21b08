"""How Kueue gets into a cluster: its Helm chart (controller, webhooks and CRDs), or already there.

A value object, no Pulumi here: `resources.install_kueue` turns it into resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .images import KUEUE_CHART, KUEUE_MANAGER, KUEUE_VERSION

KUEUE_NAMESPACE = "kueue-system"


@dataclass(frozen=True)
class KueueInstall:
    mode: Literal["helm", "present"]
    version: str = KUEUE_VERSION
    registry: str | None = None  # a private registry holding the chart and the manager image

    @classmethod
    def helm(cls, version: str = KUEUE_VERSION, registry: str | None = None) -> KueueInstall:
        """Kueue's Helm chart at a pinned version: controller, webhooks and CRDs, in the stack;
        from the public registry, or from `registry` when the cluster names one."""
        return cls("helm", version, registry)

    @classmethod
    def present(cls, version: str = KUEUE_VERSION) -> KueueInstall:
        """Kueue came with the cluster (the local control plane runs its manager, a kind cluster
        its chart): the stack registers nothing for it, and its CRDs are not in the stack's state."""
        return cls("present", version)

    @property
    def chart(self) -> str:
        return f"oci://{KUEUE_CHART.repository(self.registry)}"

    def values(self) -> dict[str, Any]:
        """The chart's values: none from the public registry; from a private one, its manager image too."""
        if self.registry is None:
            return {}
        image = {"repository": KUEUE_MANAGER.repository(self.registry), "tag": f"v{self.version}", "pullPolicy": "IfNotPresent"}
        return {"controllerManager": {"manager": {"image": image}}}
