"""A programme of sites: planned phase by phase, totals added up, tenants split across sites, bad
input refused with its key path. Figures by hand from the catalog: H100-SXM-8-80G 10.2 kW and 8 GPUs
a node, B300-SXM-8-288G 14.5 kW and 8 GPUs (2.27 H100-equivalents each at FP8 and BF16)."""

import json
import tempfile
from pathlib import Path

import pytest
import yaml

from aion_factory.errors import ConfigError
from aion_factory.programme import load_programme
from aion_factory.programme_plan import plan_programme
from support import ROOT

PHASES = [{"name": "p1", "date": "2027-06"}, {"name": "p2", "date": "2028-06"}]


def site(name, hall_kw, nodes, **more):
    cluster = {"name": "c1", "target": "scaleway", "hall": "h", "pools": [{"name": "g", "node_type": "H100-SXM-8-80G", "size": nodes}]}
    return {
        "site": {"name": name, "facility_power_mw": 1, "pue": 1.0, "halls": [{"name": "h", "it_power_kw": hall_kw, **more}]},
        "phases": PHASES,
        "clusters": [cluster],
        "tenants": [],
    }


def write(tmp_path, document, name="programme.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_programme_over_budget_in_phase_1_is_refused_naming_phase_1_and_adds_up_its_sites(aion, tmp_path):
    write(tmp_path, site("b", 200, 10), "b.yaml")
    programme = {"programme": "two", "sites": [{"document": site("a", 100, 10, by_phase={"p2": 200})}, {"file": "b.yaml"}]}
    path = write(tmp_path, programme)
    result = aion("plan", str(path))
    assert result.returncode == 1
    # Site a's hall: 100 kW in p1 against 10 x 10.2 kW + 36.8 W = 102.0368 kW; 200 kW from p2.
    assert "a/h: in phase p1 (2027-06): hall a/h draws 102.0 kW rated" in result.stdout
    assert "in phase p2" not in result.stdout
    plan = plan_programme(load_programme(path))
    p1, p2 = plan.totals
    assert (p1.fits, p2.fits) == (False, True)
    assert p2.gpus_by_model == {"H100-SXM": 160} and round(p2.rated_it_kw, 4) == 204.0736
    assert p2.it_budget_kw == 2000 and p2.clusters == 2
    document = json.loads(aion("plan", str(path), "--json").stdout)
    assert [t["fits"] for t in document["totals"]] == [False, True]
    assert [s["name"] for s in document["sites"]] == ["a", "b"]


def test_a_tenant_across_sites_is_split_per_site_by_the_power_of_its_clusters():
    a, b = site("a", 500, 10), site("b", 500, 30)
    tenant = {"name": "lab", "power_kw": 204, "clusters": ["a/c1", "b/c1"]}
    programme = load_programme_of({"programme": "two", "sites": [{"document": a}, {"document": b}], "tenants": [tenant]})
    plans = plan_programme(programme).sites
    # 204 kW over 102 + 306 kW of GPUs: 51 kW at a (51/102 of its 80 GPUs: 40) and 153 kW at b (153/306 of 240: 120).
    assert plans[0].plans[0].plan.tenant("lab").quotas_by_cluster == {"c1": {"h100-sxm": 40}}
    assert plans[1].plans[0].plan.tenant("lab").quotas_by_cluster == {"c1": {"h100-sxm": 120}}
    assert plans[0].plans[0].plan.tenant("lab").allotted_kw == 51


def load_programme_of(document):
    folder = Path(tempfile.mkdtemp())
    return load_programme(write(folder, document))


@pytest.mark.parametrize(
    ("sites", "path", "says"),
    [
        ([{"file": "missing.yaml"}], "sites[0].file", "cannot read the site document"),
        ([{"file": "programme.yaml"}], "sites[0].file", "is this programme itself: a cycle"),
        ([{"file": "loop.yaml"}], "sites[0].file", "a programme that names this file"),  # said of loop.yaml's key below
        ([{"file": "x.yaml", "document": {}}], "sites[0]", "exactly one of them"),
        ([{"document": {**site("a", 100, 1), "phases": [{"name": "p1", "date": "2027-06"}, {"name": "p1", "date": "2028-06"}]}}],
         "sites[0].document: phases", "'p1' is used 2 times"),
    ],
)  # fmt: skip
def test_bad_programmes_are_refused_with_their_key_path(aion, tmp_path, sites, path, says):
    write(tmp_path, {"programme": "loop", "sites": [{"file": "programme.yaml"}]}, "loop.yaml")
    programme = write(tmp_path, {"programme": "p", "sites": sites})
    result = aion("plan", str(programme))
    assert result.returncode == 2 and result.stdout == "", result.stdout
    where = programme.with_name("loop.yaml") if "names this file" in says else programme
    assert f"{where}: {path}" in result.stderr and says in result.stderr, result.stderr


def test_sites_of_a_programme_share_their_phases_and_name_known_accounts(tmp_path):
    other = {**site("b", 100, 1), "phases": [{"name": "p1", "date": "2027-07"}]}
    ahead = {**site("c", 100, 1), "current_phase": "p2"}
    twin = site("a", 100, 1)
    sites = [{"document": site("a", 100, 1), "organization": "nobody"}, {"document": other}, {"document": ahead}, {"document": twin}]
    document = {"programme": "p", "sites": sites}
    with pytest.raises(ConfigError) as refused:
        load_programme(write(tmp_path, document))
    messages = [str(p) for p in refused.value.problems]
    assert any("sites[1].document: phases: p1 2027-07 differ from" in m for m in messages), messages
    assert any("sites[0].organization: 'nobody' is not an account" in m for m in messages), messages
    assert any("sites[2].document: current_phase: 'p2' differs from" in m for m in messages), messages
    assert any("sites[3].document: site.name: 'a' names" in m for m in messages), messages


def test_the_1gw_example_plans_clean_in_every_phase(aion):
    result = aion("plan", str(ROOT / "examples/aion-1gw/programme.yaml"))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    plan = plan_programme(load_programme(ROOT / "examples/aion-1gw/programme.yaml"))
    assert [p.name for p in plan.phases] == ["p1", "p2", "p3"]
    assert [t.facility_budget_kw for t in plan.totals] == [100_000, 400_000, 1_000_000]
    final = plan.totals[-1]
    assert final.clusters >= 150 and final.tenants >= 1000 and len(plan.sites) == 3
    # p1: Montereau's two halls of 43,478 kW, 8 clusters each of floor((43,478 x 0.99 / 8 x 1000 - 36.8) / 14,500) = 371 B300 nodes.
    assert plan.totals[0].gpus_by_model == {"B300-SXM": 2 * 8 * 371 * 8}


def test_a_tenant_across_sites_that_asks_for_more_gpus_than_there_are_is_named_in_the_programme(tmp_path):
    a, b = site("a", 500, 10), site("b", 500, 10)
    a["tenants"] = [{"name": "own", "power_kw": 102, "clusters": ["c1"]}]  # all of a's 80 GPUs already
    tenant = {"name": "lab", "power_kw": 102, "clusters": ["a/c1", "b/c1"]}
    path = write(tmp_path, {"programme": "two", "sites": [{"document": a}, {"document": b}], "tenants": [tenant]})
    warnings = plan_programme(load_programme(path)).warnings
    assert {w.path for w in warnings} == {"aion:tenants[0].power_kw", f"{path}: tenants[0].power_kw"}


def test_the_ramp_draws_each_level_per_phase_against_that_phase_budget_and_marks_the_overrun(tmp_path):
    from aion_factory.ramp_chart import ramp_chart, write_ramp

    programme = {"programme": "two", "sites": [{"document": site("a", 100, 10, by_phase={"p2": 200})}]}
    plan = plan_programme(load_programme(write(tmp_path, programme)))
    chart = ramp_chart(plan)
    hall = next(row for row in chart.rows if row.label.strip() == "h")
    p1, p2 = hall.cells
    # Each level on its own scale: its largest figure in any phase (the 200 kW budget of p2) is 120 px.
    assert (p1.fits, p2.fits) == (False, True)
    assert p1.figures == "0.1 / 0.1 MW" and round(p1.rated_width, 1) == round(102.0368 * 120 / 200, 1)
    assert p2.budget_x - p2.x == 120.0 and p1.budget_x - p1.x == 60.0
    written = write_ramp(plan, tmp_path / "report")
    assert [p.name for p in written] == ["ramp.svg", "ramp.html"]
    assert "#d0343a" in written[0].read_text()  # the overrun is drawn red


def test_the_json_of_a_programme_follows_its_committed_schema(aion):
    import jsonschema

    result = aion("plan", str(ROOT / "examples/aion-1gw/programme.yaml"), "--json", "--phase", "p1")
    document = json.loads(result.stdout)
    schema = json.loads((ROOT / "docs/programme-plan.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert result.returncode == 0 and [t["phase"] for t in document["totals"]] == ["p1"]
    montereau = document["sites"][0]["phases"][0]["plan"]
    # 16 clusters of 371 B300-SXM-8 nodes (14.5 kW) and 2 system nodes (18.4 W).
    assert montereau["site"]["rated_it_kw"] == round(16 * (371 * 14.5 + 2 * 0.0184), 3)
    unpowered = [lv for lv in montereau["levels"] if lv["budget_kw"] == 0]
    assert len(unpowered) == 8 and all(lv["percent_of_budget"] is None for lv in unpowered)
    # Organization aion holds every site: 16 Kapsule clusters in p1, against Scaleway's default of 40 for
    # a validated identity (catalog: kapsule_clusters); 94 in p2, over it: to raise by p2's date.
    [aion_p1] = document["organizations"]
    clusters = {q["name"]: q for q in aion_p1["quotas"]}["kapsule_clusters"]
    assert (aion_p1["phase"], clusters["limit"], clusters["raised"]) == ("p1", 40, False)
    assert clusters["needed"] == sum(t["clusters"] for t in document["totals"]) == 16
    p2 = json.loads(aion("plan", str(ROOT / "examples/aion-1gw/programme.yaml"), "--json", "--phase", "p2").stdout)
    [aion_p2] = p2["organizations"]
    assert aion_p2["fits"] is False and {q["name"]: q["needed"] for q in aion_p2["quotas"]}["kapsule_clusters"] == 94


def test_a_programme_naming_a_programme_takes_its_sites_and_nesting_is_bounded(aion, tmp_path):
    write(tmp_path, {"programme": "inner", "sites": [{"document": site("b", 200, 1)}]}, "inner.yaml")
    outer = write(tmp_path, {"programme": "outer", "sites": [{"document": site("a", 200, 1)}, {"file": "inner.yaml"}]})
    assert [s.spec.site.name for s in load_programme(outer).sites] == ["a", "b"]
    tenant = {"name": "lab", "power_kw": 1, "clusters": ["b/c1"]}
    write(tmp_path, {"programme": "inner", "sites": [{"document": site("b", 200, 1)}], "tenants": [tenant]}, "inner.yaml")
    with pytest.raises(ConfigError) as refused:
        load_programme(outer)
    assert "sites[1].file: 'inner.yaml' has `tenants:`; allowed: tenants across sites in the outermost programme" in str(refused.value)
    write(tmp_path, {"programme": "inner", "sites": [{"document": site("b", 200, 1)}]}, "inner.yaml")
    for depth in range(10):  # p0 names p1 ... names p9: ten programmes deep
        named = f"p{depth + 1}.yaml" if depth < 9 else "inner.yaml"
        write(tmp_path, {"programme": f"p{depth}", "sites": [{"file": named}]}, f"p{depth}.yaml")
    result = aion("plan", str(tmp_path / "p0.yaml"))
    assert result.returncode == 2 and "programmes nest more than 8 deep; allowed: at most that" in result.stderr


def test_the_sites_of_one_organization_add_up_against_its_quotas_phase_by_phase(aion, tmp_path):
    # Two sites of one Kapsule cluster each deploy into `aion`, whose Kapsule-cluster quota was raised to 1:
    # 2 clusters pass it. Site b's cluster arrives in p2, so p1 holds (1 of 1) and p2 must raise it to 2.
    # H100-SXM-8-80G Instances: Scaleway's published default is 0 (a support ticket gives them), so
    # each phase asks for its nodes: 10 in p1, 10 + 30 in p2, fewer than the 25 raised for p1.
    b = site("b", 500, 30)
    b["clusters"][0]["from_phase"] = "p2"
    quotas = {"kapsule_clusters": 1, "instances": {"H100-SXM-8-80G": {"fr-par-2": 25}}}
    programme = {
        "programme": "two",
        "accounts": [{"organization": "aion", "projects": ["a", "b"], "quotas": quotas}],
        "sites": [{"document": site("a", 500, 10), "organization": "aion", "project": "a"},
                  {"document": b, "organization": "aion", "project": "b"}],
    }  # fmt: skip
    plan = plan_programme(load_programme_of(programme))
    p1, p2 = (organization for organization in plan.organizations if organization.organization == "aion")
    assert [(u.name, u.total, u.limit) for u in p1.to_raise] == []
    assert [(u.name, u.total, u.limit) for u in p2.to_raise] == [
        ("kapsule_clusters", 2, 1),
        ("H100-SXM-8-80G Instances in fr-par-2", 40, 25),
    ]
    result = aion("plan", str(write(tmp_path, programme)))
    assert "aion in p1 (2027-06): every quota holds" in result.stdout
    assert "aion in p2 (2028-06): raise kapsule_clusters from 1 to 2" in result.stdout
    assert "aion in p2 (2028-06): raise H100-SXM-8-80G Instances in fr-par-2 from 25 to 40" in result.stdout
