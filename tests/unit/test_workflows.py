"""The CI workflows do what issues 6, 15 and 20 ask of them (actionlint checks their syntax: `make lint-workflows`).

The security rules live in tests/workflow_rules.py: each is run on the real workflows (no finding)
and on a mutated copy that has the shape it forbids (the finding it names), so none can pass
whatever the files say.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import workflow_rules as rules
import yaml
from packaging.requirements import Requirement

from support import ROOT

WORKFLOWS = ROOT / ".github/workflows"
ACTION = ROOT / ".github/actions/setup/action.yml"
# What deploys: only `production-<stack>` environments hold these.
DEPLOY_SECRETS = {
    "SCW_ACCESS_KEY",
    "SCW_SECRET_KEY",
    "SCW_DEFAULT_PROJECT_ID",
    "STATE_ACCESS_KEY",
    "STATE_SECRET_KEY",
    "PULUMI_CONFIG_PASSPHRASE",
}
PRODUCTION_STACKS = sorted(
    p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml") if p.name != "Pulumi.local.yaml"
)


def load(name: str) -> dict[str, Any]:
    return rules.parse((WORKFLOWS / name).read_text())


def workflows() -> dict[str, dict[str, Any]]:
    return rules.load_workflows(WORKFLOWS)


def action() -> dict[str, Any]:
    return yaml.safe_load(ACTION.read_text())


def texts() -> dict[str, str]:
    found = {p.name: p.read_text() for p in sorted(WORKFLOWS.glob("*.yml"))}
    return {**found, "action.yml": ACTION.read_text()}


steps = rules.steps


def uses(job: dict[str, Any], action_name: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(action_name)]


def mutated(change: Callable[[dict[str, dict[str, Any]]], Any]) -> dict[str, dict[str, Any]]:
    copied = copy.deepcopy(workflows())
    change(copied)
    return copied


# --- The expression evaluator the rules stand on -------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("github.event_name == 'push' && github.ref == 'refs/heads/main'", True),
        ("github.event_name == 'PUSH'", True),  # GitHub compares strings ignoring case
        ("github.event.workflow_run.head_repository.full_name == github.repository", False),
        ("github.event.missing.deeper == ''", True),  # null and '' both compare as 0
        ("!github.event.missing", True),
        ("(github.event_name == 'pull_request' || github.ref == 'refs/heads/main') && !cancelled()", True),
        ("needs.a.outputs.stacks != '[]'", True),
        ("format('{0}/{1}', 'org', 'stack') == 'org/stack'", True),
        ("contains(fromJSON('[\"a\", \"b\"]'), 'b')", True),
    ],
)
def test_the_evaluator_reads_githubs_expressions(expression: str, expected: bool) -> None:
    context = {
        "github": {
            "event_name": "push",
            "ref": "refs/heads/main",
            "repository": "a/b",
            "event": {"workflow_run": {"head_repository": {"full_name": "c/b"}}},
        },
        "needs": {"a": {"outputs": {"stacks": '["x"]'}}},
    }
    assert bool(rules.evaluate(expression, context, {"cancelled": lambda: False})) is expected


def test_the_job_graph_skips_what_needs_a_skipped_job_unless_a_status_function_says_otherwise() -> None:
    document = rules.parse(
        """
on: push
jobs:
  gate: {if: "github.ref == 'refs/heads/main'", runs-on: x, steps: [{run: "true"}]}
  after: {needs: gate, runs-on: x, steps: [{run: "true"}]}
  anyway: {needs: gate, if: "always()", runs-on: x, steps: [{run: "true"}]}
"""
    )
    assert rules.jobs_that_run(document, "push", rules.github_context("push")) == {"gate", "after", "anyway"}
    assert rules.jobs_that_run(document, "push", rules.github_context("push", ref="refs/heads/x")) == {"anyway"}
    assert rules.jobs_that_run(document, "pull_request", rules.github_context("pull_request")) == set()


def test_the_job_graph_follows_a_call_into_the_called_workflow_once_per_matrix_entry() -> None:
    caller = rules.parse(
        """
on: push
jobs:
  list: {runs-on: x, steps: [{run: "true"}]}
  fan:
    needs: list
    if: "needs.list.outputs.parts != '[]'"
    strategy: {matrix: {part: "${{ fromJSON(needs.list.outputs.parts) }}"}}
    uses: ./.github/workflows/part.yml
    with: {stacks: "${{ toJSON(matrix.part) }}"}
"""
    )
    called = rules.parse(
        """
on:
  workflow_call:
    inputs:
      stacks: {type: string, required: true}
      mode: {type: string, default: quick}
jobs:
  each:
    if: "github.ref == 'refs/heads/main'"
    strategy: {matrix: {stack: "${{ fromJSON(inputs.stacks) }}"}}
    runs-on: x
    steps: [{run: "true"}]
