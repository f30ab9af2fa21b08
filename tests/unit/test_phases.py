"""Phases: every phase of a site planned on its own view, refused naming the phase, and the phase a
stack deploys. Figures by hand from the catalog: H100-SXM-8-80G 10.2 kW and 8 GPUs a node,
POP2-4C-16G 18.4 W (a system pool of 2: 36.8 W)."""

import datetime

import pytest
import yaml

from aion_factory.config import spec_from_config
from aion_factory.errors import ConfigError, NotDeployable
from aion_factory.phases import current_view, views
from aion_factory.programme import programme_of_site
from aion_factory.programme_plan import plan_programme
from aion_factory.programme_stack import deployed_phase
from aion_factory.site import SiteStack


def phased(**changes):
    """A site of two phases: hall h's budget 100 kW in p1, 200 kW from p2; cluster c's pool 10 nodes (102 kW) in p1."""
    document = {
        "site": {"name": "s", "facility_power_mw": 1, "pue": 1.0, "halls": [{"name": "h", "it_power_kw": 100, "by_phase": {"p2": 200}}]},
        "phases": [{"name": "p1", "date": "2027-06"}, {"name": "p2", "date": "2028-06"}],
        "clusters": [{"name": "c", "target": "scaleway", "hall": "h", "pools": [{"name": "g", "node_type": "H100-SXM-8-80G", "size": 10}]}],
        "tenants": [],
    }
    document.update(changes)
    return document


def test_a_site_over_budget_in_phase_1_is_refused_naming_phase_1_though_the_final_phase_fits():
    spec = spec_from_config(phased())
    p1, p2 = plan_programme(programme_of_site(spec, "s")).sites[0].plans
    # p1: 10 x 10.2 kW + 36.8 W = 102.0368 kW rated, against the hall's 100 kW.
    assert [v.path for v in p1.plan.violations] == ["s/h"]
    message = p1.plan.violations[0].message
    assert message.startswith("in phase p1 (2027-06): hall s/h draws 102.0 kW rated, over its limit of 100.0 kW")
    assert message.endswith("clusters drawing on it: c")
    assert p2.plan.fits and p2.plan.levels[1].budget_kw == 200
    with pytest.raises(NotDeployable) as refused:
        deployed_phase(SiteStack(spec, ("c",)), datetime.date(2029, 1, 1))
    assert [p.message.split(":")[0] for p in refused.value.problems] == ["in phase p1 (2027-06)"]


def test_pools_grow_and_levels_are_powered_from_their_phase():
    hall = {"name": "h", "it_power_kw": 200}
    late = {"name": "late", "it_power_kw": 50, "from_phase": "p2"}
    pool = {"name": "g", "node_type": "H100-SXM-8-80G", "size": 5, "by_phase": {"p2": 15}}
    clusters = [
        {"name": "c", "target": "scaleway", "hall": "h", "pools": [pool]},
        {
            "name": "d",
            "target": "scaleway",
            "hall": "late",
            "from_phase": "p2",
            "pools": [{"name": "g", "node_type": "H100-SXM-8-80G", "size": 4}],
        },
    ]
    spec = spec_from_config(phased(site={"name": "s", "facility_power_mw": 1, "pue": 1.0, "halls": [hall, late]}, clusters=clusters))
    first, second = views(spec)
    assert [c.name for c in first.spec.clusters] == ["c"] and first.spec.clusters[0].pools[0].size == 5
    assert [h.it_power_kw for h in first.spec.site.halls] == [200, 0]
    assert second.spec.clusters[0].pools[0].size == 15 and [h.it_power_kw for h in second.spec.site.halls] == [200, 50]
    p1, p2 = plan_programme(programme_of_site(spec, "s")).sites[0].plans
    # p1: 5 x 10.2 + 0.0368 = 51.0368 kW; p2: 15 x 10.2 + 4 x 10.2 + 2 x 0.0368 = 193.8736 kW, 152 GPUs.
    assert round(p1.plan.site.rated_it_kw, 4) == 51.0368 and p1.plan.site.gpus_by_model == {"H100-SXM": 40}
    assert round(p2.plan.site.rated_it_kw, 4) == 193.8736 and p2.plan.site.gpus_by_model == {"H100-SXM": 152}


