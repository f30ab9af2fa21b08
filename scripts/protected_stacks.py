#!/usr/bin/env python3
"""Which production stacks may deploy: those a repository admin opted in by creating the GitHub
environment `production-<stack>` with required reviewers.

GitHub creates an environment a job names when it does not exist yet, with no protection
rules, and runs the job at once: a new stack file would deploy unapproved on its first run.
So deploy.yml asks this script first (in each part it calls, deploy-part.yml), before any job
names the environment, and deploys only the stacks it returns. Usage (in a workflow, with
GITHUB_TOKEN allowed `actions: read`):

    scripts/protected_stacks.py '["dc5-train-1", "h1-c01"]'

writes `stacks=<JSON list>` (may deploy) and `refused=<JSON list>` to $GITHUB_OUTPUT and prints
an annotation per refused stack. Standard library only: it runs before the venv exists.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

ENVIRONMENT_PREFIX = "production-"
SETTINGS = "docs/CI.md#opting-a-stack-in"

Environment = Mapping[str, Any]


def environment_name(stack: str) -> str:
    return f"{ENVIRONMENT_PREFIX}{stack}"


def refusal(stack: str, environment: Environment | None) -> str | None:
    """Why the stack may not deploy (None: it may). `environment` is GitHub's "get an environment" answer."""
    name = environment_name(stack)
    if environment is None:
        return f"stack {stack}: no environment {name}; a new stack deploys once an admin creates it with required reviewers ({SETTINGS})"
    rules = environment.get("protection_rules") or []
    if not any(rule.get("type") == "required_reviewers" and rule.get("reviewers") for rule in rules):
        return f"stack {stack}: environment {name} has no required reviewers; add at least one ({SETTINGS})"
    return None


def warnings(stack: str, environment: Environment) -> list[str]:
    """Settings that weaken the gate without opening it."""
    name = environment_name(stack)
    found = []
    if environment.get("deployment_branch_policy") is None:
        found.append(f"stack {stack}: environment {name} accepts any branch; limit its deployment branches to main ({SETTINGS})")
    if environment.get("can_admins_bypass", True):
        found.append(f"stack {stack}: admins may bypass the reviewers of {name}; turn off 'Allow administrators to bypass'")
    return found


def decide(stacks: list[str], fetch: Callable[[str], Environment | None]) -> tuple[list[str], list[str], list[str]]:
    """(may deploy, refusals, warnings) for the stacks, reading each environment with `fetch`."""
    allowed, refusals, notes = [], [], []
    for stack in stacks:
        environment = fetch(environment_name(stack))
        why = refusal(stack, environment)
        if why is None and environment is not None:
            allowed.append(stack)
            notes += warnings(stack, environment)
        elif why is not None:
            refusals.append(why)
    return allowed, refusals, notes


def github_environment(name: str) -> Environment | None:
    """GET /repos/{repo}/environments/{name}: None when it does not exist."""
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    url = f"{api}/repos/{os.environ['GITHUB_REPOSITORY']}/environments/{urllib.parse.quote(name, safe='')}"
    request = urllib.request.Request(
        url,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {os.environ['GITHUB_TOKEN']}",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: Environment = json.load(response)
            return answer
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def main(argv: list[str], fetch: Callable[[str], Environment | None] = github_environment) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    stacks = json.loads(argv[1])
    allowed, refusals, notes = decide(stacks, fetch)
    for note in notes:
        print(f"::warning::{note}")
    for why in refusals:
        print(f"::error::{why}")
    refused = [s for s in stacks if s not in allowed]
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a") as file:
            file.write(f"stacks={json.dumps(allowed)}\nrefused={json.dumps(refused)}\n")
    print(f"may deploy: {', '.join(allowed) or 'none'}; refused: {', '.join(refused) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