"""
    )
    found = {"caller.yml": caller, "part.yml": called}
    parts = {"list": {"parts": '[["a", "b"], ["c"]]'}}

    def reached(ref: str = "refs/heads/main", outputs: Any = parts) -> list[rules.Reached]:
        return rules.reached_jobs(found, "caller.yml", "push", rules.github_context("push", ref=ref), outputs)

    each = [r for r in reached() if r.workflow == "part.yml"]
    assert [r.path for r in each] == ["caller.yml:fan > part.yml:each"] * 2
    assert [r.parts for r in each] == [({"part": ["a", "b"]},), ({"part": ["c"]},)]
    assert [[e["stack"] for e in rules.matrix_entries(r.job, r.context)] for r in each] == [["a", "b"], ["c"]]
    assert each[0].context["inputs"]["mode"] == "quick"  # the input's declared default
    # The called workflow sees its caller's `github` context: off main its job is skipped.
    assert [r.path for r in reached(ref="refs/heads/x")] == ["caller.yml:list"]
    assert [r.path for r in reached(outputs={"list": {"parts": "[]"}})] == ["caller.yml:list"]  # no part, no call
    called["jobs"]["back"] = {"uses": "./.github/workflows/part.yml"}
    with pytest.raises(ValueError, match="in a loop"):  # GitHub refuses a loop of calls
        reached()


# --- Issue 20: CI that a contributor cannot turn against production -------------------------

# Where the job that runs `pulumi up`, per stack, is reached: deploy.yml's `deploy` calls deploy-part.yml once per part.
DEPLOY_PATH = "deploy.yml:deploy > deploy-part.yml:deploy"


def deploy_job(found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The job that runs `pulumi up`, in whichever workflow it is."""
    [job] = [job for document in found.values() for job in document["jobs"].values() if rules.runs_pulumi_up(job)]
    return job


def deployed(
    found: dict[str, dict[str, Any]], case: str = "a push to main of this repository that CI passed", outputs: Any = None
) -> list[list[str]]:
    """For each deploy job the run reaches (one per part), the environments its matrix runs in."""
    event, context = {**rules.TRUSTED, **rules.UNTRUSTED}[case]
    return [
        [rules.environment_of(r.job, {**r.context, "matrix": entry}) for entry in rules.matrix_entries(r.job, r.context)]
        for r in rules.reached_in(found, event, context, outputs or rules.DEPLOY_OUTPUTS)
        if rules.runs_pulumi_up(r.job)
    ]


def test_only_a_push_to_main_of_this_repository_reaches_pulumi_up() -> None:
    assert rules.untrusted_runs_reach_a_deploy(workflows()) == []
    reached = rules.deploys_reached(workflows(), rules.TRUSTED)
    assert reached == {case: [DEPLOY_PATH] for case in rules.TRUSTED}


def test_a_deploy_gated_by_the_branch_name_alone_lets_a_forks_main_through() -> None:
    # What deploy.yml did before: CI succeeded on a branch named main (the trigger's filter), whatever its origin.
    def by_name(found: dict[str, dict[str, Any]]) -> None:
        found["deploy.yml"]["jobs"]["origin"]["if"] = "github.event.workflow_run.conclusion == 'success'"

    findings = rules.untrusted_runs_reach_a_deploy(mutated(by_name))
    assert f"a fork's pull request from a branch named main runs {DEPLOY_PATH}" in findings
    assert f"a pull request of this repository from a branch named main runs {DEPLOY_PATH}" in findings


@pytest.mark.parametrize(
    ("dropped", "case"),
    [
        ("github.event.workflow_run.event == 'push'", "a pull request of this repository from a branch named main"),
        ("github.event.workflow_run.head_repository.full_name == github.repository", "a fork's push to its own main"),
        ("github.event.workflow_run.conclusion == 'success'", "a push to main whose CI failed"),
        ("github.ref == 'refs/heads/main'", "a run by hand from another branch"),
    ],
)
def test_each_condition_of_the_origin_is_needed(dropped: str, case: str) -> None:
    def loosen(found: dict[str, dict[str, Any]]) -> None:
        origin = found["deploy.yml"]["jobs"]["origin"]
        assert dropped in origin["if"]
        origin["if"] = origin["if"].replace(dropped, "true")

    assert f"{case} runs {DEPLOY_PATH}" in rules.untrusted_runs_reach_a_deploy(mutated(loosen))


def test_a_deploy_job_that_does_not_need_the_origin_is_reached() -> None:
    def detach(found: dict[str, dict[str, Any]]) -> None:
        found["deploy.yml"]["jobs"]["deploy"]["needs"] = ["stacks"]
        found["deploy.yml"]["jobs"]["stacks"].pop("needs")

    assert f"a fork's pull request from a branch named main runs {DEPLOY_PATH}" in rules.untrusted_runs_reach_a_deploy(mutated(detach))


def test_a_call_of_the_deploy_part_that_does_not_need_the_origin_is_reached() -> None:
    # The called workflow holds the per-stack deploy; a second caller that skips `origin` reaches it.
    def second_caller(found: dict[str, dict[str, Any]]) -> None:
        caller = copy.deepcopy(found["deploy.yml"]["jobs"]["deploy"])
        caller["needs"] = ["stacks"]
        found["deploy.yml"]["jobs"]["again"] = caller
        found["deploy.yml"]["jobs"]["stacks"].pop("needs")

    findings = rules.untrusted_runs_reach_a_deploy(mutated(second_caller))
    assert "a fork's pull request from a branch named main runs deploy.yml:again > deploy-part.yml:deploy" in findings


def test_a_fleet_split_in_two_parts_deploys_each_part_and_still_refuses_a_forks_main() -> None:
    # Past 256 stacks, production-stacks.yml's `matrices` holds more than one part; each reaches the deploy.
    two_parts = {
        **rules.DEPLOY_OUTPUTS,
        "stacks": {"stacks": '["a", "b", "c"]', "matrices": '[["a", "b"], ["c"]]'},
        "protected": rules.gate({"a", "c"}),
    }
    assert rules.untrusted_runs_reach_a_deploy(workflows(), two_parts) == []
    assert rules.ungated_deploys(workflows(), two_parts) == []
    for case in rules.TRUSTED:
        assert deployed(workflows(), case, two_parts) == [["production-a"], ["production-c"]]  # b refused: no environment named
    for case in rules.UNTRUSTED:
        assert deployed(workflows(), case, two_parts) == []
    # The same split with the origin loosened to the branch's name: a fork's main reaches both parts.
    loose = mutated(lambda w: w["deploy.yml"]["jobs"]["origin"].update({"if": "github.event.workflow_run.conclusion == 'success'"}))
    assert deployed(loose, "a fork's pull request from a branch named main", two_parts) == [["production-a"], ["production-c"]]


