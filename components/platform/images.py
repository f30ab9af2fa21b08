"""Every container image and Helm chart the platform pulls, and where from.

By default from their public registries. A sovereign or air-gapped site names its own
registry (`image_registry` of a cluster): each reference then keeps its path and tag and
swaps its registry host, so the operator mirrors them path for path, e.g.
`docker.io/library/busybox:1.37.0` -> `registry.example.eu/library/busybox:1.37.0`
(`crane copy`, `skopeo copy`, `oras copy`: docs/AIRGAP.md). Pure: no Pulumi.

A tag can be moved to other content; a digest cannot. Each reference carries the digest of the
content it was reviewed at, where a source we can cite gives it (`tag@sha256:...`: the runtime
pulls by digest, the tag only names it), and copies keep digests, so a mirrored reference keeps
it. A production deploy refuses a reference without one:
`python -m aion_factory.platform.require_digests` (deploy-part.yml).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KUEUE_VERSION = "0.17.0"


@dataclass(frozen=True)
class Image:
    """An OCI artifact (a container image or a Helm chart) at its public registry."""

    registry: str
    path: str
    tag: str
    # sha256 of the manifest (an image index for a multi-platform image) at `tag`; None: not pinned yet.
    digest: str | None = None
    source: str = ""  # where the digest was read

    def __post_init__(self) -> None:
        if self.digest is not None and not DIGEST.fullmatch(self.digest):
            raise ValueError(f"{self.path}: digest {self.digest!r} is not sha256:<64 hex digits>")

    def repository(self, registry: str | None = None) -> str:
        """`registry/path`: at the public registry, or at `registry` when one is named."""
        return f"{registry or self.registry}/{self.path}"

    def reference(self, registry: str | None = None) -> str:
        """`registry/path:tag@sha256:...` where the digest is pinned (pulled by digest), else `...:tag`."""
        pinned = f"@{self.digest}" if self.digest else ""
        return f"{self.repository(registry)}:{self.tag}{pinned}"


DIGEST = re.compile(r"sha256:[0-9a-f]{64}")

# The power-cap DaemonSet's shell (nvidia-smi itself comes from the node's driver root): it runs
# privileged, so its content is pinned. The index digest of `busybox:1.37.0` as Docker's official
# images record it (docker-library/repo-info, repos/busybox/remote/1.37.0.md at commit 01a70542).
POWER_CAP = Image(
    "docker.io",
    "library/busybox",
    "1.37.0",
    "sha256:9db7b59979c38555a39def84a31fb98b5296952f9e3afd4f6f11f05b07adfab0",
    "https://github.com/docker-library/repo-info/blob/01a7054230d50b3dccaf8d579f161c522be8c9f0/repos/busybox/remote/1.37.0.md",
)
# Kueue's released chart and its manager image: hack/helm-chart-package.sh of kueue v0.17.0
# publishes both under registry.k8s.io/kueue. Their digests are listed by the image promoter's
# manifest (kubernetes/k8s.io, registry.k8s.io/images/k8s-staging-kueue/images.yaml); the copy
# this checkout could read stops at v0.13.3, so both wait for their digest (docs/CI.md).
KUEUE_CHART = Image("registry.k8s.io", "kueue/charts/kueue", KUEUE_VERSION)
KUEUE_MANAGER = Image("registry.k8s.io", "kueue/kueue", f"v{KUEUE_VERSION}")

# What a private registry must hold: the list to mirror.
MIRRORED = (POWER_CAP, KUEUE_CHART, KUEUE_MANAGER)


def unpinned(images: tuple[Image, ...] = MIRRORED) -> list[Image]:
    """The references a production deploy refuses: a tag without a digest."""
    return [image for image in images if image.digest is None]
