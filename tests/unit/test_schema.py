"""The committed schemas are current, and the stack-file and site-document schemas an editor
uses accept every file the repository ships and refuse what `aion` refuses."""

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from jsonschema.protocols import Validator

from aion_factory.errors import ConfigError
from aion_factory.schema import render_plan_schema, render_reference, render_schema, render_site_schema
from aion_factory.site import stack_from_config
from support import MINIMAL, ROOT

STACK_SCHEMA = ROOT / "stacks" / "aion.schema.json"
SITE_SCHEMA = ROOT / "stacks" / "aion-site.schema.json"
SKIPPED = {".venv", ".git", "build", "tools", "node_modules"}


def test_committed_json_schema_is_current():
    committed = STACK_SCHEMA.read_text()
    assert committed == render_schema(), "stale: run `python -m aion_factory.schema > stacks/aion.schema.json`"


def test_committed_site_schema_is_current():
    committed = SITE_SCHEMA.read_text()
    assert committed == render_site_schema(), "stale: run `python -m aion_factory.schema --site > stacks/aion-site.schema.json`"


def test_committed_config_reference_is_current():
    committed = (ROOT / "docs" / "CONFIG.md").read_text()
    assert committed == render_reference(), "stale: run `python -m aion_factory.schema --markdown > docs/CONFIG.md`"


def test_committed_plan_schema_is_current():
    committed = (ROOT / "docs" / "plan.schema.json").read_text()
    assert committed == render_plan_schema(), "stale: run `python -m aion_factory.schema --plan > docs/plan.schema.json`"


def repository_files(pattern: str) -> list[Path]:
    return sorted(p for p in ROOT.rglob(pattern) if not SKIPPED & set(p.relative_to(ROOT).parts))


def stack_files() -> list[Path]:
    # Pulumi.<stack>.yaml anywhere, and the examples' single-file stacks (examples/*.yaml).
    return [*repository_files("Pulumi.*.yaml"), *sorted((ROOT / "examples").glob("*.yaml"))]


def site_documents() -> list[Path]:
    # Every document a stack file names, and any other site.yaml.
    named = {(p.parent / yaml.safe_load(p.read_text())["config"].get("aion:site_file", "")).resolve() for p in stack_files()}
    return sorted({p for p in named if p.is_file()} | set(repository_files("site.yaml")))


def validator(schema_file: Path) -> Validator:
    schema = yaml.safe_load(schema_file.read_text())
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft7Validator  # what the YAML language server supports
    cls.check_schema(schema)
    return cls(schema)


STACK = validator(STACK_SCHEMA)
SITE = validator(SITE_SCHEMA)


def refusals(document: Any, checker: Validator = STACK) -> list[str]:
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in checker.iter_errors(document))


def test_the_repository_ships_stack_files_and_a_site_document():
    names = [str(p.relative_to(ROOT)) for p in stack_files()]
    assert {"stacks/Pulumi.local.yaml", "stacks/Pulumi.dc5-train-1.yaml", "examples/aion-200mw.yaml"} <= set(names)
    assert "examples/aion-200mw/stacks/Pulumi.h1-c01.yaml" in names and len(names) >= 31
    assert [str(p.relative_to(ROOT)) for p in site_documents()] == [
        "examples/aion-1gw/sites/montereau.yaml",
        "examples/aion-1gw/sites/site-b.yaml",
        "examples/aion-1gw/sites/site-c.yaml",
        "examples/aion-200mw/site.yaml",
    ]


def schema_line_target(path: Path) -> Path:
    first = path.read_text().partition("\n")[0]
    assert first.startswith("# yaml-language-server: $schema="), f"{path}: no schema line first"
    return (path.parent / first.partition("$schema=")[2]).resolve()