def test_a_rule_that_reaches_no_deploy_at_all_says_it_proves_nothing() -> None:
    def never(found: dict[str, dict[str, Any]]) -> None:
        found["deploy.yml"]["jobs"]["origin"]["if"] = "false"

    assert (
        "a push to main of this repository that CI passed deploys nothing: the rule would prove nothing"
        in rules.untrusted_runs_reach_a_deploy(mutated(never))
    )


def test_a_deploy_runs_only_in_environments_the_gate_passed_one_update_per_stack_at_a_time() -> None:
    assert rules.ungated_deploys(workflows()) == []
    # The gate as the rules run it: of the two stacks, only dc5-train-1's environment has reviewers.
    assert deployed(workflows()) == [["production-dc5-train-1"]]


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        (lambda job: job.pop("environment"), " deploys dc5-train-1 outside its environment production-dc5-train-1"),
        (lambda job: job.update(environment="production"), " deploys dc5-train-1 outside its environment production-dc5-train-1"),
        # A matrix that is not the gate's answer: a stack without reviewers gets its environment created.
        (
            lambda job: job["strategy"]["matrix"].update(stack=["dc5-train-1", "dc5-new"]),
            " names production-dc5-new, which the gate did not pass",
        ),
        (
            lambda job: job["strategy"]["matrix"].update(stack="${{ fromJSON(inputs.stacks) }}"),
            " names production-dc5-new, which the gate did not pass",
        ),
        (
            lambda job: job.update(needs=[n for n in rules.needs_of(job) if n != "protected"]),
            " needs no gate (scripts/protected_stacks.py) of its workflow",
        ),
        (lambda job: job["concurrency"].update(group="deploy"), ": not one update per stack at a time (concurrency group deploy)"),
        (lambda job: job.pop("concurrency"), ": not one update per stack at a time (concurrency group none)"),
        (
            lambda job: job["concurrency"].update({"cancel-in-progress": True}),
            ": a newer run may cancel an update half-way (cancel-in-progress)",
        ),
        (lambda job: job["strategy"].pop("fail-fast"), ": a failed matrix entry cancels the others' updates half-way (fail-fast)"),
    ],
)
def test_a_deploy_outside_its_gated_environment_or_that_may_be_cancelled_is_found(change: Callable[[Any], Any], finding: str) -> None:
    assert f"{DEPLOY_PATH}{finding}" in rules.ungated_deploys(mutated(lambda w: change(deploy_job(w))))


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        # A failed part would cancel the other parts' updates half-way.
        (lambda caller: caller["strategy"].pop("fail-fast"), ": a failed matrix entry cancels the others' updates half-way (fail-fast)"),
        (
            lambda caller: caller.update(secrets="inherit"),
            ": a caller passes secrets down; a stack's credentials are its environment's alone",
        ),
        (
            lambda caller: caller.update(secrets={"SCW_SECRET_KEY": "${{ secrets.SCW_SECRET_KEY }}"}),
            ": a caller passes secrets down; a stack's credentials are its environment's alone",
        ),
    ],
)
def test_a_caller_that_may_cancel_a_part_or_hands_secrets_down_is_found(change: Callable[[Any], Any], finding: str) -> None:
    assert f"{DEPLOY_PATH}{finding}" in rules.ungated_deploys(mutated(lambda w: change(w["deploy.yml"]["jobs"]["deploy"])))


def test_every_action_is_pinned_by_a_full_commit_sha_with_its_tag_in_a_comment() -> None:
    assert rules.unpinned_actions(texts()) == []
    assert [target for _, _, target, _ in rules.uses_lines(texts()) if not target.startswith("./")]  # there are some to check


@pytest.mark.parametrize(
    ("before", "after", "finding"),
    [
        (
            "actions/checkout@11d5960a326750d5838078e36cf38b85af677262 # v4.4.0",
            "actions/checkout@v4",
            "actions/checkout@v4 is not pinned by a full commit SHA",
        ),
        (
            "actions/checkout@11d5960a326750d5838078e36cf38b85af677262 # v4.4.0",
            "actions/checkout@11d5960",
            "actions/checkout@11d5960 is not pinned by a full commit SHA",
        ),
        (
            "actions/checkout@11d5960a326750d5838078e36cf38b85af677262 # v4.4.0",
            "actions/checkout@11d5960a326750d5838078e36cf38b85af677262",
            "does not name its tag in a comment",
        ),
    ],
)
def test_an_action_pinned_by_tag_or_short_sha_or_without_its_tag_is_found(before: str, after: str, finding: str) -> None:
    found = texts()
    assert before in found["ci.yml"]
    found["ci.yml"] = found["ci.yml"].replace(before, after, 1)
    [only] = rules.unpinned_actions(found)
    assert only.startswith("ci.yml:") and only.endswith(finding)


def test_an_unpinned_action_inside_the_composite_setup_is_found_too() -> None:
    found = texts()
    found["action.yml"] = re.sub(r"actions/setup-python@[0-9a-f]{40} # v5\.6\.0", "actions/setup-python@v5", found["action.yml"])
    assert [f.split(": ", 1)[1] for f in rules.unpinned_actions(found)] == ["actions/setup-python@v5 is not pinned by a full commit SHA"]


