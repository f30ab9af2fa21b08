"""`aion`'s command tree: output for machines (`--format json|github`, bad input included), stack
names through Pulumi.yaml's stackConfigDir, `schema`, `completion`, `local`, and the help's contract."""

import json
import re
import subprocess

import jsonschema
import pytest
import yaml

from aion_factory import schema
from support import MINIMAL, ROOT


def stack_file(folder, values, name="test") -> str:
    path = folder / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": {f"aion:{k}": v for k, v in values.items()}}))
    return str(path)


def over_budget(folder) -> str:
    values = json.loads(json.dumps(MINIMAL))
    values["clusters"][0]["pools"][0]["size"] = 60  # 613.9 kW in a 500 kW row
    values["clusters"][0]["cni"] = "none"  # and a warning: tenants not fenced
    return stack_file(folder, values)


def misspelt(folder) -> str:
    values = json.loads(json.dumps(MINIMAL))
    values["clusters"][0]["pools"][0]["max_sise"] = 8
    values["site"]["pue"] = -1
    return stack_file(folder, values)


# --- --format json: a document on stdout, whatever happens ---------------------------------


def two_sites(folder) -> str:
    """A folder of two stacks, each with a site of its own (the second over its row's budget)."""
    other = json.loads(json.dumps(MINIMAL))
    other["site"]["name"] = "s2"
    stack_file(folder, MINIMAL, "one")
    over_budget(folder)
    stack_file(folder, other, "two")
    return str(folder)


@pytest.mark.parametrize(
    "case",
    ["one site", "a violated site", "a folder of several sites", "bad input", "a refused command line", "a site document"],
)
def test_every_json_shape_aion_plan_prints_is_valid_against_the_published_schema(aion, tmp_path, case):
    args = {
        "one site": lambda: [stack_file(tmp_path, MINIMAL)],
        "a violated site": lambda: [over_budget(tmp_path)],
        "a folder of several sites": lambda: [two_sites(tmp_path)],
        "bad input": lambda: [misspelt(tmp_path)],
        "a refused command line": lambda: ["--format", "json"],  # no PATH: the usage error is a document too
        "a site document": lambda: [str(ROOT / "examples/aion-200mw/site.yaml")],
    }[case]()
    result = aion("plan", *args, "--json")
    document = json.loads(result.stdout)
    published = json.loads((ROOT / "docs/plan.schema.json").read_text())
    jsonschema.Draft202012Validator(published).validate(document)  # raises naming the first thing refused
    assert isinstance(document, dict)  # never a bare array: one document per run
    if case == "a folder of several sites":
        # Each inline stack is a site of its own; the over-budget one makes the whole run not fit.
        assert [(site["site"]["name"], site["fits"]) for site in document["sites"]] == [("s", True), ("s", False), ("s2", True)]
        assert document["fits"] is False and result.returncode == 1


def test_bad_input_in_json_is_a_document_of_every_problem_with_its_key_path_and_level(aion, tmp_path):
    result = aion("plan", misspelt(tmp_path), "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout) == {
        "problems": [
            {"path": "aion:site.pue", "message": "-1 is not allowed: Input should be greater than or equal to 1; allowed: 1 to 3",
             "level": "error"},
            {"path": "aion:clusters[0].pools[0].max_sise", "message": json.loads(result.stdout)["problems"][1]["message"],
             "level": "error"},
        ]
    }  # fmt: skip
    assert json.loads(result.stdout)["problems"][1]["message"].startswith("unknown key (did you mean 'max_size'?); allowed: name,")
    assert result.stderr.startswith("error: aion:site.pue: -1 is not allowed")  # humans still read stderr


@pytest.mark.parametrize("flag", [["--json"], ["--format", "json"], ["--format=json"]])
def test_a_missing_file_and_a_refused_command_line_print_a_document_too(aion, tmp_path, flag):
    result = aion("plan", str(tmp_path / "nope.yaml"), *flag)
    [problem] = json.loads(result.stdout)["problems"]
    assert (result.returncode, problem["path"], problem["level"]) == (2, str(tmp_path / "nope.yaml"), "error")
    assert "cannot read the stack file" in problem["message"]
    refused = aion("plan", *flag)  # no PATH: argparse refuses it
    assert refused.returncode == 2
    assert json.loads(refused.stdout) == {
        "problems": [{"path": "usage", "message": "aion plan: the following arguments are required: path", "level": "error"}]
    }


