"""Targets as adapters: one adapter per `target:` the spec allows, each with its own preflight and platform choices."""

import typing
from pathlib import Path
from typing import Any

from aion_factory import environment, load_catalog, spec_from_config
from aion_factory.local import LocalTarget
from aion_factory.platform import KueueInstall, StorageClassChoice
from aion_factory.scaleway import ScalewayTarget
from aion_factory.spec import Kueue
from aion_factory.spec import Target as TargetName
from aion_factory.target import ADAPTERS, LocalSettings, config_warnings, kubeconfig_of, target_for
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


def test_a_clusters_kubeconfig_is_the_configured_one_else_its_targets_own(monkeypatch: Any):
    monkeypatch.setenv(environment.LOCAL_KUBECONFIG, "/from/env")
    assert kubeconfig_of("local", None) == "/from/env"  # what `aion queues` reads a local cluster with
    assert kubeconfig_of("local", "/given") == "/given"
    # A Kapsule cluster's kubeconfig is an output of its deploy: the client's default, unless configured.
    assert kubeconfig_of("scaleway", None) is None
    assert kubeconfig_of("scaleway", "/given") == "/given"


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


def test_only_a_kapsule_cluster_warns_of_a_cni_that_leaves_its_tenants_unfenced(config: dict[str, Any]):
    config["clusters"][0]["cni"] = "none"
    [warning] = config_warnings(spec_from_config(config), load_catalog())
    assert (str(warning), warning.level) == (
        "aion:clusters[0].cni: 'none' does not enforce NetworkPolicy, so tenants t are not fenced from each other's pods; "
        "CNIs that do: cilium, cilium_native, calico",
        "warning",
    )
    # The rule is the Scaleway target's: the local target has none.
    config["clusters"][0]["target"] = "local"
    assert config_warnings(spec_from_config(config), load_catalog()) == []


def local_view(config: dict[str, Any]) -> Any:
    config["clusters"][0].update(target="local")
    config["tenants"].append({"name": "u", "power_kw": 5, "clusters": ["c"]})
    return view_of(spec_from_config(config), "c")


def test_a_tenant_namespace_that_exists_without_our_label_is_refused_by_name(config: dict[str, Any]):
    from aion_factory.platform.tenancy import TENANT_LABEL, foreign_namespaces

    view = local_view(config)
    live = {
        "t": {"kubernetes.io/metadata.name": "t"},  # made by someone else: taken over if deployed
        "u": {TENANT_LABEL: "u"},  # ours, from an earlier deploy
        "cert-manager": {},
    }
    [problem] = foreign_namespaces(view.tenants, live, view.name)
    assert problem.path == "aion:tenants[0].name"
    assert problem.message.startswith(f"namespace 't' already exists on cluster c without the label {TENANT_LABEL}=t ")
    assert problem.message.endswith("allowed: a name no namespace of the cluster has, or that namespace removed first")
    # Labelled as another tenant's: not ours either.
    assert [p.path for p in foreign_namespaces(view.tenants, {"u": {TENANT_LABEL: "t"}}, view.name)] == ["aion:tenants[1].name"]


def test_without_a_kubeconfig_there_is_no_cluster_yet_and_nothing_to_check(config: dict[str, Any], tmp_path: Path):
    view = local_view(config)
    assert LocalTarget(LocalSettings(kubeconfig_path=str(tmp_path / "absent"))).preflight(view) == []


def test_a_cluster_that_cannot_be_read_is_refused(config: dict[str, Any], tmp_path: Path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"  # port 1: nothing listens
        "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\n"
    )
    [problem] = LocalTarget(LocalSettings(kubeconfig_path=str(kubeconfig))).preflight(local_view(config))
    assert problem.path == "aion:clusters[0]"
    assert problem.message.startswith(f"cannot read the namespaces of cluster c from {kubeconfig} (")
    assert problem.message.endswith("allowed: a running cluster its kubeconfig reaches")
