"""What Kapsule would refuse halfway through a deployment is reported first, at the config key."""

import pytest

from aion_factory import load_stack_file, spec_from_config
from aion_factory.scaleway import preflight
from support import ROOT, view_of


def problems_of(config):
    return [str(p) for p in preflight.cluster_problems(view_of(spec_from_config(config), "c"))]


def test_the_production_example_passes():
    spec = load_stack_file(ROOT / "stacks/Pulumi.dc5-train-1.yaml")
    assert preflight.cluster_problems(view_of(spec, "train-1")) == []


def test_minimal_passes(config):
    assert problems_of(config) == []


def test_a_minor_version_needs_auto_upgrade(config):
    config["clusters"][0]["auto_upgrade"] = False
    [problem] = problems_of(config)
    assert problem.startswith("aion:clusters[0].auto_upgrade: false needs a full x.y.z kubernetes_version on Kapsule, not '1.35'")


def test_the_subnet_must_hold_every_node_at_rated_size(config):
    config["clusters"][0]["subnet"] = "172.16.0.0/28"  # 16 addresses, 11 for nodes
    config["clusters"][0]["pools"][0]["size"] = 10  # the cluster: 10 + 2 + 2 nodes
    [problem] = problems_of(config)
    assert problem == (
        "aion:clusters[0].subnet: 172.16.0.0/28 holds 11 nodes, but the cluster reaches 14 at rated size; "
        "allowed: a larger subnet (a /22 holds 1,019)"
    )


def test_a_pool_named_like_a_part_of_a_split_training_pool_is_refused(config):
    config["clusters"][0]["pools"][0].update(size=21, multi_node_training=True)  # becomes h100-1 and h100-2
    config["clusters"][0]["pools"][1]["name"] = "h100-2"
    [problem] = problems_of(config)
    assert problem.startswith("aion:clusters[0].pools[0].name: a part of this multi-node training pool would be the Kapsule pool 'h100-2'")


def test_kilo_is_refused_on_kapsule(config):
    config["clusters"][0]["cni"] = "kilo"
    [problem] = problems_of(config)
    assert (
        problem == "aion:clusters[0].cni: 'kilo' is only available on Kosmos clusters, not Kapsule; allowed: cilium, cilium_native, calico"
    )


def test_a_subnet_loses_four_addresses_and_the_gateways(config):
    config["clusters"][0]["subnet"] = "172.16.0.0/28"  # 16 addresses: 4 unavailable, 1 gateway, 11 nodes; the cluster has 8
    assert problems_of(config) == []
    config["clusters"][0]["system_pool"]["size"] = 5  # 11 nodes: still fits
    assert problems_of(config) == []
    config["clusters"][0]["system_pool"]["size"] = 6
    [problem] = problems_of(config)
    assert "holds 11 nodes, but the cluster reaches 12" in problem


@pytest.mark.parametrize("subnet", ["172.16.0.0/19", "172.16.0.0/31", "10.0.0.0/8"])
def test_a_private_network_is_a_20_to_a_28(config, subnet):
    config["clusters"][0]["subnet"] = subnet
    [problem] = problems_of(config)
    assert problem == f"aion:clusters[0].subnet: {subnet} is a /{subnet.split('/')[1]}; allowed: a private network of /20 to /28"


def test_a_zone_without_public_gateways_is_refused(config):
    config["clusters"][0]["zone"] = "fr-par-3"
    config["clusters"][0]["pools"] = []  # no GPU type is offered there; the system pool is
    [problem] = problems_of(config)
    assert problem.startswith("aion:clusters[0].zone: 'fr-par-3' has no Public Gateway, which the cluster's nodes (no public IPs) need")