def test_an_unwritable_report_folder_in_json_is_a_document(aion, tmp_path):
    taken = tmp_path / "a-file"
    taken.write_text("mine")
    result = aion("plan", str(ROOT / "stacks/Pulumi.local.yaml"), "--report", str(taken), "--format", "json")
    [problem] = json.loads(result.stdout)["problems"]
    assert (result.returncode, problem["path"]) == (2, "--report")


def test_without_json_bad_input_prints_nothing_on_stdout(aion, tmp_path):
    result = aion("plan", misspelt(tmp_path))
    assert (result.returncode, result.stdout) == (2, "")


# --- --format github: annotations for a pull request ----------------------------------------


def test_github_format_annotates_violations_and_warnings_in_the_stack_file(aion, tmp_path):
    path = over_budget(tmp_path)
    result = aion("plan", path, "--format", "github")
    assert result.returncode == 1
    violation, warning = result.stdout.splitlines()
    assert violation.startswith(f"::error file={path},title=s/h/r::row s/h/r draws 613.9 kW rated, over its limit of 500.0 kW")
    assert "to fit: shrink pool c/h100 by 12 nodes (to 48)" in violation
    assert warning.startswith(f"::warning file={path},title=aion%3Aclusters[0].cni::'none' does not enforce NetworkPolicy")


def test_github_format_annotates_bad_input_in_the_file_it_comes_from(aion, tmp_path):
    path = misspelt(tmp_path)
    result = aion("plan", path, "--format", "github")
    assert result.returncode == 2
    assert result.stdout.splitlines()[0] == (
        f"::error file={path},title=aion%3Asite.pue::-1 is not allowed: Input should be greater than or equal to 1; allowed: 1 to 3"
    )
    # A site document's problems name the document: the annotation goes there, titled with the key.
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump({**MINIMAL, "tennants": []}))
    [line] = aion("plan", str(site), "--format", "github").stdout.splitlines()
    allowed = "site, clusters, tenants, account, phases, current_phase"
    assert line == f"::error file={site},title=tennants::unknown key (did you mean 'tenants'?); allowed: {allowed}"


def test_github_annotations_escape_what_the_runner_would_read_as_a_command():
    from aion_factory.cli.output import github_annotations
    from aion_factory.errors import Problem

    [line] = github_annotations([Problem("a:b,c", "100% sure\nsecond line", "warning")], "x,y.yaml")
    assert line == "::warning file=x%2Cy.yaml,title=a%3Ab%2Cc::100%25 sure%0Asecond line"


def test_a_plan_that_fits_prints_no_annotation(aion):
    result = aion("plan", str(ROOT / "stacks/Pulumi.local.yaml"), "--format", "github")
    assert (result.returncode, result.stdout) == (0, "")


def test_the_table_writes_every_gpu_count_with_thousands_separators(aion):
    site = ROOT / "examples/aion-200mw/site.yaml"
    clusters = yaml.safe_load(site.read_text())["clusters"]
    gpus = 8 * sum(pool["size"] for c in clusters for pool in c["pools"])  # B300-SXM-8-288G: 8 GPUs a node
    result = aion("plan", str(site))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"GPUs: B300-SXM {gpus:,}" in lines and gpus >= 1_000
    tenants = lines[lines.index(next(line for line in lines if line.endswith("GPU quotas"))) + 1 :]
    quotas = [line.split()[-1] for line in tenants[: tenants.index("")]]  # each tenant's one flavor, b300
    assert quotas and all(re.fullmatch(r"\d{1,3}(,\d{3})+", q) for q in quotas), quotas


# --- stack names through Pulumi.yaml's stackConfigDir -----------------------------------------


