"""How Kueue gets into a cluster: its Helm chart (controller, webhooks and CRDs), or already there.

A value object, no Pulumi here: `resources.install_kueue` turns it into resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KUEUE_VERSION = "0.17.0"
KUEUE_CHART = "oci://registry.k8s.io/kueue/charts/kueue"
KUEUE_NAMESPACE = "kueue-system"


@dataclass(frozen=True)
class KueueInstall:
    mode: Literal["helm", "present"]
    version: str = KUEUE_VERSION

    @classmethod
    def helm(cls, version: str = KUEUE_VERSION) -> KueueInstall:
        """Kueue's Helm chart at a pinned version: controller, webhooks and CRDs, in the stack."""
        return cls("helm", version)

    @classmethod
    def present(cls, version: str = KUEUE_VERSION) -> KueueInstall:
        """Kueue came with the cluster (the local control plane runs its manager, a kind cluster
        its chart): the stack registers nothing for it, and its CRDs are not in the stack's state."""
        return cls("present", version)
