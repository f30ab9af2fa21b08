"""What ClusterPlatform takes: the spec and plan, the cluster it deploys to, and two explicit choices."""

from __future__ import annotations

from dataclasses import dataclass

from ..planner import Plan
from ..spec import FactorySpec
from .errors import PlatformError
from .install import KueueInstall
from .storage import StorageClassChoice


@dataclass(frozen=True)
class PlatformArgs:
    spec: FactorySpec
    plan: Plan
    cluster: str
    kueue: KueueInstall
    # None leaves the cluster's own default StorageClass alone.
    storage: StorageClassChoice | None = None

    def __post_init__(self) -> None:
        if not any(c.name == self.cluster for c in self.spec.clusters):
            known = ", ".join(c.name for c in self.spec.clusters) or "none"
            raise PlatformError(f"cluster {self.cluster!r} is not in the spec (clusters: {known})")
