"""The CI workflows do what issues 6 and 15 ask of them (actionlint checks their syntax: `make lint-workflows`)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import ROOT

WORKFLOWS = ROOT / ".github/workflows"
# What deploys: only `production-<stack>` environments hold these.
DEPLOY_SECRETS = {
    "SCW_ACCESS_KEY",
    "SCW_SECRET_KEY",
    "SCW_DEFAULT_PROJECT_ID",
    "STATE_ACCESS_KEY",
    "STATE_SECRET_KEY",
    "PULUMI_CONFIG_PASSPHRASE",
}


def load(name: str) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(action)]


def test_pull_requests_post_the_sites_plan_and_preview_the_stacks_the_change_touches() -> None:
    preview = load("preview.yml")
    assert "pull_request" in preview["on"]
    assert preview["jobs"]["stacks"]["with"]["changed-since"] == "${{ github.event.pull_request.base.sha }}"
    plan = preview["jobs"]["plan"]
    [step] = [s for s in steps(plan) if s.get("id") == "plan"]
    assert '.venv/bin/aion plan stacks --report "$RUNNER_TEMP/plan"' in step["run"]  # every stack, planned as one site
    assert uses(plan, "actions/github-script@"), "the site's plan is posted as a PR comment"
    job = preview["jobs"]["preview"]
    assert job["needs"] == ["stacks", "plan"]  # no preview of a site that does not fit
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    [pulumi] = uses(job, "pulumi/actions@")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["diff"] is True and pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "policy"
    assert job["permissions"]["pull-requests"] == "write" and plan["permissions"]["pull-requests"] == "write"


def test_production_stacks_come_from_the_site_document_or_else_every_stack_file_but_the_local_one() -> None:
    listing = load("production-stacks.yml")["jobs"]["list"]
    [script] = [s["run"] for s in steps(listing) if "run" in s]
    assert '.venv/bin/aion fleet matrix "$SITE" "${base[@]}"' in script
    assert "! -name 'Pulumi.local.yaml'" in script
    assert sorted(p.name for p in (ROOT / "stacks").glob("Pulumi.*.yaml") if p.name != "Pulumi.local.yaml") == ["Pulumi.dc5-train-1.yaml"]


def test_production_deploys_wait_for_ci_on_main_and_a_reviewer() -> None:
    deploy = load("deploy.yml")
    assert deploy["on"]["workflow_run"] == {"workflows": ["CI"], "types": ["completed"], "branches": ["main"]}
    job = deploy["jobs"]["deploy"]
    # Required reviewers live on this GitHub environment, one per stack.
    assert job["environment"] == "production-${{ matrix.stack }}"
    assert job["concurrency"]["cancel-in-progress"] is False
    [pulumi] = uses(job, "pulumi/actions@")
    assert (pulumi["with"]["command"], pulumi["with"]["policyPacks"]) == ("up", "policy")
    assert "pull_request" not in deploy["on"] and "push" not in deploy["on"]


def test_drift_is_checked_on_a_schedule_for_every_production_stack() -> None:
    drift = load("drift.yml")
    assert drift["on"]["schedule"]
    job = drift["jobs"]["drift"]
    commands = " ".join(s.get("run", "") for s in steps(job))
    # Both checks (refresh --preview-only and preview, each --expect-no-changes) are in fleet/drift.py.
    assert "-m aion_factory.fleet.drift --stack" in commands and "--policy-pack policy" in commands


def test_main_runs_the_local_stack_up_and_down_end_to_end() -> None:
    ci = load("ci.yml")
    assert ci["on"]["push"]["branches"] == ["main"]
    local = ci["jobs"]["local-stack"]
    runs = [s.get("run") for s in steps(local)]
    assert runs[-2:] == ["make local", "make local-down"]
    assert next(s for s in steps(local) if s.get("run") == "make local-down")["if"] == "always()"
    assert "make test" in [s.get("run") for s in steps(ci["jobs"]["test"])]


def test_the_pulumi_plugins_and_the_toolchain_are_cached() -> None:
    setup = yaml.safe_load((ROOT / ".github/actions/setup/action.yml").read_text())
    caches = {s["with"]["path"]: s["with"]["key"] for s in setup["runs"]["steps"] if str(s.get("uses", "")).startswith("actions/cache@")}
    assert set(caches) == {"~/.pulumi/plugins", "~/.cache/aion-factory"}
    assert "scripts/versions.env" in caches["~/.cache/aion-factory"] and "constraints.txt" in caches["~/.pulumi/plugins"]


def test_every_workflow_is_read_by_these_tests() -> None:
    names = sorted(p.name for p in Path(WORKFLOWS).glob("*.yml"))
    assert names == ["ci.yml", "deploy.yml", "drift.yml", "preview.yml", "production-stacks.yml"]


# --- Issue 15: CI safe for pull requests ---------------------------------------------------


def secrets_of(node: Any) -> set[str]:
    return set(re.findall(r"secrets\.([A-Za-z0-9_]+)", yaml.safe_dump(node)))


def workflows() -> dict[str, dict[str, Any]]:
    return {p.name: load(p.name) for p in sorted(WORKFLOWS.glob("*.yml"))}


def run_by_pull_requests(name: str) -> bool:
    """A workflow a pull request runs: on pull_request, or called by one that is."""
    document = load(name)
    if "pull_request" in document["on"]:
        return True
    callers = [w for w, d in workflows().items() if any(str(j.get("uses", "")).endswith(f"/{name}") for j in d["jobs"].values())]
    return "workflow_call" in document["on"] and any(run_by_pull_requests(c) for c in callers)


def test_no_workflow_runs_a_forks_code_with_secrets_through_pull_request_target() -> None:
    for name, document in workflows().items():
        assert "pull_request_target" not in document["on"], name


def test_no_job_a_pull_request_runs_references_a_deploy_secret() -> None:
    pull_request_workflows = [name for name in workflows() if run_by_pull_requests(name)]
    assert pull_request_workflows == ["ci.yml", "preview.yml", "production-stacks.yml"]
    for name in pull_request_workflows:
        found = secrets_of(load(name))
        assert not found & DEPLOY_SECRETS, (name, found & DEPLOY_SECRETS)
        assert all(s.startswith("PREVIEW_") for s in found), (name, found)
    assert "secrets" not in (WORKFLOWS / "ci.yml").read_text()


def test_every_secret_is_an_environment_secret_of_the_job_that_reads_it() -> None:
    # A repository secret reaches every workflow, a pull request's own included; so every job
    # that reads a secret names an environment, and each environment's secrets carry its prefix.
    prefixes = {"preview": "PREVIEW_", "drift": "DRIFT_", "production-${{ matrix.stack }}": ""}
    seen = set()
    for name, document in workflows().items():
        assert not secrets_of({k: v for k, v in document.items() if k != "jobs"}), f"{name}: a workflow-level secret"
        for job_name, job in document["jobs"].items():
            found = secrets_of(job)
            if not found:
                continue
            environment = job.get("environment")
            assert environment in prefixes, f"{name}:{job_name} reads {found} outside an environment"
            seen.add(environment)
            prefix = prefixes[environment]
            assert all(s.startswith(prefix) for s in found), (name, job_name, found)
            if environment.startswith("production-"):
                assert found == DEPLOY_SECRETS
            else:
                assert {s.removeprefix(prefix) for s in found} == DEPLOY_SECRETS  # the same roles, read-only keys
    assert seen == set(prefixes)
    assert "PULUMI_ACCESS_TOKEN" not in "".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))  # OIDC, not a stored token


def test_the_preview_runs_in_its_own_environment_and_never_for_a_fork() -> None:
    preview = load("preview.yml")
    job = preview["jobs"]["preview"]
    assert job["environment"] == "preview"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    [comment] = [s for s in steps(preview["jobs"]["plan"]) if s.get("name") == "Post the site's plan"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]
    assert preview["permissions"] == {"contents": "read"}  # wider grants are per job
    assert job["permissions"]["id-token"] == "write"


@pytest.mark.parametrize(
    ("workflow", "job", "team"),
    [("preview.yml", "preview", "PREVIEW"), ("deploy.yml", "deploy", "DEPLOY"), ("drift.yml", "drift", "DRIFT")],
)
def test_pulumi_cloud_is_reached_with_oidc_as_a_team_of_the_jobs_role(workflow: str, job: str, team: str) -> None:
    found = load(workflow)["jobs"][job]
    [login] = uses(found, "pulumi/auth-actions@")
    assert "vars.PULUMI_ORG != ''" in login["if"]
    assert login["with"]["requested-token-type"] == "urn:pulumi:token-type:access_token:team"
    assert login["with"]["scope"] == f"team:${{{{ vars.PULUMI_{team}_TEAM }}}}"
    assert found["permissions"]["id-token"] == "write"
    # Logged in before the first step that runs Pulumi against the stack.
    runs_pulumi = [
        i
        for i, s in enumerate(steps(found))
        if str(s.get("uses", "")).startswith("pulumi/actions@") or "pulumi " in s.get("run", "") or "aion_factory.fleet" in s.get("run", "")
    ]
    assert steps(found).index(login) < runs_pulumi[0]


def test_deploys_run_only_for_stacks_whose_environment_has_required_reviewers() -> None:
    deploy = load("deploy.yml")
    gate = deploy["jobs"]["protected"]
    assert gate["needs"] == "stacks" and not secrets_of(gate) and "environment" not in gate
    assert gate["permissions"] == {"contents": "read", "actions": "read"}
    [check] = [s for s in steps(gate) if s.get("id") == "check"]
    assert check["run"] == 'python3 scripts/protected_stacks.py "$STACKS"'
    assert check["env"]["STACKS"] == "${{ needs.stacks.outputs.stacks }}"
    [refuse] = [s for s in steps(gate) if s.get("name") == "Refuse the others"]
    assert refuse["if"] == "steps.check.outputs.refused != '[]'" and "exit 1" in refuse["run"]
    job = deploy["jobs"]["deploy"]
    # Only the job the gate passed names an environment, and only the stacks it passed.
    assert job["needs"] == "protected"
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.protected.outputs.stacks) }}"
    assert "!cancelled()" in job["if"] and "needs.protected.outputs.stacks != '[]'" in job["if"]
    assert [name for name, j in deploy["jobs"].items() if "environment" in j] == ["deploy"]


def test_ci_settings_are_documented() -> None:
    doc = (ROOT / "docs/CI.md").read_text()
    every = set().union(*(secrets_of(d) for d in workflows().values()))
    assert every and all(f"`{s}`" in doc or s.startswith("DRIFT_SCW_") for s in every), every - {s for s in every if f"`{s}`" in doc}
    for setting in ("`preview`", "`drift`", "`production-<stack>`", "Required reviewers", "pull_request_target", "no OIDC"):
        assert setting in doc, setting


# The gate's decisions, on GitHub's documented answers for "get an environment".
def protected_stacks() -> Any:
    spec = importlib.util.spec_from_file_location("protected_stacks", ROOT / "scripts/protected_stacks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REVIEWERS = {
    "id": 1,
    "node_id": "GA_1",
    "type": "required_reviewers",
    "prevent_self_review": True,
    "reviewers": [{"type": "Team", "reviewer": {"slug": "sre"}}],
}
PROTECTED = {
    "name": "production-a",
    "protection_rules": [REVIEWERS],
    "deployment_branch_policy": {"protected_branches": True, "custom_branch_policies": False},
    "can_admins_bypass": False,
}
ENVIRONMENTS: dict[str, Any] = {
    "production-a": PROTECTED,
    # What GitHub creates when a job names a missing environment: no rules.
    "production-b": {"name": "production-b", "protection_rules": [], "deployment_branch_policy": None, "can_admins_bypass": True},
    "production-c": {"name": "production-c", "protection_rules": [{"id": 2, "node_id": "GA_2", "type": "wait_timer", "wait_timer": 30}]},
    "production-d": {"name": "production-d", "protection_rules": [{**REVIEWERS, "reviewers": []}]},
    "production-e": {**PROTECTED, "name": "production-e", "deployment_branch_policy": None},
}


def test_the_gate_passes_only_environments_with_required_reviewers() -> None:
    module = protected_stacks()
    allowed, refusals, notes = module.decide(["a", "b", "c", "d", "e", "new"], ENVIRONMENTS.get)
    assert allowed == ["a", "e"]
    assert [r.split(":")[0] for r in refusals] == ["stack b", "stack c", "stack d", "stack new"]
    assert "environment production-b has no required reviewers" in refusals[0]
    assert refusals[3].startswith("stack new: no environment production-new; a new stack deploys once an admin creates it")
    assert notes == [
        "stack e: environment production-e accepts any branch; limit its deployment branches to main (docs/CI.md#opting-a-stack-in)"
    ]


def test_the_gate_writes_what_may_deploy_and_what_was_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    assert protected_stacks().main(["protected_stacks.py", json.dumps(["a", "new"])], ENVIRONMENTS.get) == 0
    assert output.read_text() == 'stacks=["a"]\nrefused=["new"]\n'
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("::error::stack new: no environment production-new")
    assert printed[-1] == "may deploy: a; refused: new"


def test_the_gate_reads_a_missing_environment_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import urllib.error

    module = protected_stacks()
    monkeypatch.setenv("GITHUB_REPOSITORY", "aion/factory")
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    asked = []

    def not_found(request: Any, timeout: float) -> Any:
        asked.append((request.full_url, request.get_header("Authorization")))
        raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, io.BytesIO(b"{}"))  # type: ignore[arg-type]

    monkeypatch.setattr(module.urllib.request, "urlopen", not_found)
    assert module.github_environment("production-new") is None
    assert asked == [("https://api.github.com/repos/aion/factory/environments/production-new", "Bearer t")]


@pytest.mark.parametrize(("workflow", "job"), [("preview.yml", "preview"), ("deploy.yml", "deploy"), ("drift.yml", "drift")])
def test_jobs_that_run_pulumi_take_the_scaleway_plugin_from_the_operators_mirror(workflow: str, job: str) -> None:
    [setup] = uses(load(workflow)["jobs"][job], "./.github/actions/setup")
    assert setup["with"]["plugin-mirror"] == "${{ vars.AION_PLUGIN_MIRROR }}"
    action = yaml.safe_load((ROOT / ".github/actions/setup/action.yml").read_text())
    [install] = [s for s in action["runs"]["steps"] if s.get("name") == "Provider plugins from the mirror"]
    assert install["if"] == "inputs.plugin-mirror != ''"
    assert install["run"] == 'echo "PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES=$(scripts/install-plugins.sh)" >> "$GITHUB_ENV"'


def test_a_deploy_refreshes_first_so_hand_edits_are_restored() -> None:
    [up] = [step for step in uses(load("deploy.yml")["jobs"]["deploy"], "pulumi/actions@") if step["with"]["command"] == "up"]
    assert up["with"]["refresh"] is True


def test_pull_requests_post_what_the_change_does_against_the_base_without_being_blocked_by_it() -> None:
    plan = load("preview.yml")["jobs"]["plan"]
    [checkout] = [s for s in steps(plan) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0  # the base revision is there to read
    [diff] = [s for s in steps(plan) if "--diff" in s.get("run", "")]
    assert diff["run"] == '.venv/bin/aion plan stacks --diff "$BASE_SHA" --report "$RUNNER_TEMP/diff"'
    assert diff["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}" and diff["continue-on-error"] is True
    [post] = [s for s in steps(plan) if str(s.get("uses", "")).startswith("actions/github-script@")]
    assert "diff.md" in post["with"]["script"] and post["env"]["DIFFS"] == "${{ runner.temp }}/diff"
