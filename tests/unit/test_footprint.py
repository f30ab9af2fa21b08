"""The plug-in point of account limits: what each cluster of a programme takes, per phase and site."""

import yaml

from aion_factory.fleet.footprint import footprints
from aion_factory.programme import load_programme
from aion_factory.programme_plan import plan_programme


def test_each_cluster_of_each_phase_says_its_account_zone_plane_nodes_and_placement_groups(tmp_path):
    pool = {"name": "g", "node_type": "H100-SXM-8-80G", "size": 30, "multi_node_training": True, "by_phase": {"p2": 45}}
    site = {
        "site": {"name": "a", "facility_power_mw": 1, "pue": 1.0, "halls": [{"name": "h", "it_power_kw": 900}]},
        "phases": [{"name": "p1", "date": "2027-06"}, {"name": "p2", "date": "2028-06"}],
        "clusters": [{"name": "c1", "target": "scaleway", "hall": "h", "pools": [pool]}],
    }
    document = {
        "programme": "p",
        "accounts": [{"organization": "aion", "projects": ["prod"]}],
        "sites": [{"document": site, "organization": "aion", "project": "prod"}],
    }
    path = tmp_path / "programme.yaml"
    path.write_text(yaml.safe_dump(document))
    p1, p2 = footprints(plan_programme(load_programme(path)))
    assert (p1.phase, p1.site, p1.organization, p1.project, p1.cluster, p1.zone) == ("p1", "a", "aion", "prod", "c1", "fr-par-2")
    # 30 nodes: two placement groups of at most 20 (15 + 15); 45 nodes in p2: three (15 + 15 + 15).
    assert p1.nodes_by_type == {"H100-SXM-8-80G": 30, "POP2-4C-16G": 2} and p1.placement_groups == 2
    assert p2.nodes_by_type["H100-SXM-8-80G"] == 45 and p2.placement_groups == 3
    assert p1.control_plane == p2.control_plane is not None
