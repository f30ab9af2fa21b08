"""A site document and its cluster stacks: every stack plans the whole site and deploys its own cluster."""

from pathlib import Path
from typing import Any

import pytest

from aion_factory import ConfigError, load_site, load_stack, make_plan
from support import MINIMAL, ROOT, one_hall_two_stacks, stack, write


def problems(call: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        call()
    return [str(p) for p in caught.value.problems]


def test_a_cluster_stack_plans_the_whole_site_and_deploys_its_own_cluster(tmp_path: Path):
    stacks = one_hall_two_stacks(tmp_path)
    found = load_stack(stacks / "Pulumi.train-b.yaml")
    assert found.clusters == ("train-b",)
    assert found.site_file == (tmp_path / "sites/dc.yaml").resolve()  # relative to the stack file
    assert [c.name for c in found.spec.clusters] == ["train-a", "train-b"]


def test_two_stacks_that_each_fit_alone_are_refused_together(tmp_path: Path):
    stacks = one_hall_two_stacks(tmp_path)
    for name in ("train-a", "train-b"):
        [violation] = make_plan(load_stack(stacks / f"Pulumi.{name}.yaml").spec).violations
        assert violation.path == "dc/hall-1"
        assert "draws 5,800.1 kW rated, over its limit of 4,400.0 kW" in violation.message
        assert violation.message.endswith("clusters drawing on it: train-a, train-b")
    # Each alone, as each stack planned only its own file before: 66 percent of the hall, it fits.
    spec = load_stack(stacks / "Pulumi.train-a.yaml").spec
    alone = spec.model_copy(update={"clusters": spec.clusters[:1]})
    assert make_plan(alone).violations == () and round(make_plan(alone).levels[1].rated_kw) == 2900


def test_an_inline_stack_is_a_one_stack_site():
    found = load_stack(ROOT / "stacks/Pulumi.local.yaml")
    assert (found.clusters, found.site_file) == (("local",), None)


def test_a_stack_of_a_site_says_nothing_the_site_says(tmp_path: Path):
    one_hall_two_stacks(tmp_path)
    path = stack(tmp_path / "stacks", "x", site_file="../sites/dc.yaml", cluster="train-a", tenants=[], zone="fr-par-1")
    assert problems(lambda: load_stack(path)) == [
        "aion:tenants: the site document says this; allowed next to aion:site_file: site_file, cluster, kubeconfig",
        "aion:zone: the site document says this; allowed next to aion:site_file: site_file, cluster, kubeconfig",
    ]


def test_an_unknown_cluster_is_named_with_the_clusters_there_are(tmp_path: Path):
    one_hall_two_stacks(tmp_path)
    path = stack(tmp_path / "stacks", "x", site_file="../sites/dc.yaml", cluster="train-c")
    [problem] = problems(lambda: load_stack(path))
    assert problem.startswith("aion:cluster: 'train-c' is not a cluster of ") and problem.endswith("its clusters: train-a, train-b")
    without = stack(tmp_path / "stacks", "y", site_file="../sites/dc.yaml")
    assert problems(lambda: load_stack(without)) == ["aion:cluster: None: a stack of a site document names its cluster"]


def test_a_site_that_cannot_be_read_is_named(tmp_path: Path):
    missing = stack(tmp_path, "m", site_file="nope.yaml", cluster="c")
    [problem] = problems(lambda: load_stack(missing))
    assert problem.endswith("nope.yaml: cannot read the site document: No such file or directory")
    (tmp_path / "broken.yaml").write_text("site: [unclosed\n")
    assert "is not valid YAML" in problems(lambda: load_stack(stack(tmp_path, "b", site_file="broken.yaml", cluster="c")))[0]
    write(tmp_path / "stackish.yaml", {"config": {}})
    [problem] = problems(lambda: load_stack(stack(tmp_path, "s", site_file="stackish.yaml", cluster="c")))
    assert problem.endswith("is not a site document; it needs `site:` at its top level (and `clusters:`, `tenants:`)")


def test_a_site_documents_own_errors_name_its_file_and_key(tmp_path: Path):
    site = {**MINIMAL, "clusters": [{**MINIMAL["clusters"][0], "hall": "nope"}]}
    path = write(tmp_path / "site.yaml", site)
    assert problems(lambda: load_site(path)) == [f"{path}: clusters[0].hall: 'nope' is not a hall of the site; allowed: h"]


def test_an_inline_stack_cannot_name_a_cluster(tmp_path: Path):
    path = stack(tmp_path, "i", **MINIMAL, cluster="c")
    assert problems(lambda: load_stack(path)) == ["aion:cluster: needs aion:site_file; an inline site deploys all its clusters"]
