"""What Kapsule would refuse halfway through a deployment is reported first, at the config key."""

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
    config["clusters"][0]["subnet"] = "172.16.0.0/29"  # 8 addresses, 5 for nodes; the cluster has 8
    [problem] = problems_of(config)
    assert problem == (
        "aion:clusters[0].subnet: 172.16.0.0/29 holds 5 nodes, but the cluster reaches 8 at rated size; "
        "allowed: a larger subnet (a /22 holds 1,021)"
    )