@pytest.mark.parametrize("path", stack_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_stack_file_names_the_stack_schema_and_follows_it(path: Path):
    assert schema_line_target(path) == STACK_SCHEMA
    assert refusals(yaml.safe_load(path.read_text())) == []


@pytest.mark.parametrize("path", site_documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_site_document_names_the_site_schema_and_follows_it(path: Path):
    assert schema_line_target(path) == SITE_SCHEMA
    assert refusals(yaml.safe_load(path.read_text()), SITE) == []


def inline(**extra: Any) -> dict[str, Any]:
    config = {f"aion:{key}": copy.deepcopy(value) for key, value in MINIMAL.items()}
    return {"config": {**config, **extra}}


def of_site_document(**extra: Any) -> dict[str, Any]:
    return {"config": {"aion:site_file": "../site.yaml", "aion:cluster": "c", **extra}}


def test_a_site_documents_stack_is_not_asked_for_aion_site():
    # The false "aion:site is required" an editor gave on a stack of a site document.
    assert refusals(of_site_document()) == []
    assert refusals(of_site_document(**{"aion:kubeconfig": "/tmp/kubeconfig"})) == []


def test_pulumis_own_keys_and_other_namespaces_stay_allowed():
    document = inline(**{"scaleway:region": "fr-par", "kubernetes:context": "admin", "aion-factory:note": {"secure": "v1:abc"}})
    document.update(encryptionsalt="v1:salt", secretsprovider="passphrase", encryptedkey="key", environment=["aion/prod"])
    assert refusals(document) == []
    assert refusals(of_site_document(**{"scaleway:region": "fr-par"})) == []


def misspelt_deep_inside() -> dict[str, Any]:
    document = inline()
    pool = document["config"]["aion:clusters"][0]["pools"][0]
    pool["nodetype"] = pool.pop("node_type")
    return document


# Each case: a stack file, what the schema says (all of it), and the key `aion` names for it.
REFUSED: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "a misspelt aion key": (
        inline(**{"aion:tennants": []}),
        ["config: 'aion:tennants' does not match any of the regexes: '^(?!aion:)[^:]+:.+$'"],
        "aion:tennants",
    ),
    "a misspelt key next to a site document": (
        of_site_document(**{"aion:clustr": "c"}),
        ["config: 'aion:clustr' does not match any of the regexes: '^(?!aion:)[^:]+:.+$'"],
        "aion:clustr",
    ),
    "the site's own keys in a site document's stack": (
        of_site_document(**{"aion:tenants": []}),
        ["config/aion:tenants: [] should not be valid under {}"],  # editors show its errorMessage
        "aion:tenants",
    ),
    "a cluster without a site document": (
        inline(**{"aion:cluster": "c"}),
        ["config/aion:cluster: 'c' should not be valid under {}"],
        "aion:cluster",
    ),
    "a site document's stack naming no cluster": (
        {"config": {"aion:site_file": "../site.yaml"}},
        ["config: 'aion:cluster' is a required property"],
        "aion:cluster",
    ),
    "an inline stack without its site": (
        {"config": {"aion:clusters": []}},
        ["config: 'aion:site' is a required property"],
        "aion:site",
    ),
    "a misspelt key deep inside": (
        misspelt_deep_inside(),
        [
            "config/aion:clusters/0/pools/0: 'node_type' is a required property",
            "config/aion:clusters/0/pools/0: Additional properties are not allowed ('nodetype' was unexpected)",
        ],
        "aion:clusters[0].pools[0].nodetype",
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_the_schema_refuses_what_aion_refuses(case: str, tmp_path: Path):
    document, schema_says, aion_names = REFUSED[case]
    assert refusals(document) == sorted(schema_says)
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(MINIMAL))
    values = {key.removeprefix("aion:"): value for key, value in document["config"].items()}
    with pytest.raises(ConfigError) as refused:
        stack_from_config(values, tmp_path / "stacks")
    assert aion_names in [p.path for p in refused.value.problems]


def test_unknown_top_level_keys_are_refused_and_config_is_required():
    assert refusals({"confg": inline()["config"]}) == [
        ": 'config' is a required property",
        ": Additional properties are not allowed ('confg' was unexpected)",
    ]


def test_a_misspelt_key_of_a_site_document_is_refused():
    document = copy.deepcopy(MINIMAL)
    document["tenant"] = document.pop("tenants")
    assert refusals(document, SITE) == [": Additional properties are not allowed ('tenant' was unexpected)"]


def test_editors_are_told_why_a_key_is_refused():
    schema = yaml.safe_load(STACK_SCHEMA.read_text())["properties"]["config"]
    assert schema["then"]["properties"]["aion:tenants"]["errorMessage"].startswith("the site document says this")
    assert (
        schema["else"]["properties"]["aion:kubeconfig"]["errorMessage"] == "needs aion:site_file; an inline site deploys all its clusters"
    )


def test_committed_programme_schemas_are_current():
    from aion_factory.schema import render_programme_plan_schema, render_programme_schema

    assert (ROOT / "stacks" / "aion-programme.schema.json").read_text() == render_programme_schema(), (
        "stale: run `python -m aion_factory.schema --programme > stacks/aion-programme.schema.json`"
    )
    assert (ROOT / "docs" / "programme-plan.schema.json").read_text() == render_programme_plan_schema(), (
        "stale: run `python -m aion_factory.schema --programme-plan > docs/programme-plan.schema.json`"
    )


def test_the_programme_schema_accepts_the_1gw_programme_and_its_sites():
    import json

    programme = json.loads((ROOT / "stacks" / "aion-programme.schema.json").read_text())
    jsonschema.Draft7Validator(programme).validate(yaml.safe_load((ROOT / "examples/aion-1gw/programme.yaml").read_text()))
    site = json.loads(SITE_SCHEMA.read_text())
    for path in sorted((ROOT / "examples/aion-1gw/sites").glob("*.yaml")):
        jsonschema.Draft7Validator(site).validate(yaml.safe_load(path.read_text()))
