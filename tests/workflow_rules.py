"""What the CI workflows must never allow, as rules over their parsed YAML (tests/unit/test_workflows.py).

Each rule takes the workflows (name -> document, `on` restored from YAML 1.1's True) and returns
its findings, one string each: [] is clean. The tests run each rule on the real files and on
mutated copies, so every rule is shown to fail on the shape it forbids.

Job conditions are evaluated, not pattern-matched: `evaluate` is a small evaluator of GitHub's
expression language (the operators and functions these workflows use), and `jobs_that_run`
walks the job graph as GitHub does (a job whose needs did not all succeed is skipped unless its
condition calls a status function). `reached_jobs` follows a job that calls a reusable workflow
of this repository (`uses: ./.github/workflows/X.yml`) into the called workflow's jobs, once per
entry of the calling job's matrix, with the `inputs` its `with:` gives them and the caller's
`github` context, as GitHub runs them.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
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
    base: dict[str, Callable[..., Any]] = {
        "contains": lambda haystack, needle: (
            any(_equal(item, needle) for item in haystack)
            if isinstance(haystack, list)
            else str(needle).casefold() in str(haystack).casefold()
        ),
        "startswith": lambda text, prefix: str(text).casefold().startswith(str(prefix).casefold()),
        "endswith": lambda text, suffix: str(text).casefold().endswith(str(suffix).casefold()),
        "fromjson": lambda text: json.loads(text),
        "tojson": lambda value: json.dumps(value, indent=2),
        "format": lambda template, *args: re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1))]), template),
    }
    return _Parser(strip_braces(expression), context, {**base, **(functions or {})}).parse()


def as_string(value: Any) -> str:
    """An expression's value where GitHub puts it into text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def interpolate(value: Any, context: Mapping[str, Any]) -> Any:
    """A workflow value with its `${{ }}` evaluated: the value itself when it is one expression, else text."""
    if not isinstance(value, str):
        return value
    whole = re.fullmatch(r"\s*\$\{\{(.*?)\}\}\s*", value, re.DOTALL)
    if whole:
        return evaluate(whole.group(1), context)
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: as_string(evaluate(m.group(1), context)), value, flags=re.DOTALL)


# --- The job graph -------------------------------------------------------------------------


