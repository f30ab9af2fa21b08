"""What the CI workflows must never allow, as rules over their parsed YAML (tests/unit/test_workflows.py).

Each rule takes the workflows (name -> document, `on` restored from YAML 1.1's True) and returns
its findings, one string each: [] is clean. The tests run each rule on the real files and on
mutated copies, so every rule is shown to fail on the shape it forbids.

Job conditions are evaluated, not pattern-matched: `evaluate` is a small evaluator of GitHub's
expression language (the operators and functions these workflows use), and `jobs_that_run`
walks the job graph as GitHub does (a job whose needs did not all succeed is skipped unless its
condition calls a status function).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

Workflows = dict[str, dict[str, Any]]

# --- Loading -------------------------------------------------------------------------------


def parse(text: str) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load(text)
    # YAML 1.1 reads the key `on` as True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def load_workflows(folder: Path) -> Workflows:
    return {path.name: parse(path.read_text()) for path in sorted(folder.glob("*.yml"))}


def triggers(document: Mapping[str, Any]) -> dict[str, Any]:
    on = document.get("on") or {}
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)


# --- GitHub's expression language ----------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op>&&|\|\||==|!=|<=|>=|[()!<>,\[\].*])|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read expression at {text[position:]!r}")
        kind = match.lastgroup
        assert kind is not None
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and not (isinstance(value, float) and value != value)


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()  # GitHub compares strings ignoring case
    if type(left) is type(right):
        return bool(left == right)
    return _number(left) == _number(right)


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value) if value.strip() else 0.0
        except ValueError:
            return float("nan")
    return float("nan")


class _Parser:
    def __init__(self, text: str, context: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]):
        self.tokens = _tokens(text)
        self.position = 0
        self.context = context
        self.functions = functions

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ValueError(f"expected {value!r}, found {token!r}")
        self.position += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if _truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.comparison()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.comparison()
            value = right if _truthy(value) else value
        return value

    def comparison(self) -> Any:
        value = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            operator = self.take()[1]
            right = self.unary()
            value = _equal(value, right) if operator == "==" else not _equal(value, right)
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not _truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text)
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind != "name":
            raise ValueError(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == ("op", "("):
            self.take()
            args = []
            while self.peek() != ("op", ")"):
                args.append(self.or_())
                if self.peek() == ("op", ","):
                    self.take()
            self.take(")")
            return self.functions[text.lower()](*args)
        value: Any = self.context.get(text)
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = self.or_()
                self.take("]")
            value = value.get(key) if isinstance(value, Mapping) else None
        return value


def strip_braces(expression: Any) -> str:
    text = str(expression).strip()
    if text.startswith("${{") and text.endswith("}}"):
        return text[3:-2]
    return text


def evaluate(expression: Any, context: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]] | None = None) -> Any:
    import json

    base: dict[str, Callable[..., Any]] = {
        "contains": lambda haystack, needle: (
            any(_equal(item, needle) for item in haystack)
            if isinstance(haystack, list)
            else str(needle).casefold() in str(haystack).casefold()
        ),
        "startswith": lambda text, prefix: str(text).casefold().startswith(str(prefix).casefold()),
        "endswith": lambda text, suffix: str(text).casefold().endswith(str(suffix).casefold()),
        "fromjson": lambda text: json.loads(text),
        "format": lambda template, *args: re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1))]), template),
    }
    return _Parser(strip_braces(expression), context, {**base, **(functions or {})}).parse()


# --- The job graph -------------------------------------------------------------------------


def needs_of(job: Mapping[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def jobs_that_run(
    document: Mapping[str, Any], event: str, context: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]] | None = None
) -> set[str]:
    """The jobs GitHub would run for `event` (with `github` context `context["github"]`), every job that
    runs succeeding and its outputs taken from `outputs` (a skipped job has none)."""
    if event not in triggers(document) or not _filters_pass(triggers(document)[event], event, context):
        return set()
    jobs: dict[str, Any] = document["jobs"]
    result: dict[str, str] = {}

    def settle(name: str) -> str:
        if name in result:
            return result[name]
        job = jobs[name]
        needs = {need: settle(need) for need in needs_of(job)}
        needs_context = {
            need: {"result": status, "outputs": dict((outputs or {}).get(need, {})) if status == "success" else {}}
            for need, status in needs.items()
        }
        functions = {
            "success": lambda: all(status == "success" for status in needs.values()),
            "failure": lambda: any(status == "failure" for status in needs.values()),
            "always": lambda: True,
            "cancelled": lambda: False,
        }
        condition = job.get("if")
        expression = strip_braces(condition) if condition is not None else "success()"
        if not re.search(r"\b(" + "|".join(STATUS_FUNCTIONS) + r")\s*\(", expression):
            expression = f"success() && ({expression})"
        runs = _truthy(evaluate(expression, {**context, "needs": needs_context}, functions))
        result[name] = "success" if runs else "skipped"
        return result[name]

    for name in jobs:
        settle(name)
    return {name for name, status in result.items() if status == "success"}


def _filters_pass(settings: Any, event: str, context: Mapping[str, Any]) -> bool:
    """The trigger's branch filter: for workflow_run, the triggering run's head branch *name*."""
    if not isinstance(settings, Mapping) or "branches" not in settings:
        return True
    github = context.get("github", {})
    if event == "workflow_run":
        branch = github.get("event", {}).get("workflow_run", {}).get("head_branch")
    else:
        branch = str(github.get("ref", "")).removeprefix("refs/heads/")
    return branch in settings["branches"]


# --- What a job does -----------------------------------------------------------------------


def steps(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def runs_pulumi_up(job: Mapping[str, Any]) -> bool:
    for step in steps(job):
        if str(step.get("uses", "")).startswith("pulumi/actions@") and (step.get("with") or {}).get("command") in ("up", "destroy"):
            return True
        if re.search(r"\bpulumi\s+(up|destroy)\b|\bfleet\s+(up|destroy)\b", str(step.get("run", ""))):
            return True
    return False


def secrets_of(node: Any) -> set[str]:
    return set(re.findall(r"secrets\.([A-Za-z0-9_]+)", yaml.safe_dump(node)))


def holds_credentials(job: Mapping[str, Any]) -> bool:
    """A secret, an environment (whose secrets it may read) or an OIDC token."""
    return bool(secrets_of(job)) or "environment" in job or (job.get("permissions") or {}).get("id-token") == "write"


# --- The rules -----------------------------------------------------------------------------

REPOSITORY = "aion/aion-factory"
HEAD_SHA = "0123456789abcdef0123456789abcdef01234567"


def github_context(event_name: str, ref: str = "refs/heads/main", **workflow_run: Any) -> dict[str, Any]:
    """The `github` context of a run; `workflow_run` keys override a successful push to main of this repository."""
    payload: dict[str, Any] = {}
    if event_name == "workflow_run":
        payload["workflow_run"] = {
            "conclusion": "success",
            "event": "push",
            "head_branch": "main",
            "head_sha": HEAD_SHA,
            "head_repository": {"full_name": REPOSITORY},
            **workflow_run,
        }
    return {"github": {"event_name": event_name, "repository": REPOSITORY, "ref": ref, "sha": HEAD_SHA, "event": payload}}


# Runs that must never reach `pulumi up`, and the ones that must (else the rule proves nothing).
UNTRUSTED = {
    "a fork's pull request from a branch named main": (
        "workflow_run",
        github_context("workflow_run", event="pull_request", head_repository={"full_name": "mallory/aion-factory"}),
    ),
    "a pull request of this repository from a branch named main": ("workflow_run", github_context("workflow_run", event="pull_request")),
    "a fork's push to its own main": (
        "workflow_run",
        github_context("workflow_run", head_repository={"full_name": "mallory/aion-factory"}),
    ),
    "a push to main whose CI failed": ("workflow_run", github_context("workflow_run", conclusion="failure")),
    "a run by hand from another branch": ("workflow_dispatch", github_context("workflow_dispatch", ref="refs/heads/feature")),
}
TRUSTED = {
    "a push to main of this repository that CI passed": ("workflow_run", github_context("workflow_run")),
    "a run by hand from main": ("workflow_dispatch", github_context("workflow_dispatch")),
}
# What the jobs of a deploy would output: a stack to deploy, none refused.
DEPLOY_OUTPUTS = {
    "origin": {"sha": HEAD_SHA},
    "stacks": {"stacks": '["dc5-train-1"]'},
    "protected": {"stacks": '["dc5-train-1"]', "refused": "[]"},
}


def deploys_reached(workflows: Workflows, runs: Mapping[str, tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """For each run, the `workflow:job`s that would run `pulumi up` (or destroy)."""
    reached: dict[str, list[str]] = {}
    for case, (event, context) in runs.items():
        for name, document in workflows.items():
            running = jobs_that_run(document, event, context, DEPLOY_OUTPUTS)
            reached.setdefault(case, []).extend(f"{name}:{job}" for job in sorted(running) if runs_pulumi_up(document["jobs"][job]))
    return reached


def untrusted_runs_reach_a_deploy(workflows: Workflows) -> list[str]:
    findings = [f"{case} runs {', '.join(jobs)}" for case, jobs in deploys_reached(workflows, UNTRUSTED).items() if jobs]
    findings += [
        f"{case} deploys nothing: the rule would prove nothing" for case, jobs in deploys_reached(workflows, TRUSTED).items() if not jobs
    ]
    return findings


PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
TAG_COMMENT = re.compile(r"^#\s*v\d+(\.\d+)*\s*$")


def uses_lines(texts: Mapping[str, str]) -> Iterator[tuple[str, int, str, str]]:
    for name, text in texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(.*)$", line)
            if match:
                yield name, number, match.group(1), match.group(2)


def unpinned_actions(texts: Mapping[str, str]) -> list[str]:
    """Every `uses:` of another repository by full commit SHA, its tag in a comment; a local action or workflow is ours."""
    findings = []
    for name, number, target, comment in uses_lines(texts):
        if target.startswith("./"):
            continue
        if target.startswith("docker://"):
            if "@sha256:" not in target:
                findings.append(f"{name}:{number}: {target} is not pinned by digest")
            continue
        if not PINNED.match(target):
            findings.append(f"{name}:{number}: {target} is not pinned by a full commit SHA")
        elif not TAG_COMMENT.match(comment):
            findings.append(f"{name}:{number}: {target} does not name its tag in a comment")
    return findings


def pull_request_workflows(workflows: Workflows) -> list[str]:
    """Workflows a pull request runs: on pull_request(_target), or called by one that is."""
    found = [name for name, document in workflows.items() if {"pull_request", "pull_request_target"} & set(triggers(document))]
    changed = True
    while changed:
        changed = False
        for name, document in workflows.items():
            if name in found:
                for job in document["jobs"].values():
                    called = str(job.get("uses", ""))
                    if called.startswith("./.github/workflows/") and (callee := called.rsplit("/", 1)[1]) not in found:
                        found.append(callee)
                        changed = True
    return found


def credentials_in_pull_request_jobs(workflows: Workflows) -> list[str]:
    """No job a pull request runs holds a secret, an environment, an OIDC token or inherited secrets."""
    findings = []
    for name in pull_request_workflows(workflows):
        document = workflows[name]
        if "pull_request_target" in triggers(document):
            findings.append(f"{name}: pull_request_target runs with the base's secrets")
        if secrets_of({k: v for k, v in document.items() if k != "jobs"}):
            findings.append(f"{name}: a workflow-level secret")
        for job_name, job in document["jobs"].items():
            if holds_credentials(job) or job.get("secrets") == "inherit":
                findings.append(f"{name}:{job_name} holds a credential in a pull request's run")
    return findings


ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\$\(.*\)$", re.DOTALL)


def logical_lines(script: str) -> Iterator[str]:
    """Shell lines joined where one continues the next (a trailing `|`, `\\`, `&&`, `||` or an open `$(`)."""
    current = ""
    for line in script.splitlines():
        current = f"{current}\n{line}" if current else line
        stripped = current.rstrip()
        if stripped.endswith(("|", "\\", "&&", "||")) or current.count("$(") > current.count(")"):
            continue
        yield current.strip()
        current = ""
    if current:
        yield current.strip()


def shell_of(document: Mapping[str, Any], job: Mapping[str, Any], step: Mapping[str, Any]) -> str | None:
    for holder in (step, (job.get("defaults") or {}).get("run") or {}, (document.get("defaults") or {}).get("run") or {}):
        if "shell" in holder:
            return str(holder["shell"])
    return None


def run_steps(workflows: Workflows, action: Mapping[str, Any]) -> Iterator[tuple[str, str | None, str]]:
    for name, document in workflows.items():
        for job_name, job in document["jobs"].items():
            for step in steps(job):
                if "run" in step:
                    yield f"{name}:{job_name}", shell_of(document, job, step), str(step["run"])
    for step in action["runs"]["steps"]:
        if "run" in step:
            yield "action.yml", step.get("shell"), str(step["run"])


def failures_that_cannot_fail(workflows: Workflows, action: Mapping[str, Any]) -> list[str]:
    """Every run step under `bash` (GitHub runs it `-eo pipefail`), and every `$(...)` in an assignment
    of its own: inside `echo "X=$(cmd)"` (or `export X=$(cmd)`) a failing cmd passes."""
    findings = []
    for where, shell, script in run_steps(workflows, action):
        if shell != "bash":
            findings.append(f"{where}: runs under {shell or 'the default shell'}, not bash -eo pipefail")
        for line in logical_lines(script):
            if "$(" in line and not ASSIGNMENT.match(line):
                findings.append(f"{where}: a failure inside `{line.splitlines()[0][:80]}` would pass")
    return findings


OIDC_SUBJECT = re.compile(r"^repo:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+:environment:(?P<environment>[a-z0-9-]+):ref:refs/heads/main$")


def oidc_subjects(doc: str) -> list[str]:
    """The subjects in docs/CI.md's ```oidc-subjects block, one a line."""
    match = re.search(r"```oidc-subjects\n(.*?)```", doc, re.DOTALL)
    return [line.strip() for line in match.group(1).splitlines() if line.strip()] if match else []


