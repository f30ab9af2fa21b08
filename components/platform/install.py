"""How Kueue gets into a cluster: its Helm chart (controller and CRDs), or only its CRDs.

A value object, no Pulumi here: `resources.install_kueue` turns it into resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import PlatformError

KUEUE_VERSION = "0.17.0"
KUEUE_CHART = "oci://registry.k8s.io/kueue/charts/kueue"
KUEUE_NAMESPACE = "kueue-system"
# controller-gen's file names for Kueue's CRDs, in config/components/crd/bases and the chart alike.
CRD_GLOB = "kueue.x-k8s.io_*.yaml"
CRDS_ENV = "AION_KUEUE_CRDS"


@dataclass(frozen=True)
class KueueInstall:
    mode: Literal["helm", "crds"]
    version: str = KUEUE_VERSION
    crd_files: tuple[Path, ...] = ()

    @classmethod
    def helm(cls, version: str = KUEUE_VERSION) -> KueueInstall:
        """Kueue's Helm chart at a pinned version: controller, webhooks and CRDs."""
        return cls("helm", version)

    @classmethod
    def crds(cls, path: str | None) -> KueueInstall:
        """Only Kueue's CRDs, read from `path`: the API server validates every Kueue
        object, but no controller admits workloads."""
        if path is None:
            raise PlatformError(
                f"the local stack needs Kueue's CRDs and {CRDS_ENV} is not set; the toolchain bootstrap sets it "
                f"to the folder of {CRD_GLOB} files (sigs.k8s.io/kueue@v{KUEUE_VERSION}/config/components/crd/bases)"
            )
        folder = Path(path)
        files = tuple(sorted(folder.glob(CRD_GLOB))) if folder.is_dir() else ()
        if not files:
            raise PlatformError(f"{CRDS_ENV}={path}: no {CRD_GLOB} files there; it must name the folder of Kueue's CRD files")
        return cls("crds", crd_files=files)

    @property
    def runs_controller(self) -> bool:
        return self.mode == "helm"
