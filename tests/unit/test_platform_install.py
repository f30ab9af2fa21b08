"""Kueue's installation and the cluster view's arguments: explicit, and clear when something is missing."""

import pytest

from aion_factory import load_stack_file, make_plan
from aion_factory.platform import KueueInstall
from aion_factory.view import UnknownCluster, cluster_view
from support import ROOT


def test_helm_pins_the_chart_version_and_present_installs_nothing():
    assert (KueueInstall.helm().mode, KueueInstall.helm().version) == ("helm", "0.17.0")
    assert (KueueInstall.present().mode, KueueInstall.present().version) == ("present", "0.17.0")


def test_a_view_of_an_unknown_cluster_names_the_clusters_there_are():
    spec = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
    with pytest.raises(UnknownCluster, match="cluster 'nope' is not in the spec; clusters: local"):
        cluster_view(spec, make_plan(spec), "nope")