def test_a_stack_name_resolves_through_the_projects_stack_config_dir(aion, monkeypatch):
    monkeypatch.chdir(ROOT)
    by_name = aion("plan", "local")
    assert by_name.returncode == 0 and by_name.stdout == aion("plan", "stacks/Pulumi.local.yaml").stdout
    assert by_name.stdout.startswith("site lab:")


def test_a_stack_name_resolves_in_another_project_folder(aion, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: envs\n")
    (tmp_path / "envs").mkdir()
    over_budget(tmp_path / "envs")
    result = aion("plan", "test", "--project", str(tmp_path), "--json")
    assert result.returncode == 1 and json.loads(result.stdout)["violations"][0]["path"] == "s/h/r"


def test_an_unknown_stack_name_lists_the_stacks_there(aion):
    result = aion("plan", "lcoal", "--project", str(ROOT))
    assert result.returncode == 2
    assert result.stderr == (
        f"error: PATH: 'lcoal' is neither a file nor a stack of '{ROOT}'; its stacks ({ROOT}/stacks): dc5-train-1, local\n"
    )


# --- schema, completion, help, local --------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "render"),
    [([], schema.render_schema), (["--site"], schema.render_site_schema), (["--plan"], schema.render_plan_schema),
     (["--markdown"], schema.render_reference)],
)  # fmt: skip
def test_schema_prints_what_the_generator_renders(aion, flag, render):
    result = aion("schema", *flag)
    assert (result.returncode, result.stdout) == (0, render())


def complete(script: str, words: list[str], cwd: str = "/") -> list[str]:
    """What bash offers after `words` (the last one being typed), with the generated script sourced."""
    line = " ".join(words)
    program = f'{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _aion; printf "%s\\n" "${{COMPREPLY[@]}}"'
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True, cwd=cwd)
    return done.stdout.split()


def test_bash_completion_offers_the_commands_and_options_of_the_tree(aion, tmp_path):
    script = aion("completion", "bash").stdout
    (tmp_path / "Pulumi.local.yaml").write_text("")
    assert complete(script, ["aion", "''"])[:9] == [
        "--help",
        "--version",
        "plan",
        "site",
        "fleet",
        "queues",
        "local",
        "schema",
        "completion",
    ]
    assert complete(script, ["aion", "lo"]) == ["local"]
    assert complete(script, ["aion", "local", "''"])[:4] == ["--help", "up", "down", "status"]
    assert complete(script, ["aion", "plan", "x.yaml", "--f"]) == ["--format"]
    assert complete(script, ["aion", "fleet", "up", "--c"]) == ["--cluster"]
    assert complete(script, ["aion", "plan", "Pul"], str(tmp_path)) == ["Pulumi.local.yaml"]  # a command's arguments are files


def test_zsh_completion_runs_the_bash_function_through_bashcompinit(aion):
    result = aion("completion", "zsh")
    assert result.stdout.startswith("autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n")
    assert result.stdout.endswith(aion("completion", "bash").stdout)


def test_help_shows_the_exit_code_contract_and_examples(aion):
    with pytest.raises(SystemExit) as exited:
        aion("--help")
    assert exited.value.code == 0
    from aion_factory import cli

    text = cli.parser().format_help()
    for line in ("  0  all is well", "  1  a budget or limit is violated", "  2  bad input", "  aion plan local "):
        assert f"\n{line}" in text
    assert "{plan,site" not in text  # the commands are listed by name, one a line


def test_local_names_its_stack_through_the_project_and_refuses_an_unknown_one(aion, tmp_path):
    result = aion("local", "up", "--stack", "nope", "--project", str(ROOT))
    assert result.returncode == 2
    assert result.stderr.startswith("error: PATH: 'nope' is neither a file nor a stack of")


def test_local_status_of_a_control_plane_never_started_says_none_runs(aion, tmp_path, monkeypatch):
    monkeypatch.setenv("AION_STATE", str(tmp_path / "state"))
    result = aion("local", "status", "--project", str(ROOT))
    assert result.returncode == 0
    status = json.loads(result.stdout)
    assert (status["running"], status["kubeconfig"]) == ([], str(tmp_path / "state/local/kubeconfig"))