def test_a_tenant_runs_from_the_first_phase_one_of_its_clusters_exists_with_its_allotment_then():
    clusters = [
        {"name": "c", "target": "scaleway", "hall": "h", "pools": [{"name": "g", "node_type": "H100-SXM-8-80G", "size": 5}]},
        {
            "name": "d",
            "target": "scaleway",
            "hall": "h",
            "from_phase": "p2",
            "pools": [{"name": "g", "node_type": "H100-SXM-8-80G", "size": 5}],
        },
    ]
    tenants = [
        {"name": "t", "power_kw": 25.5, "by_phase": {"p2": 51}, "clusters": ["c", "d"]},
        {"name": "u", "power_kw": 10, "clusters": ["d"]},
    ]
    spec = spec_from_config(phased(clusters=clusters, tenants=tenants))
    p1, p2 = plan_programme(programme_of_site(spec, "s")).sites[0].plans
    # p1: t has 25.5 of c's 51 kW: 20 of its 40 GPUs; u waits for d.
    assert [t.name for t in p1.plan.tenants] == ["t"] and p1.plan.tenant("t").quotas_by_cluster == {"c": {"h100-sxm": 20}}
    # p2: 51 kW over 102 kW of GPUs: 20 GPUs on each; u: floor(10 x 40 / 51) = 7 on d.
    assert p2.plan.tenant("t").quotas_by_cluster == {"c": {"h100-sxm": 20}, "d": {"h100-sxm": 20}}
    assert p2.plan.tenant("u").quotas_by_cluster == {"d": {"h100-sxm": 7}}


def test_the_stacks_deploy_the_phase_whose_date_has_come_or_the_one_the_document_names():
    spec = spec_from_config(phased(site={"name": "s", "facility_power_mw": 1, "pue": 1.0, "halls": [{"name": "h", "it_power_kw": 200}]}))
    assert current_view(spec, datetime.date(2027, 5, 31)) is None
    assert deployed_phase(SiteStack(spec, ("c",)), datetime.date(2027, 5, 31)) is None  # no power yet: nothing deployed
    assert current_view(spec, datetime.date(2027, 6, 1)).phase.name == "p1"
    assert current_view(spec, datetime.date(2030, 1, 1)).phase.name == "p2"
    named = spec.model_copy(update={"current_phase": "p1"})
    assert deployed_phase(SiteStack(named, ("c",)), datetime.date(2030, 1, 1)).phase.name == "p1"
    unphased = spec_from_config(
        phased(phases=[], site={"name": "s", "facility_power_mw": 1, "pue": 1.0, "halls": [{"name": "h", "it_power_kw": 200}]})
    )
    assert current_view(unphased, datetime.date(2000, 1, 1)).phase is None


@pytest.mark.parametrize(
    ("changes", "path", "says"),
    [
        (
            {"phases": [{"name": "p1", "date": "2028-06"}, {"name": "p2", "date": "2027-06"}]},
            "aion:phases[1].date",
            "is not after phase 'p1'",
        ),
        ({"phases": [{"name": "p1", "date": "2027-06"}, {"name": "p1", "date": "2028-06"}]}, "aion:phases", "'p1' is used 2 times"),
        ({"phases": [{"name": "p1", "date": "2027-13"}]}, "aion:phases[0].date", "is not a date"),
        ({"current_phase": "p3"}, "aion:current_phase", "'p3' is not a phase of the site; allowed: p1, p2"),
    ],
)
def test_bad_phases_are_refused_with_their_key_path(changes, path, says):
    with pytest.raises(ConfigError) as refused:
        spec_from_config(phased(**changes))
    assert any(p.path == path and says in p.message for p in refused.value.problems), refused.value.problems


def test_a_cluster_or_pool_in_a_phase_that_does_not_exist_is_refused(aion, tmp_path):
    document = phased()
    document["clusters"][0]["from_phase"] = "p9"
    document["clusters"][0]["pools"][0]["by_phase"] = {"p0": 3}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(document))
    result = aion("plan", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert f"{path}: clusters[0].from_phase: 'p9' is not a phase of the site; allowed: p1, p2" in result.stderr
    assert f"{path}: clusters[0].pools[0].by_phase.p0: 'p0' is not a phase of the site" in result.stderr


def test_aion_plan_of_a_phased_site_checks_every_phase_and_shows_one_with_phase(aion, tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(phased()))
    result = aion("plan", str(path))
    assert result.returncode == 1
    assert "in phase p1 (2027-06): hall s/h draws 102.0 kW rated" in result.stdout
    ramp = [line.split() for line in result.stdout.splitlines() if line.startswith(("p1 (", "p2 ("))]
    assert [(row[0], row[-1]) for row in ramp] == [("p1", "NO"), ("p2", "yes")]
    one = aion("plan", str(path), "--phase", "p2")
    assert one.returncode == 1 and "== phase p2 (2028-06)" in one.stdout and "== phase p1" not in one.stdout
    bad = aion("plan", str(path), "--phase", "p7")
    assert bad.returncode == 2 and "--phase: 'p7' is not a phase of s; allowed: p1, p2" in bad.stderr
