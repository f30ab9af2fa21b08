"""The CI workflows do what issue 6 asks of them (actionlint checks their syntax: `make lint-workflows`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from support import ROOT

WORKFLOWS = ROOT / ".github/workflows"


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
    assert preview["permissions"]["pull-requests"] == "write"


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
    assert "scripts/versions.env" in caches["~/.cache/aion-factory"] and "pyproject.toml" in caches["~/.pulumi/plugins"]


def test_every_workflow_is_read_by_these_tests() -> None:
    names = sorted(p.name for p in Path(WORKFLOWS).glob("*.yml"))
    assert names == ["ci.yml", "deploy.yml", "drift.yml", "preview.yml", "production-stacks.yml"]
