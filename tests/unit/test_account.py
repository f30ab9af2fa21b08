"""The account level of the plan: a site's needs of its Scaleway Organization's quotas, figures by hand.

Scaleway's published defaults (catalog, source scw-organization-quotas), identity validated: 40 Kapsule
clusters, 4 dedicated control planes 4/8, 100 placement groups, 100 buckets, 5,000 Block volumes and
5,000 GB, 4 POP2-4C-16G, 1 L4-1-24G, 0 B300-SXM and H100-SXM; payment method only: 20, 1, 100, 100,
200, 500 GB, 0 POP2-4C-16G."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from aion_factory import make_plan, spec_from_config
from aion_factory.catalog import load_catalog
from aion_factory.planner.account import headroom_needs, placement_groups
from aion_factory.planner.model import HeadroomBuys
from support import ROOT


def site(account: dict[str, Any] | None = None, **cluster_b: Any) -> dict[str, Any]:
    """a: 45 B300 nodes trained multi-node (3 placement groups of at most 20), on the shared plane (47 nodes <= 150);
    b: 200 H100-SXM nodes on local SSDs, no bucket, on kapsule-dedicated-4 (202 nodes <= 250); c: local, counts nothing."""
    b = {"name": "b", "target": "scaleway", "hall": "h", "subnet": "172.16.4.0/22", "storage": {"bucket": {"enabled": False}},
         "pools": [{"name": "inf", "node_type": "H100-SXM-8-80G", "size": 200, "root_volume_type": "l_ssd"}], **cluster_b}  # fmt: skip
    config: dict[str, Any] = {
        "site": {"name": "s", "facility_power_mw": 10, "pue": 1.25, "halls": [{"name": "h", "it_power_kw": 8000}]},
        "clusters": [
            {"name": "a", "target": "scaleway", "hall": "h",
             "pools": [{"name": "train", "node_type": "B300-SXM-8-288G", "size": 45, "multi_node_training": True}]},
            b,
            {"name": "c", "target": "local", "hall": "h", "pools": [{"name": "l4", "node_type": "L4-1-24G", "size": 2}]},
        ],
    }  # fmt: skip
    if account is not None:
        config["account"] = account
    return config


def uses(config: dict[str, Any]) -> dict[str, tuple[int, int, int, bool]]:
    """Each quota: (needed, in use elsewhere, limit, fits)."""
    plan = make_plan(spec_from_config(config))
    return {use.name: (use.needed, use.in_use, use.limit, use.fits) for use in plan.account.quotas}


@pytest.mark.parametrize(("nodes", "grouped", "groups"), [(45, True, 3), (20, True, 1), (21, True, 2), (0, True, 1), (45, False, 0)])
def test_a_training_pool_takes_a_placement_group_per_20_nodes(nodes: int, grouped: bool, groups: int) -> None:
    assert placement_groups(nodes, grouped) == groups


def test_the_site_needs_what_its_kapsule_clusters_count_against_the_published_defaults() -> None:
    assert uses(site({})) == {
        "kapsule_clusters": (2, 0, 40, True),
        "dedicated_control_planes_4_8": (1, 0, 4, True),
        "placement_groups": (3, 0, 100, True),
        "object_storage_buckets": (1, 0, 100, True),
        "block_volumes": (45, 0, 5000, True),
        "block_storage_gb": (4500, 0, 5000, True),  # 45 root volumes of 100 GB
        "B300-SXM-8-288G Instances in fr-par-2": (45, 0, 0, False),
        "H100-SXM-8-80G Instances in fr-par-2": (200, 0, 0, False),
        "POP2-4C-16G Instances in fr-par-2": (4, 0, 4, True),  # two system nodes per Kapsule cluster
    }


def test_over_a_quota_is_a_violation_naming_it_the_raise_and_the_clusters() -> None:
    account = {"quotas": {"instances": {"B300-SXM-8-288G": {"fr-par-2": 45}, "H100-SXM-8-80G": {"fr-par-2": 199}}},
               "in_use": {"kapsule_clusters": 39}}  # fmt: skip
    plan = make_plan(spec_from_config(site(account)))
    found = {v.path: v.message for v in plan.violations}
    assert set(found) == {"aion:account.quotas.kapsule_clusters", "aion:account.quotas.instances.H100-SXM-8-80G.fr-par-2"}
    assert found["aion:account.quotas.kapsule_clusters"] == (
        "the plan needs 2 and the Organization runs 39 elsewhere, over the quota of 40 (Scaleway's published default); "
        "raise it to 41 (+1) by a support ticket and declare it here, or deploy 1 cluster from another Organization (clusters: a, b)"
    )
    assert found["aion:account.quotas.instances.H100-SXM-8-80G.fr-par-2"].startswith(
        "the plan needs 200, over the quota of 199 (the figure raised for it); raise it to 200 (+1)"
    )


def test_an_organization_without_its_identity_validated_gets_the_lower_defaults() -> None:
    found = uses(site({"identity_validated": False}))
    assert found["kapsule_clusters"] == (2, 0, 20, True)
    assert found["dedicated_control_planes_4_8"] == (1, 0, 1, True)
    assert found["block_storage_gb"] == (4500, 0, 500, False)
    assert found["block_volumes"] == (45, 0, 200, True)
    assert found["POP2-4C-16G Instances in fr-par-2"] == (4, 0, 0, False)


def test_zones_without_a_raised_figure_share_the_types_default_and_a_raised_zone_stands_alone() -> None:
    one_each = {"zone": "pl-waw-2", "pools": [{"name": "l4", "node_type": "L4-1-24G", "size": 1, "root_volume_type": "l_ssd"}],
                "storage": {"bucket": {"enabled": False}}}  # fmt: skip
    config = site({}, **one_each)
    config["clusters"][0]["pools"].append({"name": "l4", "node_type": "L4-1-24G", "size": 1})
    config["clusters"][0]["zone"] = "fr-par-2"
    shared = uses(config)
    assert shared["L4-1-24G Instances in fr-par-2+pl-waw-2"] == (2, 0, 1, False)
    violations = {v.path for v in make_plan(spec_from_config(config)).violations}
    assert "aion:account.quotas.instances.L4-1-24G" in violations
    config["account"] = {"quotas": {"instances": {"L4-1-24G": {"fr-par-2": 1}}}}
    raised = uses(config)
    assert raised["L4-1-24G Instances in fr-par-2"] == (1, 0, 1, True)
    assert raised["L4-1-24G Instances in pl-waw-2"] == (1, 0, 1, True)


def test_without_an_account_the_level_is_shown_and_refuses_nothing() -> None:
    plan = make_plan(spec_from_config(site()))
    assert not plan.account.declared and not plan.account.fits
    assert not [v for v in plan.violations if v.path.startswith("aion:account")]
    assert not [w for w in plan.warnings if w.path.startswith("aion:account")]


def test_buying_a_halls_headroom_counts_its_clusters_planes_groups_and_instances() -> None:
    """11,994 B300 nodes in one hall, clusters of at most 500 with 2 system nodes: ceil(11,994 / 498) = 25 clusters,
    19 of 480 GPU nodes and 6 of 479 (divmod(11,994, 25) = (479, 19)); 482 nodes need kapsule-dedicated-8; each part
    of 479 or 480 nodes takes ceil(n / 20) = 24 placement groups: 600."""
    buys = HeadroomBuys("B300-SXM-8-288G", 11_994, 95_952, 0.0, 0.0, 25, {"campus": 11_994}, {"campus": 25})
    needs = headroom_needs(buys, "POP2-4C-16G", 2, load_catalog())
    assert needs.counts == {
        ("kapsule_clusters",): 25,
        ("dedicated_control_planes_4_8",): 25,
        ("placement_groups",): 600,
        ("object_storage_buckets",): 25,
        ("block_volumes",): 11_994,
        ("block_storage_gb",): 1_199_400,
        ("instances", "B300-SXM-8-288G", "fr-par-2"): 11_994,
        ("instances", "POP2-4C-16G", "fr-par-2"): 50,
    }


def test_the_200_mw_headroom_says_which_quotas_buying_it_passes(aion: Any) -> None:
    result = aion("plan", str(ROOT / "examples/aion-200mw.yaml"))
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "buying it would pass" in line)
    assert "dedicated_control_planes_4_8 to 25 (quota 4)" in line and "placement_groups to 600 (quota 100)" in line
    assert "B300-SXM-8-288G Instances in fr-par-2 to 11,994 (quota 0)" in line
    assert "kapsule_clusters" not in line  # 25 of the 40 an Organization with its identity validated holds


def test_the_200_mw_site_plans_clean_against_the_quotas_it_declares(aion: Any) -> None:
    result = aion("plan", str(ROOT / "examples/aion-200mw/site.yaml"), "--json")
    assert result.returncode == 0, result.stderr
    account = json.loads(result.stdout)["account"]
    assert account["declared"] and account["fits"]
    found = {q["name"]: (q["needed"], q["limit"], q["raised"]) for q in account["quotas"]}
    assert found["kapsule_clusters"] == (28, 40, False)
    assert found["dedicated_control_planes_4_8"] == (28, 28, True)  # every cluster of 430 or 431 nodes: kapsule-dedicated-8
    assert found["POP2-4C-16G Instances in fr-par-2"] == (56, 56, True)


@pytest.mark.parametrize(
    ("account", "path", "said"),
    [
        ({"quotas": {"kapsule_clusters": 3}, "in_use": {"kapsule_clusters": 5}}, "account.quotas.kapsule_clusters",
         "3 is below the 5 the Organization already runs (account.in_use.kapsule_clusters); allowed: at least 5"),
        ({"quotas": {"instances": {"B300-SXM-8-288G": {"fr-par-2": 4}}}, "in_use": {"instances": {"B300-SXM-8-288G": {"fr-par-2": 6}}}},
         "account.quotas.instances.B300-SXM-8-288G.fr-par-2", "4 is below the 6"),
        ({"quotas": {"instances": {"B300-SXM-8-288G": {"nl-ams-1": 4}}}}, "account.quotas.instances.B300-SXM-8-288G",
         "'nl-ams-1' is not a zone of B300-SXM-8-288G; allowed: fr-par-2"),
        ({"in_use": {"instances": {"H200": {"fr-par-2": 1}}}}, "account.in_use.instances",
         "'H200' is not a node type with a published quota"),
        ({"quotas": {"placement_groups": -1}}, "account.quotas.placement_groups", "-1 is not allowed"),
        ({"organization": "acme"}, "account.organization", "'acme' is not allowed"),
    ],
)  # fmt: skip
def test_a_quota_below_what_runs_or_of_nothing_known_is_bad_input(
    aion: Any, tmp_path: Path, account: dict[str, Any], path: str, said: str
) -> None:
    document = site(account)
    file = tmp_path / "site.yaml"
    file.write_text(yaml.safe_dump(document))
    result = aion("plan", str(file))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{file}: {path}: {said}" in result.stderr, result.stderr


def test_add_clusters_beyond_the_declared_quotas_is_refused_and_fill_holds_what_they_leave(aion: Any, tmp_path: Path) -> None:
    document = yaml.safe_load((ROOT / "examples/aion-200mw/site.yaml").read_text())
    document["site"]["halls"].append({"name": "hall-5", "it_power_kw": 5000})
    document["site"]["facility_power_mw"] = 210
    file = tmp_path / "site.yaml"
    file.write_text(yaml.safe_dump(document))
    refused = aion("site", "add-clusters", str(file), "--hall", "hall-5", "--node-type", "H100-SXM-8-80G", "--nodes", "4")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "aion:account.quotas.instances.H100-SXM-8-80G.fr-par-2: the plan needs 4, over the quota of 0" in refused.stderr
    assert "aion:account.quotas.instances.POP2-4C-16G.fr-par-2: the plan needs 58, over the quota of 56" in refused.stderr
    # Raised for 100 H100s, one more cluster's system nodes and its root volumes (11,992 + 100 of 100 GB): fill
    # stops at 100 nodes, one cluster of 102 on the shared plane; a 101st passes the H100 quota and nothing else.
    quotas = document["account"]["quotas"]
    quotas["instances"]["H100-SXM-8-80G"] = {"fr-par-2": 100}
    quotas["instances"]["POP2-4C-16G"]["fr-par-2"] = 58
    quotas["block_volumes"], quotas["block_storage_gb"] = 12_100, 1_210_000
    file.write_text(yaml.safe_dump(document))
    filled = aion("site", "add-clusters", str(file), "--hall", "hall-5", "--node-type", "H100-SXM-8-80G", "--fill")
    assert filled.returncode == 0, filled.stderr
    assert "# the account's quotas hold 100 of the hall's H100-SXM-8-80G" in filled.stderr
    passed = [line for line in filled.stderr.splitlines() if line.startswith("#   ")]
    assert passed == ["#   aion:account.quotas.instances.H100-SXM-8-80G.fr-par-2: the plan needs 101, over the quota of 100 "
                      "(the figure raised for it); raise it to 101 (+1) by a support ticket and declare it here, "
                      "or deploy 1 of them from another Organization (clusters: hall-5-c01)"]  # fmt: skip
    [entry] = yaml.safe_load(filled.stdout)
    assert entry["pools"][0]["size"] == 100
