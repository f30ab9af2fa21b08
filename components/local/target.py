"""The local target's adapter: no credentials, Kueue's CRDs from a folder, a StorageClass any API server takes."""

from __future__ import annotations

import pulumi

from .. import environment
from ..errors import Problem
from ..platform import KueueInstall, PlatformChoices, PlatformError, StorageClassChoice
from ..target import Infrastructure, LocalSettings
from ..view import ClusterView
from .cluster import LocalCluster


class LocalTarget:
    name = "local"

    def __init__(self, settings: LocalSettings) -> None:
        self.kubeconfig_path = settings.kubeconfig_path or environment.local_kubeconfig()
        self.kueue_crds = settings.kueue_crds or environment.kueue_crds()

    def preflight(self, view: ClusterView) -> list[Problem]:
        try:
            KueueInstall.crds(self.kueue_crds)
        except PlatformError as error:
            return [Problem(f"${environment.KUEUE_CRDS}", str(error))]
        return []

    def platform_choices(self, view: ClusterView) -> PlatformChoices:
        # No Kueue controller locally (its webhooks need in-cluster Services): the real CRDs only.
        return PlatformChoices(KueueInstall.crds(self.kueue_crds), StorageClassChoice.local())

    def infrastructure(self, name: str, view: ClusterView, opts: pulumi.ResourceOptions) -> Infrastructure:
        cluster = LocalCluster(name, view, self.kubeconfig_path, opts)
        return Infrastructure(resource=cluster, provider=cluster.provider, kubeconfig=None)


def adapter(settings: LocalSettings) -> LocalTarget:
    return LocalTarget(settings)