def test_the_pinned_shas_are_the_tags_they_name() -> None:
    # Read from the action repositories' own tags (git rev-parse TAG^{commit}) when this file was written.
    expected = {
        "actions/checkout": ("11d5960a326750d5838078e36cf38b85af677262", "v4.4.0"),
        "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
        "actions/cache": ("0057852bfaa89a56745cba8c7296529d2fc39830", "v4.3.0"),
        "actions/setup-go": ("40f1582b2485089dde7abd97c1529aa768e1baff", "v5.6.0"),
        "actions/github-script": ("f28e40c7f34bde8b3046d885e986cb6290c5673b", "v7.1.0"),
        "pulumi/actions": ("8582a9e8cc630786854029b4e09281acd6794b58", "v6.6.1"),
        "pulumi/auth-actions": ("1c89817aab0c66407723cdef72b05266e7376640", "v1.0.1"),
    }
    seen = {}
    for _, _, target, comment in rules.uses_lines(texts()):
        if not target.startswith("./"):
            name, sha = target.split("@")
            seen[name] = (sha, comment.lstrip("# ").strip())
    assert seen == expected


def test_no_job_a_pull_request_runs_holds_a_credential() -> None:
    assert rules.pull_request_workflows(workflows()) == ["ci.yml", "preview.yml", "production-stacks.yml"]
    assert rules.credentials_in_pull_request_jobs(workflows()) == []
    # A fan-out of a pull request's jobs over called workflows, without a credential, is clean.
    assert rules.credentials_in_pull_request_jobs(mutated(lambda w: preview_fanned_out(w, RENDER))) == []


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        (
            lambda w: w["preview.yml"]["jobs"]["deployed"].setdefault("env", {}).update(K="${{ secrets.PREVIEW_SCW_SECRET_KEY }}"),
            "preview.yml:deployed",
        ),
        (lambda w: w["preview.yml"]["jobs"]["plan"].update(environment="preview"), "preview.yml:plan"),
        (lambda w: w["preview.yml"]["jobs"]["deployed"]["permissions"].update({"id-token": "write"}), "preview.yml:deployed"),
        (
            lambda w: w["production-stacks.yml"]["jobs"]["list"].update(env={"T": "${{ secrets.STATE_SECRET_KEY }}"}),
            "production-stacks.yml:list",
        ),
        (lambda w: w["preview.yml"]["jobs"]["stacks"].update(secrets="inherit"), "preview.yml:stacks"),
    ],
)
def test_a_secret_an_environment_or_an_oidc_token_in_a_pull_requests_job_is_found(change: Callable[[Any], Any], finding: str) -> None:
    assert rules.credentials_in_pull_request_jobs(mutated(change)) == [f"{finding} holds a credential in a pull request's run"]


def preview_fanned_out(found: dict[str, dict[str, Any]], called: dict[str, Any], **caller: Any) -> None:
    """preview.yml fanned out as deploy and drift are: one call per part of a workflow holding `called`'s job."""
    found["preview-part.yml"] = {"on": {"workflow_call": {"inputs": {"stacks": {"type": "string"}}}}, "jobs": {"render": called}}
    found["preview.yml"]["jobs"]["render"] = {
        "needs": "stacks",
        "strategy": {"fail-fast": False, "matrix": {"part": "${{ fromJSON(needs.stacks.outputs.matrices) }}"}},
        "uses": "./.github/workflows/preview-part.yml",
        "with": {"stacks": "${{ toJSON(matrix.part) }}"},
        **caller,
    }


RENDER = {"runs-on": "ubuntu-latest", "strategy": {"matrix": {"stack": "${{ fromJSON(inputs.stacks) }}"}}, "steps": [{"run": "true"}]}


@pytest.mark.parametrize(
    ("change", "findings"),
    [
        # A called workflow's job is a pull request's job: its secret, environment or token is found.
        (lambda w: preview_fanned_out(w, {**RENDER, "env": {"K": "${{ secrets.SCW_SECRET_KEY }}"}}), ["preview-part.yml:render"]),
        (lambda w: preview_fanned_out(w, {**RENDER, "environment": "production-${{ matrix.stack }}"}), ["preview-part.yml:render"]),
        (lambda w: preview_fanned_out(w, {**RENDER, "permissions": {"id-token": "write"}}), ["preview-part.yml:render"]),
        # So is the caller that grants a token or hands secrets down, whatever the called job does.
        (lambda w: preview_fanned_out(w, RENDER, permissions={"id-token": "write"}), ["preview.yml:render"]),
        (lambda w: preview_fanned_out(w, RENDER, secrets="inherit"), ["preview.yml:render"]),
        # drift.yml's caller copied into a pull request's workflow: its token, and the called job's environment and secrets.
        (lambda w: w["preview.yml"]["jobs"].update(drift=w["drift.yml"]["jobs"]["drift"]), ["preview.yml:drift", "drift-part.yml:drift"]),
    ],
)
def test_a_credential_reached_through_a_workflow_a_pull_request_calls_is_found(change: Callable[[Any], Any], findings: list[str]) -> None:
    assert rules.credentials_in_pull_request_jobs(mutated(change)) == [f"{f} holds a credential in a pull request's run" for f in findings]


def test_a_pull_requests_call_of_another_repositorys_workflow_is_found() -> None:
    def remote(found: dict[str, dict[str, Any]]) -> None:
        found["preview.yml"]["jobs"]["stacks"]["uses"] = "someone/tools/.github/workflows/list.yml@" + "0" * 40

    assert rules.credentials_in_pull_request_jobs(mutated(remote)) == [
        "preview.yml:stacks calls a workflow of another repository in a pull request's run"
    ]


def test_pull_request_target_is_found() -> None:
    def target(found: dict[str, dict[str, Any]]) -> None:
        found["preview.yml"]["on"] = {"pull_request_target": None}

    assert "preview.yml: pull_request_target runs with the base's secrets" in rules.credentials_in_pull_request_jobs(mutated(target))


