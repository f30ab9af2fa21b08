"""Targets as adapters: one adapter per `target:` the spec allows, each with its own preflight and platform choices."""

import typing
from pathlib import Path
from typing import Any

from aion_factory import environment, spec_from_config
from aion_factory.local import LocalTarget
from aion_factory.platform import KueueInstall, StorageClassChoice
from aion_factory.scaleway import ScalewayTarget
from aion_factory.spec import Kueue
from aion_factory.spec import Target as TargetName
from aion_factory.target import ADAPTERS, LocalSettings, target_for
from support import view_of

SCALEWAY_ENV = {"SCW_ACCESS_KEY": "a", "SCW_SECRET_KEY": "s", "SCW_DEFAULT_PROJECT_ID": "p"}


def test_every_target_the_spec_allows_has_an_adapter_of_that_name():
    assert set(ADAPTERS) == set(typing.get_args(TargetName))
    for name in ADAPTERS:
        assert target_for(name).name == name


def test_local_settings_win_over_the_environment(monkeypatch: Any, tmp_path: Path):
    monkeypatch.setenv(environment.LOCAL_KUBECONFIG, "/from/env")
    assert LocalTarget(LocalSettings()).kubeconfig_path == "/from/env"
    assert LocalTarget(LocalSettings(kubeconfig_path="/given")).kubeconfig_path == "/given"
    monkeypatch.delenv(environment.LOCAL_KUBECONFIG)
    assert LocalTarget(LocalSettings()).kubeconfig_path == str(Path.cwd() / ".state/local/kubeconfig")


def test_the_local_target_skips_kapsules_rules_and_finds_kueue_with_the_cluster(config: dict[str, Any]):
    config["clusters"][0].update(target="local", auto_upgrade=False, subnet="172.16.0.0/30")
    view = view_of(spec_from_config(config), "c")
    assert LocalTarget(LocalSettings()).preflight(view) == []
    choices = LocalTarget(LocalSettings()).platform_choices(view)
    assert (choices.kueue, choices.storage) == (KueueInstall.present(), StorageClassChoice.local())


def test_the_scaleway_target_checks_credentials_and_kapsules_rules(config: dict[str, Any], monkeypatch: Any):
    for name in SCALEWAY_ENV:
        monkeypatch.delenv(name, raising=False)
    config["clusters"][0]["subnet"] = "172.16.0.0/29"
    paths = [p.path for p in ScalewayTarget().preflight(view_of(spec_from_config(config), "c"))]
    assert paths == ["scaleway:accessKey", "scaleway:secretKey", "scaleway:projectId", "aion:clusters[0].subnet"]
    for name, value in SCALEWAY_ENV.items():
        monkeypatch.setenv(name, value)
    config["clusters"][0]["subnet"] = "172.16.0.0/22"
    config["clusters"][0]["kueue"] = {"integrations": ["batch/job", "ray.io/rayjob"], "fair_sharing": True}
    view = view_of(spec_from_config(config), "c")
    assert ScalewayTarget().preflight(view) == []
    choices = ScalewayTarget().platform_choices(view)
    assert (choices.kueue.mode, choices.storage) == ("helm", StorageClassChoice.scaleway("sbs-5k"))
    # The chart gets the cluster's own Kueue settings.
    assert choices.kueue == KueueInstall.helm(Kueue(integrations=("batch/job", "ray.io/rayjob"), fair_sharing=True))
