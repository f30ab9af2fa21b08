"""Where a cluster lives, behind one small interface.

Each target (`scaleway`, `local`) owns its preflight, its credentials, the
platform choices it makes and the infrastructure it builds. `target_for()` maps
a spec's `target:` to its adapter: the only place that tells targets apart.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .errors import Problem
from .platform.args import PlatformChoices
from .view import ClusterView

if TYPE_CHECKING:
    import pulumi


@dataclass(frozen=True)
class Infrastructure:
    """What a target built for one cluster, as the platform above it needs it."""

    resource: pulumi.Resource  # the platform waits for it
    provider: pulumi.ProviderResource  # the Kubernetes provider of the cluster
    kubeconfig: pulumi.Output[str] | None  # secret; None where the target reads an existing one
    # What stacks building on this one look up; None where the target makes no such thing.
    cluster_id: pulumi.Output[str] | None = None
    private_network_id: pulumi.Output[str] | None = None
    bucket: pulumi.Output[str | None] | None = None


class Target(Protocol):
    name: str

    def preflight(self, view: ClusterView) -> list[Problem]:
        """What this target would refuse about the cluster, found before any resource is registered."""
        ...

    def platform_choices(self, view: ClusterView) -> PlatformChoices:
        """How Kueue is installed and which StorageClass is the default, on this target."""
        ...

    def infrastructure(self, name: str, view: ClusterView, opts: pulumi.ResourceOptions) -> Infrastructure:
        """The cluster itself and a Kubernetes provider for it."""
        ...


@dataclass(frozen=True)
class LocalSettings:
    """Where the local target finds its cluster; unset: from the environment."""

    kubeconfig_path: str | None = None


# Imported on demand: a local stack never loads the Scaleway provider's SDK.
ADAPTERS = {"scaleway": "aion_factory.scaleway.target", "local": "aion_factory.local.target"}


def target_for(name: str, local: LocalSettings | None = None) -> Target:
    """The adapter of the target a cluster's `target:` names (the spec allows only these names)."""
    adapter: Target = importlib.import_module(ADAPTERS[name]).adapter(local or LocalSettings())
    return adapter