def test_no_checkout_leaves_the_jobs_token_in_the_repository() -> None:
    assert rules.persisted_checkout_credentials(workflows()) == []

    def persist(found: dict[str, dict[str, Any]]) -> None:
        uses(found["deploy-part.yml"]["jobs"]["deploy"], "actions/checkout@")[0]["with"].pop("persist-credentials")

    assert rules.persisted_checkout_credentials(mutated(persist)) == ["deploy-part.yml:deploy checks out with its token persisted"]


def test_every_run_step_fails_when_a_command_in_it_fails() -> None:
    assert rules.failures_that_cannot_fail(workflows(), action()) == []


@pytest.mark.parametrize(
    "script",
    [
        'echo "PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES=$(scripts/install-plugins.sh)" >> "$GITHUB_ENV"',  # what setup did
        "export OVERRIDES=$(scripts/install-plugins.sh)",  # export's own status hides it
        "local overrides=$(scripts/install-plugins.sh)",
        'test -n "$(scripts/install-plugins.sh)"',
    ],
)
def test_a_substitution_whose_failure_passes_is_found(script: str) -> None:
    found = action()
    [install] = [s for s in found["runs"]["steps"] if str(s.get("run", "")).startswith("# An assignment alone")]
    install["run"] = script
    [finding] = rules.failures_that_cannot_fail(workflows(), found)
    assert finding.startswith("action.yml: a failure inside") and finding.endswith("would pass")


def test_a_run_step_outside_bash_is_found() -> None:
    def default_shell(found: dict[str, dict[str, Any]]) -> None:
        found["production-stacks.yml"].pop("defaults")  # ubuntu's default: bash -e, without pipefail

    assert rules.failures_that_cannot_fail(mutated(default_shell), action()) == [
        "production-stacks.yml:list: runs under the default shell, not bash -eo pipefail"
    ]


def test_oidc_subjects_name_exact_environments_and_the_main_ref() -> None:
    doc = (ROOT / "docs/CI.md").read_text()
    environments = rules.oidc_environments(workflows(), PRODUCTION_STACKS)
    assert environments == {"drift", *(f"production-{s}" for s in PRODUCTION_STACKS)}
    assert rules.loose_oidc_subjects(doc, environments) == []
    assert len(rules.oidc_subjects(doc)) == len(environments)


@pytest.mark.parametrize(
    ("subject", "finding"),
    [
        ("repo:aion/aion-factory:environment:production-*:ref:refs/heads/main", "a wildcard"),
        ("repo:aion/aion-factory:environment:production-dc5-train-1", "not repo:OWNER/REPO:environment:NAME:ref:refs/heads/main"),
        ("repo:aion/aion-factory:ref:refs/heads/main", "not repo:OWNER/REPO:environment:NAME:ref:refs/heads/main"),
        ("repo:aion/aion-factory:environment:preview:ref:refs/heads/main", "a subject for an environment no job logs in from"),
    ],
)
def test_a_loose_oidc_subject_is_found(subject: str, finding: str) -> None:
    doc = (ROOT / "docs/CI.md").read_text().replace("```oidc-subjects\n", f"```oidc-subjects\n{subject}\n", 1)
    assert any(f.endswith(finding) for f in rules.loose_oidc_subjects(doc, rules.oidc_environments(workflows(), PRODUCTION_STACKS)))


def test_a_production_environment_without_its_subject_is_found() -> None:
    doc = (ROOT / "docs/CI.md").read_text()
    [line] = [s for s in rules.oidc_subjects(doc) if ":environment:drift:" in s]
    environments = rules.oidc_environments(workflows(), PRODUCTION_STACKS)
    assert rules.loose_oidc_subjects(doc.replace(line + "\n", ""), environments) == [
        "environment drift logs in with OIDC but no subject names it"
    ]
    # A new production stack without its line: its environment has no subject.
    assert rules.loose_oidc_subjects(doc, rules.oidc_environments(workflows(), [*PRODUCTION_STACKS, "h1-c01"])) == [
        "environment production-h1-c01 logs in with OIDC but no subject names it"
    ]


def test_drift_only_asks() -> None:
    source = (ROOT / "components/fleet/drift.py").read_text()
    assert rules.drift_that_writes(workflows(), source) == []
    assert rules.drift_that_writes(workflows(), source.replace('"--preview-only", ', "")) == [
        'fleet/drift.py: ("refresh", "--expect-no-changes", "--diff") refreshes for real'
    ]

    def update(found: dict[str, dict[str, Any]]) -> None:
        found["drift-part.yml"]["jobs"]["drift"]["steps"].append({"uses": "pulumi/actions@x", "with": {"command": "up"}})

    assert rules.drift_that_writes(mutated(update), source) == [
        "drift-part.yml:drift runs an update",
        "drift-part.yml:drift runs pulumi/actions (up)",
    ]

    # Drift calling the deploy's part is found too: the rule follows the calls.
    def call_the_deploy(found: dict[str, dict[str, Any]]) -> None:
        found["drift.yml"]["jobs"]["drift"]["uses"] = "./.github/workflows/deploy-part.yml"

    assert "deploy-part.yml:deploy runs an update" in rules.drift_that_writes(mutated(call_the_deploy), source)


