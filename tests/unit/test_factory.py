"""deployable_clusters: every check before deploy, for every cluster at once, or nothing."""

from pathlib import Path
from typing import Any

import pytest

from aion_factory import spec_from_config
from aion_factory.errors import NotDeployable
from aion_factory.factory import deployable_clusters
from aion_factory.target import LocalSettings
from aion_factory.view import UnknownCluster

SCALEWAY_ENV = ("SCW_ACCESS_KEY", "SCW_SECRET_KEY", "SCW_DEFAULT_PROJECT_ID")


@pytest.fixture
def two_clusters(config: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """`c` on Scaleway with credentials in the environment, and `lab` on the local target."""
    for name in SCALEWAY_ENV:
        monkeypatch.setenv(name, "x")
    config["clusters"].append({**config["clusters"][0], "name": "lab", "target": "local", "pools": [], "subnet": "172.16.4.0/22"})
    return config


def test_every_cluster_with_its_own_target(two_clusters: dict[str, Any]):
    deployments = deployable_clusters(spec_from_config(two_clusters))
    assert [(d.view.name, d.target.name) for d in deployments] == [("c", "scaleway"), ("lab", "local")]
    [only] = deployable_clusters(spec_from_config(two_clusters), clusters=["lab"], local=LocalSettings(kubeconfig_path="/k"))
    assert (only.view.name, getattr(only.target, "kubeconfig_path", None)) == ("lab", "/k")


def test_a_violated_plan_stops_every_cluster_naming_the_level(two_clusters: dict[str, Any]):
    two_clusters["clusters"][0]["pools"][0]["size"] = 60
    with pytest.raises(NotDeployable) as refused:
        deployable_clusters(spec_from_config(two_clusters), clusters=["lab"])  # even a cluster that draws nothing there
    assert str(refused.value).startswith("the plan violates the site's budgets or limits; nothing was deployed:\n")
    assert [p.path for p in refused.value.problems] == ["s/h/r"]


def test_what_any_target_refuses_is_named_for_every_cluster_at_once(two_clusters: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SCW_SECRET_KEY")
    two_clusters["clusters"][0]["auto_upgrade"] = False
    with pytest.raises(NotDeployable) as refused:
        deployable_clusters(spec_from_config(two_clusters))
    assert [p.path for p in refused.value.problems] == ["scaleway:secretKey", "aion:clusters[0].auto_upgrade"]


def test_an_unknown_cluster_is_named(two_clusters: dict[str, Any]):
    with pytest.raises(UnknownCluster, match="cluster 'nope' is not in the spec; clusters: c, lab"):
        deployable_clusters(spec_from_config(two_clusters), clusters=["nope"])
