"""Kueue's installation and the platform's arguments: explicit, and clear when something is missing."""

import re
from pathlib import Path

import pytest

from aion_factory import load_stack_file, make_plan
from aion_factory.platform import KueueInstall, PlatformError
from aion_factory.view import UnknownCluster, cluster_view
from support import ROOT


def test_helm_pins_the_chart_version():
    install = KueueInstall.helm()
    assert (install.mode, install.version, install.runs_controller) == ("helm", "0.17.0", True)


def test_crds_without_a_folder_names_the_variable_the_bootstrap_sets():
    with pytest.raises(PlatformError, match="AION_KUEUE_CRDS is not set; the toolchain bootstrap sets it"):
        KueueInstall.crds(None)


def test_crds_from_a_folder_without_kueue_crds_is_refused(tmp_path: Path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    with pytest.raises(PlatformError, match=re.escape("no kueue.x-k8s.io_*.yaml files there")):
        KueueInstall.crds(str(tmp_path))
    with pytest.raises(PlatformError):
        KueueInstall.crds(str(tmp_path / "missing"))


def test_crds_are_the_folders_kueue_files_in_order(tmp_path: Path):
    for name in ("kueue.x-k8s.io_workloads.yaml", "kueue.x-k8s.io_cohorts.yaml", "kustomization.yaml"):
        (tmp_path / name).write_text("{}\n")
    install = KueueInstall.crds(str(tmp_path))
    assert [p.name for p in install.crd_files] == ["kueue.x-k8s.io_cohorts.yaml", "kueue.x-k8s.io_workloads.yaml"]
    assert not install.runs_controller


def test_a_view_of_an_unknown_cluster_names_the_clusters_there_are():
    spec = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
    with pytest.raises(UnknownCluster, match="cluster 'nope' is not in the spec; clusters: local"):
        cluster_view(spec, make_plan(spec), "nope")
