"""The pure functions behind the Scaleway components: names, tags, cluster, pool and storage settings."""

import pytest

from aion_factory import spec_from_config
from aion_factory.scaleway import cluster_inputs, naming, pool_inputs
from aion_factory.scaleway.storage_inputs import lifecycle_rules
from aion_factory.spec import Bucket, Taint
from support import view_of


def test_region_of_a_zone():
    assert naming.region_of("fr-par-2") == "fr-par"
    assert naming.region_of("pl-waw-3") == "pl-waw"
    with pytest.raises(ValueError, match="not a Scaleway zone"):
        naming.region_of("fr-par")


def test_names_and_tags(config):
    view = view_of(spec_from_config(config), "c")
    assert naming.child("c", "network", "pn") == "c-network-pn"
    assert naming.scaleway_name(view) == "s-c"
    assert naming.tags(view) == ["managed-by=aion-factory", "site=s", "hall=h", "cluster=c"]
    assert naming.bucket_tags(view) == {"managed-by": "aion-factory", "site": "s", "hall": "h", "cluster": "c"}


def test_control_plane_comes_from_the_plan(config):
    config["site"].update(facility_power_mw=10)
    config["site"]["halls"][0].update(it_power_kw=8000, rows=[])
    config["clusters"][0].pop("row")
    config["clusters"][0]["pools"] = [{"name": "l4", "node_type": "L4-1-24G", "size": 200}]
    assert cluster_inputs.control_plane(view_of(spec_from_config(config), "c")) == "kapsule-dedicated-4"


def test_auto_upgrade_uses_the_maintenance_window(config):
    config["clusters"][0]["maintenance"] = {"day": "tuesday", "start_hour": 22}
    assert cluster_inputs.auto_upgrade(view_of(spec_from_config(config), "c")) == {
        "enable": True,
        "maintenance_window_day": "tuesday",
        "maintenance_window_start_hour": 22,
    }


def test_autoscaler_never_balances_gpu_types_against_each_other():
    config = cluster_inputs.autoscaler_config()
    assert config["balance_similar_node_groups"] is False
    assert config["expander"] == "least_waste"


def test_taints_as_the_provider_takes_them():
    custom = (Taint(key="k", effect="NoExecute"),)
    assert pool_inputs.taints(custom) == [{"key": "k", "value": "", "effect": "NoExecute"}]


def test_upgrade_policies():
    assert pool_inputs.gpu_upgrade_policy() == {"max_surge": 0, "max_unavailable": 1}
    assert pool_inputs.system_upgrade_policy() == {"max_surge": 1, "max_unavailable": 0}


def test_lifecycle_rules_follow_the_bucket_spec():
    rules = lifecycle_rules(Bucket())
    assert rules == [
        {
            "id": "checkpoints-to-glacier",
            "enabled": True,
            "prefix": "checkpoints/",
            "transitions": [{"days": 90, "storage_class": "GLACIER"}],
        },
        {"id": "expire-noncurrent-versions", "enabled": True, "noncurrent_version_expiration": {"noncurrent_days": 14}},
    ]
    assert lifecycle_rules(Bucket(checkpoint_glacier_after_days=None, expire_noncurrent_after_days=None)) == []
    # Without versioning there are no old versions to expire.
    assert [r["id"] for r in lifecycle_rules(Bucket(versioning=False))] == ["checkpoints-to-glacier"]


def _h100(config, **pool):
    config["clusters"][0]["pools"][0].update(pool)
    return view_of(spec_from_config(config), "c").gpu_pools[0]


def test_a_training_pool_above_20_nodes_becomes_placement_grouped_pools_of_at_most_20(config):
    pool = _h100(config, size=30, min_size=7, max_size=45, autoscaling=True, multi_node_training=True)
    parts = pool_inputs.kapsule_pools(pool)
    assert [(p.name, p.size, p.min_size, p.max_size, p.placement_group) for p in parts] == [
        ("h100-1", 10, 3, 15, True),
        ("h100-2", 10, 2, 15, True),
        ("h100-3", 10, 2, 15, True),
    ]
    assert sum(p.max_size for p in parts) == 45 and max(p.max_size for p in parts) <= pool_inputs.PLACEMENT_GROUP_MAX_NODES


def test_a_fixed_training_pool_splits_by_its_size_and_never_grows_past_it(config):
    parts = pool_inputs.kapsule_pools(_h100(config, size=41, multi_node_training=True))
    assert [(p.name, p.size, p.max_size) for p in parts] == [("h100-1", 14, 14), ("h100-2", 14, 14), ("h100-3", 13, 13)]


@pytest.mark.parametrize("pool", [{"size": 20, "multi_node_training": True}, {"size": 45}])
def test_a_training_pool_of_20_or_a_pool_without_placement_stays_one_kapsule_pool(config, pool):
    [part] = pool_inputs.kapsule_pools(_h100(config, **pool))
    assert (part.name, part.size, part.placement_group) == ("h100", pool["size"], "multi_node_training" in pool)
