"""When a live Scaleway pool cannot become the desired one in place, and what the warning says."""

from types import SimpleNamespace

from aion_factory.scaleway.replacement import PoolIdentity, live_identity, replacement_reasons, same_node_type, warning

DESIRED = PoolIdentity(
    node_type="H100-SXM-8-80G",
    zone="fr-par-2",
    root_volume_type="sbs_5k",
    root_volume_size_gb=100,
    public_ip_disabled=True,
    placement_group=True,
)


def live(**changes):
    values = vars(DESIRED) | changes
    return PoolIdentity(**values)


def test_an_identical_pool_is_kept():
    assert replacement_reasons(live(), DESIRED) == []


def test_node_types_compare_like_the_provider_does():
    assert same_node_type("H100-SXM-8-80G", "h100_sxm_8_80g")
    assert replacement_reasons(live(node_type="h100-sxm-8-80g"), DESIRED) == []
    assert not same_node_type("H100-SXM-8-80G", "H100-SXM-4-80G")


def test_every_field_that_forces_a_new_pool_is_reported():
    changed = live(
        node_type="L40S-8-48G",
        zone="fr-par-1",
        root_volume_type="l_ssd",
        root_volume_size_gb=50,
        public_ip_disabled=False,
        placement_group=False,
    )
    assert replacement_reasons(changed, DESIRED) == [
        "node type L40S-8-48G -> H100-SXM-8-80G",
        "zone fr-par-1 -> fr-par-2",
        "root volume type l_ssd -> sbs_5k",
        "root volume 50 GB -> 100 GB",
        "public IPs disabled False -> True",
        "placement group added",
    ]


def test_values_the_api_did_not_report_are_not_differences():
    assert replacement_reasons(live(root_volume_type=None, root_volume_size_gb=None), DESIRED) == []


def test_live_identity_from_an_api_result():
    result = SimpleNamespace(
        node_type="H100-SXM-8-80G",
        zone="fr-par-2",
        root_volume_type="sbs_5k",
        root_volume_size_in_gb=100,
        public_ip_disabled=True,
        placement_group_id="fr-par-2/1111",
    )
    assert live_identity(result) == DESIRED
    assert live_identity(SimpleNamespace(node_type=None)) is None


def test_the_warning_names_the_pool_and_the_safe_path():
    text = warning("h100", ["node type A -> B"])
    assert text.startswith("GPU pool 'h100' will be REPLACED (node type A -> B)")
    assert "add a pool under a new name" in text and "drain" in text
