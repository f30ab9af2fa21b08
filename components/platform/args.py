"""What ClusterPlatform takes: the cluster view, and the choices its target made."""

from __future__ import annotations

from dataclasses import dataclass

from ..view import ClusterView
from .install import KueueInstall
from .storage import StorageClassChoice


@dataclass(frozen=True)
class PlatformChoices:
    """What the platform does differently per target; each target adapter decides them, nothing else."""

    kueue: KueueInstall
    # None leaves the cluster's own default StorageClass alone.
    storage: StorageClassChoice | None = None


@dataclass(frozen=True)
class PlatformArgs:
    view: ClusterView
    choices: PlatformChoices