def test_jobs_with_credentials_take_hashed_requirements_and_pinned_plugins_only() -> None:
    assert rules.unverified_plugins_or_venv(workflows(), action()) == []


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        (
            lambda w, a: w["deploy-part.yml"]["jobs"]["deploy"]["env"].pop("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"),
            "deploy-part.yml:deploy lets Pulumi download plugins on its own",
        ),
        (
            lambda w, a: uses(w["drift-part.yml"]["jobs"]["drift"], "./.github/actions/setup")[0]["with"].pop("trusted"),
            "drift-part.yml:drift holds credentials without the trusted setup",
        ),
        (lambda w, a: a["runs"]["steps"][2].update({"if": "true"}), "action.yml: Pulumi plugins cache is restored for trusted jobs"),
        (lambda w, a: a["runs"]["steps"][0]["with"].update(cache="pip"), "action.yml: setup-python restores a pip cache for every job"),
    ],
)
def test_a_credentialed_job_with_an_unverified_plugin_or_cache_is_found(change: Callable[[Any, Any], Any], finding: str) -> None:
    found, setup = copy.deepcopy(workflows()), action()
    change(found, setup)
    assert rules.unverified_plugins_or_venv(found, setup) == [finding]


def test_a_trusted_venv_without_hashes_is_found() -> None:
    setup = action()
    [venv] = [s for s in setup["runs"]["steps"] if s.get("name") == "Library venv from hashed requirements only"]
    venv["run"] = venv["run"].replace("--require-hashes ", "")
    assert rules.unverified_plugins_or_venv(workflows(), setup) == [
        "action.yml: the trusted venv is not installed from hashed requirements"
    ]
    venv["run"] = venv["run"].replace("--no-index ", "")
    assert "action.yml: the library itself may be fetched from an index" in rules.unverified_plugins_or_venv(workflows(), setup)


def test_the_hashed_requirements_pin_every_dependency_at_the_checkouts_versions() -> None:
    text = (ROOT / "requirements/deploy.txt").read_text()
    assert rules.unhashed_requirements(text) == []
    pinned = {name.lower(): version for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.MULTILINE)}
    # A pin without its hashes, or a range, is found.
    unhashed = re.sub(r"^(pulumi==\S+) \\\n(?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+", r"\1\n", text, flags=re.MULTILINE)
    assert rules.unhashed_requirements(unhashed) == [f"pulumi=={pinned['pulumi']} has no sha256"]
    assert rules.unhashed_requirements(text + "requests>=2\n") == ["requests>=2: not pinned by =="]
    project = (ROOT / "pyproject.toml").read_text()
    import tomllib

    settings = tomllib.loads(project)
    for dependency in settings["project"]["dependencies"]:
        requirement = Requirement(dependency)
        assert requirement.name.lower() in pinned and requirement.specifier.contains(pinned[requirement.name.lower()]), requirement
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            requirement = Requirement(line)
            assert requirement.specifier.contains(pinned[requirement.name.lower()]), requirement
    assert pinned["pulumi-policy"] in [
        Requirement(d).specifier.__str__().removeprefix("==")
        for d in settings["project"]["optional-dependencies"]["dev"]
        if d.startswith("pulumi-policy")
    ]


def test_production_refuses_images_and_charts_pinned_by_tag_only() -> None:
    [check] = [s for s in steps(load("deploy-part.yml")["jobs"]["deploy"]) if s.get("name") == "Images and charts by digest"]
    assert check["run"] == ".venv/bin/python -m aion_factory.platform.require_digests"
    order = [s.get("name") for s in steps(load("deploy-part.yml")["jobs"]["deploy"])]
    assert order.index("Images and charts by digest") < order.index("pulumi up")


# --- What each workflow does ---------------------------------------------------------------


def test_pull_requests_post_the_sites_plan_and_show_what_the_touched_stacks_deploy() -> None:
    preview = load("preview.yml")
    assert "pull_request" in preview["on"]
    assert preview["jobs"]["stacks"]["with"]["changed-since"] == "${{ github.event.pull_request.base.sha }}"
    plan = preview["jobs"]["plan"]
    [step] = [s for s in steps(plan) if s.get("id") == "plan"]
    assert '.venv/bin/aion plan stacks --report "$RUNNER_TEMP/plan"' in step["run"]  # every stack, planned as one site
    assert uses(plan, "actions/github-script@"), "the site's plan is posted as a PR comment"
    job = preview["jobs"]["deployed"]
    assert job["needs"] == ["stacks", "plan"]  # nothing shown of a site that does not fit
    [shown] = [s for s in steps(job) if "run" in s]
    assert '.venv/bin/aion fleet changed "$SITE" --base "$BASE_SHA" --diff' in shown["run"]
    assert not uses(job, "pulumi/")  # no Pulumi against the state: it would need the admin kubeconfig's passphrase
    assert plan["permissions"]["pull-requests"] == "write" and job["permissions"] == {"contents": "read"}
    [comment] = [s for s in steps(plan) if s.get("name") == "Post the site's plan"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]  # a fork's token cannot comment


def test_production_stacks_come_from_the_site_document_or_else_every_stack_file_but_the_local_one() -> None:
    listing = load("production-stacks.yml")["jobs"]["list"]
    [script] = [s["run"] for s in steps(listing) if "run" in s]
    assert 'matrix=$(.venv/bin/aion fleet matrix "$SITE" "${base[@]}")' in script
    assert "! -name 'Pulumi.local.yaml'" in script
    assert PRODUCTION_STACKS == ["dc5-train-1"]


