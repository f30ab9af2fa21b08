"""A sovereign site pulls every image and chart from a registry it names: each reference keeps
its path and tag and swaps its registry host. Unset, nothing changes."""

import copy
from typing import Any

import pytest

from aion_factory import ConfigError, spec_from_config
from aion_factory.platform import KueueInstall
from aion_factory.platform.images import MIRRORED
from aion_factory.platform.power_caps import power_cap_daemonsets
from aion_factory.scaleway import ScalewayTarget
from aion_factory.spec import Kueue
from support import MINIMAL, view_of

REGISTRY = "registry.aion.example.eu:5000/mirror"


def capped(registry: str | None) -> Any:
    config = copy.deepcopy(MINIMAL)
    config["clusters"][0]["pools"][0]["gpu_power_cap_w"] = 600
    if registry is not None:
        config["clusters"][0]["image_registry"] = registry
    return view_of(spec_from_config(config), "c")


def image_of(daemonset: dict[str, Any]) -> str:
    [container] = daemonset["spec"]["template"]["spec"]["containers"]
    return str(container["image"])


def test_the_power_cap_daemonset_pulls_from_the_clusters_registry():
    # Every GPU pool has one (an uncapped pool's holds its GPUs' default limit); a copy keeps its digest.
    digest = "sha256:9db7b59979c38555a39def84a31fb98b5296952f9e3afd4f6f11f05b07adfab0"
    assert {image_of(d) for d in power_cap_daemonsets(capped(None))} == {f"docker.io/library/busybox:1.37.0@{digest}"}
    assert {image_of(d) for d in power_cap_daemonsets(capped(REGISTRY))} == {f"{REGISTRY}/library/busybox:1.37.0@{digest}"}


def test_kueues_chart_and_manager_image_come_from_the_named_registry():
    public = KueueInstall.helm(Kueue())
    assert public.chart == "oci://registry.k8s.io/kueue/charts/kueue"
    assert "image" not in public.values()["controllerManager"]["manager"]  # the chart's own
    private = KueueInstall.helm(Kueue(), registry=REGISTRY)
    assert private.chart == f"oci://{REGISTRY}/kueue/charts/kueue"
    image = private.values()["controllerManager"]["manager"]["image"]
    assert image == {"repository": f"{REGISTRY}/kueue/kueue", "tag": "v0.17.0", "pullPolicy": "IfNotPresent"}


def test_the_scaleway_target_installs_kueue_from_the_clusters_registry():
    assert ScalewayTarget().platform_choices(capped(REGISTRY)).kueue == KueueInstall.helm(Kueue(), registry=REGISTRY)
    assert ScalewayTarget().platform_choices(capped(None)).kueue == KueueInstall.helm(Kueue())


def test_the_mirror_list_names_every_public_reference():
    assert [image.reference() for image in MIRRORED] == [
        "docker.io/library/busybox:1.37.0@sha256:9db7b59979c38555a39def84a31fb98b5296952f9e3afd4f6f11f05b07adfab0",
        "registry.k8s.io/kueue/charts/kueue:0.17.0",
        "registry.k8s.io/kueue/kueue:v0.17.0",
    ]
    assert (
        MIRRORED[0].reference("r.example.eu")
        == "r.example.eu/library/busybox:1.37.0@sha256:9db7b59979c38555a39def84a31fb98b5296952f9e3afd4f6f11f05b07adfab0"
    )


@pytest.mark.parametrize("bad", ["https://registry.example.eu", "Registry.example.eu", "registry.example.eu/", "host:port"])
def test_a_registry_that_is_not_host_port_path_is_refused_with_its_key(bad: str):
    config = copy.deepcopy(MINIMAL)
    config["clusters"][0]["image_registry"] = bad
    with pytest.raises(ConfigError) as refused:
        spec_from_config(config)
    [problem] = refused.value.problems
    assert problem.path == "aion:clusters[0].image_registry"
    assert repr(bad) in problem.message


def test_a_production_deploy_refuses_every_reference_without_a_digest(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    from aion_factory.platform import images, require_digests

    # Pinned: the privileged power-cap image. Not yet: Kueue's chart and manager (no citable digest here).
    assert [image.path for image in images.unpinned()] == ["kueue/charts/kueue", "kueue/kueue"]
    assert require_digests.main() == 1
    refused = capsys.readouterr().err.splitlines()
    assert [line.split(":", 2)[:2] for line in refused] == [
        ["registry.k8s.io/kueue/charts/kueue", "0.17.0"],
        ["registry.k8s.io/kueue/kueue", "v0.17.0"],
    ]
    digest = "sha256:" + "ab" * 32
    monkeypatch.setattr(require_digests, "unpinned", lambda: [])
    assert require_digests.main() == 0 and capsys.readouterr().out == "every image and chart is pinned by digest\n"
    assert images.unpinned((images.Image("r.example.eu", "a", "1", digest),)) == []
    assert images.unpinned((images.Image("r.example.eu", "a", "1"),)) == [images.Image("r.example.eu", "a", "1")]
    with pytest.raises(ValueError, match="is not sha256:<64 hex digits>"):
        images.Image("r.example.eu", "a", "1", "sha256:short")


def test_a_pinned_kueue_manager_is_pulled_by_its_digest(monkeypatch: pytest.MonkeyPatch):
    from aion_factory.platform import images, install

    digest = "sha256:" + "cd" * 32
    monkeypatch.setattr(install, "KUEUE_MANAGER", images.Image("registry.k8s.io", "kueue/kueue", "v0.17.0", digest))
    image = KueueInstall.helm(Kueue()).values()["controllerManager"]["manager"]["image"]
    assert image == {"repository": "registry.k8s.io/kueue/kueue", "tag": f"v0.17.0@{digest}", "pullPolicy": "IfNotPresent"}
    other = KueueInstall.helm(Kueue(), version="0.18.0").values()["controllerManager"]["manager"]
    assert "image" not in other  # the digest belongs to its own version only
