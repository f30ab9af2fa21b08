"""The pure functions behind the Scaleway components: names, tags, cluster, pool and storage settings."""

import pytest

from aion_factory import make_plan, spec_from_config
from aion_factory.scaleway import cluster_inputs, naming, pool_inputs
from aion_factory.scaleway.storage_inputs import lifecycle_rules
from aion_factory.spec import Bucket, GpuPool, Taint


def test_region_of_a_zone():
    assert naming.region_of("fr-par-2") == "fr-par"
    assert naming.region_of("pl-waw-3") == "pl-waw"
    with pytest.raises(ValueError, match="not a Scaleway zone"):
        naming.region_of("fr-par")


def test_names_and_tags(config):
    spec = spec_from_config(config)
    cluster = spec.clusters[0]
    assert naming.child("c", "network", "pn") == "c-network-pn"
    assert naming.scaleway_name(spec.site, cluster) == "s-c"
    assert naming.tags(spec.site, cluster) == ["managed-by=aion-factory", "site=s", "hall=h", "cluster=c"]
    assert naming.bucket_tags(spec.site, cluster) == {"managed-by": "aion-factory", "site": "s", "hall": "h", "cluster": "c"}


def test_control_plane_comes_from_the_plan(config):
    config["site"].update(facility_power_mw=10)
    config["site"]["halls"][0].update(it_power_kw=8000, rows=[])
    config["clusters"][0].pop("row")
    config["clusters"][0]["pools"] = [{"name": "l4", "node_type": "L4-1-24G", "size": 200}]
    spec = spec_from_config(config)
    assert cluster_inputs.control_plane(make_plan(spec), spec.clusters[0]) == "kapsule-dedicated-4"


def test_auto_upgrade_uses_the_maintenance_window(config):
    config["clusters"][0]["maintenance"] = {"day": "tuesday", "start_hour": 22}
    cluster = spec_from_config(config).clusters[0]
    assert cluster_inputs.auto_upgrade(cluster) == {
        "enable": True,
        "maintenance_window_day": "tuesday",
        "maintenance_window_start_hour": 22,
    }


def test_autoscaler_never_balances_gpu_types_against_each_other():
    config = cluster_inputs.autoscaler_config()
    assert config["balance_similar_node_groups"] is False
    assert config["expander"] == "least_waste"


def test_pool_sizes_are_always_explicit():
    fixed = GpuPool(name="p", node_type="L4-1-24G", size=3)
    assert pool_inputs.sizes(fixed) == pool_inputs.PoolSizes(size=3, min_size=0, max_size=3)
    scaling = GpuPool(name="p", node_type="L4-1-24G", size=3, min_size=1, max_size=9, autoscaling=True)
    assert pool_inputs.sizes(scaling) == pool_inputs.PoolSizes(size=3, min_size=1, max_size=9)


def test_taints_default_to_the_gpu_taint_and_an_empty_list_means_none():
    default = GpuPool(name="p", node_type="L4-1-24G", size=1)
    assert pool_inputs.taints(default.effective_taints) == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert pool_inputs.taints(GpuPool(name="p", node_type="L4-1-24G", size=1, taints=()).effective_taints) == []
    custom = (Taint(key="k", effect="NoExecute"),)
    assert pool_inputs.taints(custom) == [{"key": "k", "value": "", "effect": "NoExecute"}]


def test_upgrade_policies():
    assert pool_inputs.gpu_upgrade_policy() == {"max_surge": 0, "max_unavailable": 1}
    assert pool_inputs.system_upgrade_policy() == {"max_surge": 1, "max_unavailable": 0}


def test_gpu_pool_labels_come_from_the_shared_label_module(config):
    config["clusters"][0]["pools"][0]["labels"] = {"team": "ml"}
    spec = spec_from_config(config)
    cluster = spec.clusters[0]
    found = pool_inputs.gpu_pool_labels(spec.site, cluster, cluster.pools[0], make_plan(spec))
    assert found["team"] == "ml"
    assert (found["aion-factory.io/pool"], found["aion-factory.io/gpu-flavor"]) == ("h100", "h100-sxm")


def test_system_pool_labels_name_the_row_only_when_there_is_one(config):
    assert pool_inputs.system_pool_labels(spec_from_config(config).clusters[0])["aion-factory.io/row"] == "r"
    config["clusters"][0].pop("row")
    assert "aion-factory.io/row" not in pool_inputs.system_pool_labels(spec_from_config(config).clusters[0])


def test_lifecycle_rules_follow_the_bucket_spec():
    rules = lifecycle_rules(Bucket())
    assert rules == [
        {
            "id": "checkpoints-to-glacier",
            "enabled": True,
            "prefix": "checkpoints/",
            "transitions": [{"days": 30, "storage_class": "GLACIER"}],
        },
        {"id": "expire-noncurrent-versions", "enabled": True, "noncurrent_version_expiration": {"noncurrent_days": 14}},
    ]
    assert lifecycle_rules(Bucket(checkpoint_glacier_after_days=None, expire_noncurrent_after_days=None)) == []
    # Without versioning there are no old versions to expire.
    assert [r["id"] for r in lifecycle_rules(Bucket(versioning=False))] == ["checkpoints-to-glacier"]