def test_production_deploys_wait_for_ci_on_main_and_a_reviewer() -> None:
    deploy = load("deploy.yml")
    assert deploy["on"]["workflow_run"] == {"workflows": ["CI"], "types": ["completed"], "branches": ["main"]}
    assert "pull_request" not in deploy["on"] and "push" not in deploy["on"]
    assert set(load("deploy-part.yml")["on"]) == {"workflow_call"}  # run only as deploy.yml's part
    job = load("deploy-part.yml")["jobs"]["deploy"]
    # Required reviewers live on this GitHub environment, one per stack.
    assert job["environment"] == "production-${{ matrix.stack }}"
    assert job["concurrency"]["cancel-in-progress"] is False
    [pulumi] = uses(job, "pulumi/actions@")
    assert (pulumi["with"]["command"], pulumi["with"]["policyPacks"]) == ("up", "policy")
    # The commit CI tested, as the origin read it from the triggering run, handed to each part.
    assert [s["with"]["ref"] for s in uses(job, "actions/checkout@")] == ["${{ inputs.ref }}"]
    [reached] = [
        r
        for r in rules.reached_in(workflows(), *rules.TRUSTED["a push to main of this repository that CI passed"], rules.DEPLOY_OUTPUTS)
        if r.path == DEPLOY_PATH
    ]
    assert reached.context["inputs"]["ref"] == rules.HEAD_SHA


def test_a_run_by_hand_deploys_only_the_stack_it_asked_for_in_whichever_part() -> None:
    job = load("deploy-part.yml")["jobs"]["deploy"]
    [wanted] = [s for s in steps(job) if s.get("name") == "Skip stacks not asked for"]
    assert steps(job)[0] is wanted and wanted["env"] == {"ASKED": "${{ inputs.stack }}", "STACK": "${{ matrix.stack }}"}
    assert all(s.get("if", "").startswith("steps.wanted.outputs.run == 'true'") for s in steps(job)[1:])
    # deploy.yml's input `stack` reaches every part as the part's own input.
    event, context = rules.TRUSTED["a run by hand from main"]
    asked = {**context, "inputs": {"stack": "dc5-train-1"}}
    [reached] = [r for r in rules.reached_in(workflows(), event, asked, rules.DEPLOY_OUTPUTS) if r.path == DEPLOY_PATH]
    assert reached.context["inputs"]["stack"] == "dc5-train-1"


def test_drift_is_checked_on_a_schedule_for_every_production_stack() -> None:
    assert load("drift.yml")["on"]["schedule"]
    job = load("drift-part.yml")["jobs"]["drift"]
    commands = " ".join(s.get("run", "") for s in steps(job))
    # Both checks (refresh --preview-only and preview, each --expect-no-changes) are in fleet/drift.py.
    assert "-m aion_factory.fleet.drift --stack" in commands and "--policy-pack policy" in commands
    # Every stack of every part, each in its own job; nothing from another branch by hand.
    two_parts = {"stacks": {"stacks": '["a", "b", "c"]', "matrices": '[["a", "b"], ["c"]]'}}

    def checked(event: str, context: dict[str, Any]) -> list[list[str]]:
        return [
            [entry["stack"] for entry in rules.matrix_entries(r.job, r.context)]
            for r in rules.reached_jobs(workflows(), "drift.yml", event, context, two_parts)
            if r.path == "drift.yml:drift > drift-part.yml:drift"
        ]

    assert checked("schedule", rules.github_context("schedule")) == [["a", "b"], ["c"]]
    assert checked("workflow_dispatch", rules.github_context("workflow_dispatch")) == [["a", "b"], ["c"]]
    assert checked("workflow_dispatch", rules.github_context("workflow_dispatch", ref="refs/heads/feature")) == []


def test_main_runs_the_local_stack_up_and_down_end_to_end() -> None:
    ci = load("ci.yml")
    assert ci["on"]["push"]["branches"] == ["main"]
    local = ci["jobs"]["local-stack"]
    runs = [s.get("run") for s in steps(local)]
    assert runs[-2:] == ["make local", "make local-down"]
    assert next(s for s in steps(local) if s.get("run") == "make local-down")["if"] == "always()"
    assert "make test" in [s.get("run") for s in steps(ci["jobs"]["test"])]


def test_pip_the_pulumi_plugins_and_the_toolchain_are_cached_for_jobs_without_credentials() -> None:
    caches = {s["with"]["path"]: s for s in action()["runs"]["steps"] if str(s.get("uses", "")).startswith("actions/cache@")}
    assert set(caches) == {"~/.cache/pip", "~/.pulumi/plugins", "~/.cache/aion-factory"}
    assert "scripts/versions.env" in caches["~/.cache/aion-factory"]["with"]["key"]
    assert "constraints.txt" in caches["~/.pulumi/plugins"]["with"]["key"]
    assert all("inputs.trusted != 'true'" in cache["if"] for cache in caches.values())


def test_every_workflow_is_read_by_these_tests() -> None:
    names = sorted(p.name for p in Path(WORKFLOWS).glob("*.yml"))
    assert names == ["ci.yml", "deploy-part.yml", "deploy.yml", "drift-part.yml", "drift.yml", "preview.yml", "production-stacks.yml"]


def test_every_secret_is_an_environment_secret_of_the_job_that_reads_it() -> None:
    # A repository secret reaches every workflow, a pull request's own included; so every job
    # that reads a secret names an environment, and each environment's secrets carry its prefix.
    prefixes = {"drift": "DRIFT_", "production-${{ matrix.stack }}": ""}
    seen = set()
    for name, document in workflows().items():
        assert not rules.secrets_of({k: v for k, v in document.items() if k != "jobs"}), f"{name}: a workflow-level secret"
        for job_name, job in document["jobs"].items():
            found = rules.secrets_of(job)
            if not found:
                continue
            environment = job.get("environment")
            assert environment in prefixes, f"{name}:{job_name} reads {found} outside an environment"
            seen.add(environment)
            prefix = prefixes[environment]
            assert {s.removeprefix(prefix) for s in found} == DEPLOY_SECRETS and all(s.startswith(prefix) for s in found)
    assert seen == set(prefixes)
    assert "PULUMI_ACCESS_TOKEN" not in "".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))  # OIDC, not a stored token


