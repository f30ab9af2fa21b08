"""The local target's adapter: no credentials; Kueue runs with the cluster; a StorageClass any API server takes."""

from __future__ import annotations

import pulumi

from ..errors import Problem
from ..platform import KueueInstall, PlatformChoices, StorageClassChoice
from ..target import KUBECONFIGS, Infrastructure, LocalSettings, namespace_takeovers
from ..view import ClusterView
from .cluster import LocalCluster


class LocalTarget:
    name = "local"

    def __init__(self, settings: LocalSettings) -> None:
        self.kubeconfig_path = settings.kubeconfig_path or KUBECONFIGS[self.name]()

    def preflight(self, view: ClusterView) -> list[Problem]:
        # The cluster exists before the stack (a local control plane, kind): its namespaces can be read.
        return namespace_takeovers(view, self.kubeconfig_path)

    def platform_choices(self, view: ClusterView) -> PlatformChoices:
        # The local control plane runs Kueue's manager with its CRDs and webhooks (devstack/kueue.py);
        # on kind, scripts/kind-up.sh installs Kueue's chart.
        return PlatformChoices(KueueInstall.present(), StorageClassChoice.local())

    def infrastructure(self, name: str, view: ClusterView, opts: pulumi.ResourceOptions) -> Infrastructure:
        cluster = LocalCluster(name, view, self.kubeconfig_path, opts)
        return Infrastructure(resource=cluster, provider=cluster.provider, kubeconfig=None)


def adapter(settings: LocalSettings) -> LocalTarget:
    return LocalTarget(settings)