def needs_of(job: Mapping[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


# What a job outputs when it succeeds: a mapping, or a function of the job and the context it ran in.
JobOutputs = Mapping[str, Any] | Callable[[Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any]]
Outputs = Mapping[str, JobOutputs]


@dataclass(frozen=True)
class Settled:
    status: str  # "success" or "skipped"
    context: dict[str, Any]  # what the job's expressions see: the run's contexts and its `needs`
    outputs: dict[str, Any]


def settle_jobs(document: Mapping[str, Any], event: str, context: Mapping[str, Any], outputs: Outputs | None = None) -> dict[str, Settled]:
    """Each job of the workflow as GitHub would settle it for `event` (with `github` context `context["github"]`),
    every job that runs succeeding and its outputs taken from `outputs` by job name (a skipped job has none)."""
    if event not in triggers(document) or not _filters_pass(triggers(document)[event], event, context):
        return {}
    jobs: dict[str, Any] = document["jobs"]
    result: dict[str, Settled] = {}

    def settle(name: str) -> Settled:
        if name in result:
            return result[name]
        job = jobs[name]
        needs = {need: settle(need) for need in needs_of(job)}
        needs_context = {need: {"result": done.status, "outputs": done.outputs} for need, done in needs.items()}
        functions = {
            "success": lambda: all(done.status == "success" for done in needs.values()),
            "failure": lambda: any(done.status == "failure" for done in needs.values()),
            "always": lambda: True,
            "cancelled": lambda: False,
        }
        job_context = {**context, "needs": needs_context}
        condition = job.get("if")
        expression = strip_braces(condition) if condition is not None else "success()"
        if not re.search(r"\b(" + "|".join(STATUS_FUNCTIONS) + r")\s*\(", expression):
            expression = f"success() && ({expression})"
        runs = _truthy(evaluate(expression, job_context, functions))
        given = (outputs or {}).get(name, {}) if runs else {}
        produced = dict(given(job, job_context) if callable(given) else given)
        result[name] = Settled("success" if runs else "skipped", job_context, produced)
        return result[name]

    for name in jobs:
        settle(name)
    return result


def jobs_that_run(document: Mapping[str, Any], event: str, context: Mapping[str, Any], outputs: Outputs | None = None) -> set[str]:
    """The jobs GitHub would run for `event` (with `github` context `context["github"]`), every job that
    runs succeeding and its outputs taken from `outputs` (a skipped job has none)."""
    return {name for name, settled in settle_jobs(document, event, context, outputs).items() if settled.status == "success"}


def called_workflow(job: Mapping[str, Any]) -> str | None:
    """The file a job calls as a reusable workflow of this repository (`uses: ./.github/workflows/X.yml`)."""
    called = str(job.get("uses", ""))
    return called.rsplit("/", 1)[1] if called.startswith("./.github/workflows/") else None


def matrix_entries(job: Mapping[str, Any], context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The matrix entries GitHub would expand the job into ([{}] without a matrix; none when a value is not a list)."""
    matrix = (job.get("strategy") or {}).get("matrix")
    if matrix is None:
        return [{}]
    if isinstance(matrix, str):
        matrix = interpolate(matrix, context)
    if not isinstance(matrix, Mapping):
        return []
    if {"include", "exclude"} & set(matrix):
        raise ValueError("matrix include/exclude is not modelled here")
    values = {}
    for key, value in matrix.items():
        try:
            values[key] = interpolate(value, context)
        except (TypeError, ValueError):  # fromJSON of nothing: GitHub fails the job, nothing runs
            return []
        if not isinstance(values[key], list):
            return []
    return [dict(zip(values, combination, strict=True)) for combination in itertools.product(*values.values())]


def fails_fast(job: Mapping[str, Any]) -> bool:
    """A matrix job whose failed entry cancels the others (GitHub's default)."""
    strategy = job.get("strategy") or {}
    return "matrix" in strategy and strategy.get("fail-fast", True) is not False


def call_inputs(called: Mapping[str, Any], job: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """The called workflow's `inputs`: its declared defaults, then what the calling job's `with:` gives."""
    declared = (triggers(called).get("workflow_call") or {}).get("inputs") or {}
    inputs = {name: spec.get("default") for name, spec in declared.items() if isinstance(spec, Mapping)}
    inputs.update({name: interpolate(value, context) for name, value in (job.get("with") or {}).items()})
    return inputs


@dataclass(frozen=True)
class Reached:
    path: str  # "deploy.yml:deploy > deploy-part.yml:deploy": the calls that led to the job, and the job
    workflow: str  # the file the job is in
    job: Mapping[str, Any]
    context: dict[str, Any]  # what its expressions see: the caller's `github`, its workflow's `inputs`, its `needs`
    callers: tuple[Mapping[str, Any], ...] = ()  # the jobs that called its workflow, outermost first
    parts: tuple[dict[str, Any], ...] = ()  # each caller's matrix entry


def reached_jobs(
    workflows: Workflows,
    name: str,
    event: str,
    context: Mapping[str, Any],
    outputs: Outputs | None = None,
    *,
    _callers: tuple[tuple[str, str, dict[str, Any]], ...] = (),
) -> list[Reached]:
    """Every job GitHub would run for `event` in workflow `name`, a job that calls a workflow of this repository
    replaced by the called workflow's jobs, once per entry of its matrix (GitHub refuses a loop of calls)."""
    found = []
    for job_name, settled in settle_jobs(workflows[name], event, context, outputs).items():
        if settled.status != "success":
            continue
        job = workflows[name]["jobs"][job_name]
        callee = called_workflow(job)
        here = (*_callers, (name, job_name, {}))
        if callee is None:
            found.append(
                Reached(
                    path=" > ".join(f"{w}:{j}" for w, j, _ in here),
                    workflow=name,
                    job=job,
                    context=settled.context,
                    callers=tuple(workflows[w]["jobs"][j] for w, j, _ in _callers),
                    parts=tuple(entry for _, _, entry in _callers),
                )
            )
            continue
        if callee in {w for w, _, _ in here}:
            raise ValueError(f"{name}:{job_name} calls {callee} in a loop")
        for entry in matrix_entries(job, settled.context):
            inputs = call_inputs(workflows[callee], job, {**settled.context, "matrix": entry})
            called_context = {key: value for key, value in context.items() if key not in ("inputs", "needs", "matrix")}
            found += reached_jobs(
                workflows,
                callee,
                "workflow_call",
                {**called_context, "inputs": inputs},
                outputs,
                _callers=(*_callers, (name, job_name, entry)),
            )
    return found


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
GATE = "scripts/protected_stacks.py"


def is_gate(job: Mapping[str, Any]) -> bool:
    """The job that asks GitHub which stacks' environments exist with required reviewers."""
    return any(GATE in str(step.get("run", "")) for step in steps(job))


def gate(opted_in: set[str]) -> Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, str]]:
    """The gate's outputs, as scripts/protected_stacks.py writes them, for the stacks its job was given
    (its `STACKS`, evaluated where it ran) when the environments of `opted_in` alone have reviewers."""

    def outputs(job: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, str]:
        [check] = [step for step in steps(job) if GATE in str(step.get("run", ""))]
        asked = json.loads(interpolate((check.get("env") or {}).get("STACKS"), context) or "[]")
        return {
            "stacks": json.dumps([s for s in asked if s in opted_in]),
            "refused": json.dumps([s for s in asked if s not in opted_in]),
        }

    return outputs


# What the jobs of a deploy would output: two stacks in one part, the environment of one opted in.
DEPLOY_OUTPUTS: dict[str, JobOutputs] = {
    "origin": {"sha": HEAD_SHA},
    "stacks": {"stacks": '["dc5-train-1", "dc5-new"]', "matrices": '[["dc5-train-1", "dc5-new"]]'},
    "protected": gate({"dc5-train-1"}),
}


def reached_in(workflows: Workflows, event: str, context: Mapping[str, Any], outputs: Outputs) -> Iterator[Reached]:
    """Every job a run reaches, in every workflow it triggers and every workflow those call."""
    for name in workflows:
        yield from reached_jobs(workflows, name, event, context, outputs)


def deploys_reached(
    workflows: Workflows, runs: Mapping[str, tuple[str, dict[str, Any]]], outputs: Outputs = DEPLOY_OUTPUTS
) -> dict[str, list[str]]:
    """For each run, the jobs that would run `pulumi up` (or destroy), each as the path of calls that reaches it."""
    return {
        case: sorted({reached.path for reached in reached_in(workflows, event, context, outputs) if runs_pulumi_up(reached.job)})
        for case, (event, context) in runs.items()
    }


def untrusted_runs_reach_a_deploy(workflows: Workflows, outputs: Outputs = DEPLOY_OUTPUTS) -> list[str]:
    findings = [f"{case} runs {', '.join(jobs)}" for case, jobs in deploys_reached(workflows, UNTRUSTED, outputs).items() if jobs]
    findings += [
        f"{case} deploys nothing: the rule would prove nothing"
        for case, jobs in deploys_reached(workflows, TRUSTED, outputs).items()
        if not jobs
    ]
    return findings


def environment_of(job: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    environment = job.get("environment")
    if isinstance(environment, Mapping):
        environment = environment.get("name")
    return as_string(interpolate(environment, context))


def ungated_deploys(workflows: Workflows, outputs: Outputs = DEPLOY_OUTPUTS) -> list[str]:
    """However it is reached (through called workflows too), a job that names a `production-` environment
    needs the gate of its own workflow and names only environments the gate passed; a job that runs
    `pulumi up` does so for each stack in `production-<stack>`, one update per stack at a time
    (concurrency `deploy-<stack>`, never cancelled: no cancel-in-progress, no fail-fast on its way),
    with no secret handed down by a caller (its environment's secrets alone)."""
    findings, deployed = set(), set()
    for case, (event, context) in {**TRUSTED, **UNTRUSTED}.items():
        for reached in reached_in(workflows, event, context, outputs):
            findings |= _deploy_findings(workflows, reached)
            if case in TRUSTED and runs_pulumi_up(reached.job):
                deployed |= {as_string(e.get("stack")) for e in matrix_entries(reached.job, reached.context)}
    if not deployed:
        findings.add("no trusted run deploys a stack: the rule would prove nothing")
    return sorted(findings)


def _deploy_findings(workflows: Workflows, reached: Reached) -> set[str]:
    job, where = reached.job, reached.path
    deploys = runs_pulumi_up(job)
    entries = matrix_entries(job, reached.context)
    named = {as_string(e.get("stack")): environment_of(job, {**reached.context, "matrix": e}) for e in entries}
    if not deploys and not any(environment.startswith("production-") for environment in named.values()):
        return set()
    findings = set()
    jobs = workflows[reached.workflow]["jobs"]
    gates = [need for need in needs_of(job) if need in jobs and is_gate(jobs[need])]
    if not gates:
        findings.add(f"{where} needs no gate ({GATE}) of its workflow")
    passed = {s for need in gates for s in json.loads(reached.context["needs"][need]["outputs"].get("stacks") or "[]")}
    for stack, environment in named.items():
        if deploys and environment != f"production-{stack}":
            findings.add(f"{where} deploys {stack or 'a stack'} outside its environment production-{stack}")
        if environment.startswith("production-") and environment.removeprefix("production-") not in passed:
            findings.add(f"{where} names {environment}, which the gate did not pass")
    if deploys:
        concurrency = job.get("concurrency") or {}
        for entry in entries:
            group = as_string(interpolate(concurrency.get("group"), {**reached.context, "matrix": entry}))
            if group != f"deploy-{as_string(entry.get('stack'))}":
                findings.add(f"{where}: not one update per stack at a time (concurrency group {group or 'none'})")
        if concurrency.get("cancel-in-progress") is not False:
            findings.add(f"{where}: a newer run may cancel an update half-way (cancel-in-progress)")
        for holder in (*reached.callers, job):
            if fails_fast(holder):
                findings.add(f"{where}: a failed matrix entry cancels the others' updates half-way (fail-fast)")
            if holder is not job and "secrets" in holder:
                findings.add(f"{where}: a caller passes secrets down; a stack's credentials are its environment's alone")
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
                    if (callee := called_workflow(job)) is not None and callee not in found:
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
            elif "uses" in job and called_workflow(job) is None:
                # Its jobs are not in this repository, so no rule here can read them: they may name our environments.
                findings.append(f"{name}:{job_name} calls a workflow of another repository in a pull request's run")
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
            # A job that calls a workflow only grants the permission; the called job asks, in its environment.
            if (job.get("permissions") or {}).get("id-token") == "write" and called_workflow(job) is None:
                environment = str(job.get("environment", ""))
                if "${{ matrix.stack }}" in environment:
                    found |= {environment.replace("${{ matrix.stack }}", stack) for stack in production_stacks}
                else:
                    found.add(environment)
    return found


def called_by(workflows: Workflows, name: str) -> list[str]:
    """The workflow and every workflow of this repository it calls, directly or through another."""
    found = [name]
    for current in found:
        for job in workflows[current]["jobs"].values():
            callee = called_workflow(job)
            if callee is not None and callee not in found:
                found.append(callee)
    return found


def drift_that_writes(workflows: Workflows, drift_source: str) -> list[str]:
    """The drift jobs (drift.yml's and those of the workflows it calls) only ask (refresh --preview-only,
    preview), never update."""
    findings = []
    for name in called_by(workflows, "drift.yml"):
        for job_name, job in workflows[name]["jobs"].items():
            if runs_pulumi_up(job):
                findings.append(f"{name}:{job_name} runs an update")
            for step in steps(job):
                if str(step.get("uses", "")).startswith("pulumi/actions@"):
                    findings.append(f"{name}:{job_name} runs pulumi/actions ({(step.get('with') or {}).get('command')})")
                if re.search(r"\bpulumi\s+(refresh|import|state|stack\s+import)\b", str(step.get("run", ""))):
                    findings.append(f"{name}:{job_name}: {step['run'].strip()[:80]} may write the state")
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
            if not holds_credentials(job) or called_workflow(job) is not None:  # a called job is checked where it is
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