@pytest.mark.parametrize(("workflow", "job", "team"), [("deploy-part.yml", "deploy", "DEPLOY"), ("drift-part.yml", "drift", "DRIFT")])
def test_pulumi_cloud_is_reached_with_oidc_as_a_team_of_the_jobs_role(workflow: str, job: str, team: str) -> None:
    found = load(workflow)["jobs"][job]
    [login] = uses(found, "pulumi/auth-actions@")
    assert "vars.PULUMI_ORG != ''" in login["if"]
    assert login["with"]["requested-token-type"] == "urn:pulumi:token-type:access_token:team"
    assert login["with"]["scope"] == f"team:${{{{ vars.PULUMI_{team}_TEAM }}}}"
    assert found["permissions"]["id-token"] == "write"
    # A called job's token has at most what its caller granted: the calling job grants the OIDC token.
    [caller] = [j for d in workflows().values() for j in d["jobs"].values() if j.get("uses") == f"./.github/workflows/{workflow}"]
    assert caller["permissions"]["id-token"] == "write"
    # Logged in before the first step that runs Pulumi against the stack.
    runs_pulumi = [
        i
        for i, s in enumerate(steps(found))
        if str(s.get("uses", "")).startswith("pulumi/actions@") or "pulumi " in s.get("run", "") or "aion_factory.fleet" in s.get("run", "")
    ]
    assert steps(found).index(login) < runs_pulumi[0]


def test_deploys_run_only_for_stacks_whose_environment_has_required_reviewers() -> None:
    part = load("deploy-part.yml")
    gate = part["jobs"]["protected"]
    assert "needs" not in gate and not rules.secrets_of(gate) and "environment" not in gate
    assert gate["permissions"] == {"contents": "read", "actions": "read"}
    [check] = [s for s in steps(gate) if s.get("id") == "check"]
    assert check["run"] == 'python3 scripts/protected_stacks.py "$STACKS"'
    assert check["env"]["STACKS"] == "${{ inputs.stacks }}"  # the part's stacks
    refused = part["jobs"]["refused"]
    assert refused["if"] == "needs.protected.outputs.refused != '[]'" and "exit 1" in steps(refused)[0]["run"]
    job = part["jobs"]["deploy"]
    # Only the job the gate passed names an environment, and only the stacks it passed.
    assert rules.needs_of(job) == ["protected"]
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.protected.outputs.stacks) }}"
    assert [name for name, j in part["jobs"].items() if "environment" in j] == ["deploy"]
    assert not any("environment" in j for j in load("deploy.yml")["jobs"].values())
    # Each part's stacks go to its gate; the caller grants the gate's `actions: read`.
    caller = load("deploy.yml")["jobs"]["deploy"]
    assert caller["strategy"]["matrix"]["part"] == "${{ fromJSON(needs.stacks.outputs.matrices) }}"
    assert caller["with"]["stacks"] == "${{ toJSON(matrix.part) }}" and caller["permissions"]["actions"] == "read"
    # A refused stack does not stop the others; no stack to deploy, no deploy.
    event, trusted = rules.TRUSTED["a push to main of this repository that CI passed"]

    def paths(outputs: Any) -> set[str]:
        return {r.path for r in rules.reached_in(workflows(), event, trusted, outputs)}

    assert {DEPLOY_PATH, "deploy.yml:deploy > deploy-part.yml:refused"} <= paths(
        {**rules.DEPLOY_OUTPUTS, "protected": rules.gate({"dc5-train-1"})}
    )
    assert DEPLOY_PATH not in paths({**rules.DEPLOY_OUTPUTS, "protected": rules.gate(set())})
    assert not {p for p in paths({**rules.DEPLOY_OUTPUTS, "stacks": {"stacks": "[]", "matrices": "[]"}}) if "deploy-part.yml" in p}


def test_ci_settings_are_documented() -> None:
    doc = (ROOT / "docs/CI.md").read_text()
    every = set().union(*(rules.secrets_of(d) for d in workflows().values()))
    assert every and all(f"`{s}`" in doc or s.startswith("DRIFT_SCW_") for s in every), every - {s for s in every if f"`{s}`" in doc}
    for setting in ("`drift`", "`production-<stack>`", "Required reviewers", "pull_request_target", "no OIDC", "include_claim_keys"):
        assert setting in doc, setting
    # How the fan-out works, each workflow named.
    for setting in ("256", "`matrices`", "`deploy-part.yml`", "`drift-part.yml`", "secrets: inherit", "id-token: write"):
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


@pytest.mark.parametrize(("workflow", "job"), [("deploy-part.yml", "deploy"), ("drift-part.yml", "drift")])
def test_jobs_that_run_pulumi_take_every_plugin_from_the_operators_mirror_at_its_pin(workflow: str, job: str) -> None:
    [setup] = uses(load(workflow)["jobs"][job], "./.github/actions/setup")
    assert setup["with"] == {"trusted": "true", "plugin-mirror": "${{ vars.AION_PLUGIN_MIRROR }}"}
    [install] = [s for s in action()["runs"]["steps"] if s.get("name") == "Provider plugins from the mirror, at their pinned sha256"]
    assert install["if"] == "inputs.trusted == 'true'"  # a missing mirror fails the script, not skips it
    assert install["env"]["AION_PLUGINS"] == "all"
    assert "overrides=$(scripts/install-plugins.sh)\n" in install["run"]


def test_a_deploy_refreshes_first_so_hand_edits_are_restored() -> None:
    [up] = [step for step in uses(load("deploy-part.yml")["jobs"]["deploy"], "pulumi/actions@") if step["with"]["command"] == "up"]
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
