"""Every container image and Helm chart the platform pulls, and where from.

By default from their public registries. A sovereign or air-gapped site names its own
registry (`image_registry` of a cluster): each reference then keeps its path and tag and
swaps its registry host, so the operator mirrors them path for path, e.g.
`docker.io/library/busybox:1.37.0` -> `registry.example.eu/library/busybox:1.37.0`
(`crane copy`, `skopeo copy`, `oras copy`: docs/AIRGAP.md). Pure: no Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass

KUEUE_VERSION = "0.17.0"


@dataclass(frozen=True)
class Image:
    """An OCI artifact (a container image or a Helm chart) at its public registry."""

    registry: str
    path: str
    tag: str

    def repository(self, registry: str | None = None) -> str:
        """`registry/path`: at the public registry, or at `registry` when one is named."""
        return f"{registry or self.registry}/{self.path}"

    def reference(self, registry: str | None = None) -> str:
        return f"{self.repository(registry)}:{self.tag}"


# The power-cap DaemonSet's shell (nvidia-smi itself comes from the node's driver root).
POWER_CAP = Image("docker.io", "library/busybox", "1.37.0")
# Kueue's released chart and its manager image: hack/helm-chart-package.sh of kueue v0.17.0
# publishes both under registry.k8s.io/kueue.
KUEUE_CHART = Image("registry.k8s.io", "kueue/charts/kueue", KUEUE_VERSION)
KUEUE_MANAGER = Image("registry.k8s.io", "kueue/kueue", f"v{KUEUE_VERSION}")

# What a private registry must hold: the list to mirror.
MIRRORED = (POWER_CAP, KUEUE_CHART, KUEUE_MANAGER)