def loose_oidc_subjects(doc: str, environments: set[str]) -> list[str]:
    """Each subject names one exact environment and the main ref, without a wildcard; each environment that
    logs in with OIDC has one."""
    subjects = oidc_subjects(doc)
    findings = [f"{s}: a wildcard" for s in subjects if any(c in s for c in "*?[")]
    findings += [f"{s}: not repo:OWNER/REPO:environment:NAME:ref:refs/heads/main" for s in subjects if not OIDC_SUBJECT.match(s)]
    named = {m.group("environment") for s in subjects if (m := OIDC_SUBJECT.match(s))}
    findings += [f"environment {e} logs in with OIDC but no subject names it" for e in sorted(environments - named)]
    findings += [f"{e}: a subject for an environment no job logs in from" for e in sorted(named - environments)]
    return findings


def oidc_environments(workflows: Workflows, production_stacks: list[str]) -> set[str]:
    """The environments of jobs that ask for an OIDC token, `production-${{ matrix.stack }}` expanded per stack."""
    found = set()
    for document in workflows.values():
        for job in document["jobs"].values():
            if (job.get("permissions") or {}).get("id-token") == "write":
                environment = str(job.get("environment", ""))
                if "${{ matrix.stack }}" in environment:
                    found |= {environment.replace("${{ matrix.stack }}", stack) for stack in production_stacks}
                else:
                    found.add(environment)
    return found


