"""The Scaleway target's adapter: credentials and what Kapsule would refuse, Kueue's Helm chart,
Block Storage as the default class, and a KapsuleClusterStack per cluster."""

from __future__ import annotations

import pulumi

from ..errors import Problem
from ..platform import KueueInstall, PlatformChoices, StorageClassChoice
from ..target import Infrastructure, LocalSettings, config_refusals
from ..view import ClusterView
from .credentials import missing_credentials


class ScalewayTarget:
    name = "scaleway"

    def preflight(self, view: ClusterView) -> list[Problem]:
        # No live namespace check (`target.namespace_takeovers`) here: the Kapsule cluster is this stack's,
        # and its kubeconfig an output of the same deploy, which the program cannot read before it runs.
        # Before the first deploy there is no cluster; after it, a namespace made by hand under a tenant's
        # name would be adopted (docs/SECURITY.md). The reserved names cover what Kapsule and the add-ons make.
        return missing_credentials() + config_refusals(view)

    def platform_choices(self, view: ClusterView) -> PlatformChoices:
        kueue = KueueInstall.helm(view.settings.kueue, registry=view.settings.image_registry)
        return PlatformChoices(kueue, StorageClassChoice.scaleway(view.settings.storage.default_class))

    def infrastructure(self, name: str, view: ClusterView, opts: pulumi.ResourceOptions) -> Infrastructure:
        from .stack import KapsuleClusterStack  # the Scaleway SDK, only once a Scaleway cluster is built

        kapsule = KapsuleClusterStack(name, view, opts)
        return Infrastructure(
            resource=kapsule,
            provider=kapsule.provider,
            kubeconfig=kapsule.kubeconfig,
            cluster_id=kapsule.cluster.id,
            private_network_id=kapsule.network.private_network.id,
            bucket=kapsule.storage.bucket_name,
        )


def adapter(settings: LocalSettings) -> ScalewayTarget:
    return ScalewayTarget()
