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
    # Every GPU pool has one (an uncapped pool's holds its GPUs' default limit).
    assert {image_of(d) for d in power_cap_daemonsets(capped(None))} == {"docker.io/library/busybox:1.37.0"}
    assert {image_of(d) for d in power_cap_daemonsets(capped(REGISTRY))} == {f"{REGISTRY}/library/busybox:1.37.0"}


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
        "docker.io/library/busybox:1.37.0",
        "registry.k8s.io/kueue/charts/kueue:0.17.0",
        "registry.k8s.io/kueue/kueue:v0.17.0",
    ]
    assert MIRRORED[0].reference("r.example.eu") == "r.example.eu/library/busybox:1.37.0"


@pytest.mark.parametrize("bad", ["https://registry.example.eu", "Registry.example.eu", "registry.example.eu/", "host:port"])
def test_a_registry_that_is_not_host_port_path_is_refused_with_its_key(bad: str):
    config = copy.deepcopy(MINIMAL)
    config["clusters"][0]["image_registry"] = bad
    with pytest.raises(ConfigError) as refused:
        spec_from_config(config)
    [problem] = refused.value.problems
    assert problem.path == "aion:clusters[0].image_registry"
    assert repr(bad) in problem.message
