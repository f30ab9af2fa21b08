"""A site document and its cluster stacks: every stack plans the whole site and deploys its own cluster."""

from pathlib import Path
from typing import Any

import pytest

from aion_factory import ConfigError, load_site, load_stack, make_plan
from aion_factory.site import read_yaml
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
    path = stack(tmp_path / "stacks", "x", site_file="../sites/dc.yaml", cluster="train-a", tenants=[], zone="fr-par-1", clustre="")
    assert problems(lambda: load_stack(path)) == [
        "aion:clustre: the site document says this (did you mean 'cluster'?); "
        "allowed next to aion:site_file: site_file, cluster, kubeconfig, programme",
        "aion:tenants: the site document says this; allowed next to aion:site_file: site_file, cluster, kubeconfig, programme",
        "aion:zone: the site document says this; allowed next to aion:site_file: site_file, cluster, kubeconfig, programme",
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


# Reading files anyone may have written (components/yaml_input.py); the whole hostile corpus: test_hostile_files.py.


def read_problems(tmp_path: Path, text: str | bytes) -> list[str]:
    path = tmp_path / "Pulumi.x.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_yaml(path, "stack file")
    return [str(p).removeprefix(f"{path}: ") for p in caught.value.problems]


def test_a_duplicate_key_is_refused_naming_it_and_both_lines(tmp_path: Path):
    text = "config:\n  aion:site:\n    name: a\n    pue: 1.2\n    name: b\n"
    assert read_problems(tmp_path, text) == [
        "aion:site.name: is set twice (lines 3 and 5), and YAML would keep the last silently; allowed: each key once"
    ]


def test_aliases_that_expand_past_the_bound_are_refused_before_anything_is_built(tmp_path: Path):
    levels = ["config:", "  aion:l0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"  aion:l{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    [problem] = read_problems(tmp_path, "\n".join(levels) + "\n")
    assert problem == "aion:l5: expands to more than 1,000,000 values (aliases included); allowed: at most that many"


def test_small_aliases_and_merge_keys_still_work(tmp_path: Path):
    path = tmp_path / "site.yaml"
    path.write_text("base: &base {target: local, hall: h}\nclusters:\n  - {<<: *base, name: a}\n  - {<<: *base, name: b, hall: g}\n")
    assert read_yaml(path, "site document")["clusters"] == [
        {"target": "local", "hall": "h", "name": "a"},
        {"target": "local", "hall": "g", "name": "b"},
    ]


def test_a_file_that_is_not_utf8_is_refused_with_where(tmp_path: Path):
    assert read_problems(tmp_path, "config:\n  aion:site: caf\xe9\n".encode("latin-1")) == [
        "the stack file is not UTF-8 text (line 2, column 17); allowed: a UTF-8 YAML file"
    ]


def test_nesting_past_the_bound_is_refused_naming_where(tmp_path: Path):
    [problem] = read_problems(tmp_path, "config:\n  aion:site: " + "[" * 40 + "]" * 40 + "\n")
    assert problem == "aion:site" + "[0]" * 31 + ": is nested 32 levels deep already; allowed: at most 32 levels"


def test_a_5001_digit_integer_is_refused_naming_its_key_and_cut(tmp_path: Path):
    [problem] = read_problems(tmp_path, "config:\n  aion:site:\n    pue: " + "7" * 5001 + "\n")
    assert problem == "aion:site.pue: '" + "7" * 56 + "... (5,001 characters) is a number of 5,001 characters; allowed: at most 40"


def test_a_file_past_the_size_bound_is_refused_unread(tmp_path: Path):
    assert read_problems(tmp_path, "# " + "x" * 5 * 1024**2) == ["the stack file is over 4 MiB; allowed: at most that"]


def test_an_alias_of_its_own_value_is_refused(tmp_path: Path):
    assert read_problems(tmp_path, "config:\n  aion:site: &s [*s]\n") == [
        "aion:site[0]: is an alias of a value that contains it; allowed: aliases of other values"
    ]