def drift_that_writes(workflows: Workflows, drift_source: str) -> list[str]:
    """The drift job only asks (refresh --preview-only, preview), never updates."""
    findings = []
    for job_name, job in workflows["drift.yml"]["jobs"].items():
        if runs_pulumi_up(job):
            findings.append(f"drift.yml:{job_name} runs an update")
        for step in steps(job):
            if str(step.get("uses", "")).startswith("pulumi/actions@"):
                findings.append(f"drift.yml:{job_name} runs pulumi/actions ({(step.get('with') or {}).get('command')})")
            if re.search(r"\bpulumi\s+(refresh|import|state|stack\s+import)\b", str(step.get("run", ""))):
                findings.append(f"drift.yml:{job_name}: {step['run'].strip()[:80]} may write the state")
    for line in re.findall(r'\("refresh"[^)]*\)', drift_source):
        if '"--preview-only"' not in line:
            findings.append(f"fleet/drift.py: {line} refreshes for real")
    if re.search(r'\(\s*"(up|destroy)"', drift_source):
        findings.append("fleet/drift.py runs an update")
    return findings


def unverified_plugins_or_venv(workflows: Workflows, action: Mapping[str, Any]) -> list[str]:
    """A job holding credentials gets its venv from hashed requirements and its plugins from the pinned
    mirror only, with Pulumi's own downloads off and no cache restored."""
    findings = []
    for name, document in workflows.items():
        for job_name, job in document["jobs"].items():
            if not holds_credentials(job):
                continue
            setups = [s for s in steps(job) if s.get("uses") == "./.github/actions/setup"]
            if not setups or any((s.get("with") or {}).get("trusted") != "true" for s in setups):
                findings.append(f"{name}:{job_name} holds credentials without the trusted setup")
            if str((job.get("env") or {}).get("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION")) != "true":
                findings.append(f"{name}:{job_name} lets Pulumi download plugins on its own")
    for step in action["runs"]["steps"]:
        if str(step.get("uses", "")).startswith("actions/cache@") and "inputs.trusted != 'true'" not in str(step.get("if", "")):
            findings.append(f"action.yml: {step.get('name', step['uses'])} is restored for trusted jobs")
        if "setup-python@" in str(step.get("uses", "")) and (step.get("with") or {}).get("cache"):
            findings.append("action.yml: setup-python restores a pip cache for every job")
    trusted = [s for s in action["runs"]["steps"] if "inputs.trusted == 'true'" in str(s.get("if", ""))]
    scripts = "\n".join(str(s.get("run", "")) for s in trusted)
    if "--require-hashes" not in scripts or "-r requirements/deploy.txt" not in scripts:
        findings.append("action.yml: the trusted venv is not installed from hashed requirements")
    if not re.search(r"^\s*\.venv/bin/pip install [^\n]*--no-index[^\n]*-e \.$", scripts, re.MULTILINE):
        findings.append("action.yml: the library itself may be fetched from an index")
    if "overrides=$(scripts/install-plugins.sh)" not in scripts or "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true" not in scripts:
        findings.append("action.yml: the trusted setup does not install the pinned plugins with downloads off")
    return findings


def persisted_checkout_credentials(workflows: Workflows) -> list[str]:
    """`actions/checkout` writes the job's token into .git/config unless told not to: every later step could read it."""
    return [
        f"{name}:{job_name} checks out with its token persisted"
        for name, document in workflows.items()
        for job_name, job in document["jobs"].items()
        for step in steps(job)
        if str(step.get("uses", "")).startswith("actions/checkout@") and (step.get("with") or {}).get("persist-credentials") is not False
    ]


def unhashed_requirements(text: str) -> list[str]:
    """Every `name==version` of a pip-compile --generate-hashes file followed by at least one sha256."""
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)(.*?)(?=^[A-Za-z0-9_.-]+==|\Z)", text, re.MULTILINE | re.DOTALL)
    findings = [f"{name}=={version} has no sha256" for name, version, rest in pins if not re.search(r"--hash=sha256:[0-9a-f]{64}", rest)]
    findings += [
        f"{line.strip()}: not pinned by ==" for line in text.splitlines() if re.match(r"^[A-Za-z0-9_.-]+\s*(>=|<=|~=|>|<|$)", line)
    ]
    return findings
