"""Run one operation on many cluster stacks with Pulumi's Automation API.

Each stack is its own `pulumi` process (the Automation API runs the CLI), at most
`parallel` at a time, its output in a log file of its own. A failed stack never
stops or hides the others: every stack ends with a result, and the caller sees all.
A stack an interrupted run left locked or with unfinished creates is recovered first
(recovery.py), and an up refreshes first, so what was changed by hand is restored.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from ..environment import STACK_DIR
from .pulumi_runs import RUN_MARK, ChildRecorder, Stack
from .recovery import recover
from .stacks import stack_name

OPERATIONS = ("preview", "up", "destroy", "refresh", "status")
# The operations that take the stack's lock, and so first recover it from an interrupted run.
LOCKING = ("up", "destroy", "refresh")
# A laptop's two cores: each stack runs a CLI, a language host and provider plugins.
DEFAULT_PARALLEL = 2


@dataclass(frozen=True)
class StackResult:
    cluster: str
    stack: str
    ok: bool
    seconds: float
    summary: str  # what changed, or the last state, or why it failed
    log: Path


@dataclass(frozen=True)
class FleetRun:
    operation: str
    project_dir: Path
    log_dir: Path
    parallel: int = DEFAULT_PARALLEL
    env: Mapping[str, str] | None = None  # added to every stack's environment


def run_fleet(run: FleetRun, stacks: Mapping[str, Path], out: IO[str]) -> list[StackResult]:
    """`run.operation` on each stack of `stacks` (cluster -> stack file), in their order; destroy in reverse."""
    if run.operation not in OPERATIONS:
        raise ValueError(f"unknown operation {run.operation!r}; allowed: {', '.join(OPERATIONS)}")
    order = list(stacks.items())
    if run.operation == "destroy":
        order.reverse()  # the last created first
    run.log_dir.mkdir(parents=True, exist_ok=True)
    progress = _Progress(run.operation, len(order), out)
    with ThreadPoolExecutor(max_workers=max(1, run.parallel)) as pool:
        futures = [pool.submit(_one, run, cluster, path, progress) for cluster, path in order]
        return [future.result() for future in futures]


def _one(run: FleetRun, cluster: str, stack_file: Path, progress: _Progress) -> StackResult:
    stack = stack_name(stack_file)
    # The program finds the site document from the stack file's folder: say it, whatever Pulumi.yaml's `main:`.
    run = replace(run, env={**(run.env or {}), STACK_DIR: str(stack_file.parent.resolve())})
    log = run.log_dir / f"{stack}.{run.operation}.log"
    progress.started(stack)
    start = time.monotonic()
    with open(log, "w") as stream:
        try:
            ok, summary = True, _operate(run, stack, lambda line: stream.write(line.rstrip("\n") + "\n"))
        except Exception as error:  # the Automation API raises CommandError with the CLI's output
            ok, summary = False, _reason(error)
            stream.write(f"\n{type(error).__name__}: {error}\n")
    result = StackResult(cluster, stack, ok, time.monotonic() - start, summary, log)
    progress.finished(result)
    return result


def _operate(run: FleetRun, stack_name: str, write: Callable[[str], Any]) -> str:
    from pulumi import automation as auto  # the Automation API, only when a fleet runs

    # Every pulumi process of this stack's operation carries a mark of its own: the CLI that takes the
    # lock is recorded by it, so that a later recovery can prove it gone (recovery.py).
    recorder = ChildRecorder(Stack(run.project_dir, stack_name, {**os.environ, **(run.env or {})}))
    options = auto.LocalWorkspaceOptions(env_vars={**(run.env or {}), RUN_MARK: recorder.mark})
    if run.operation == "status":
        stack = auto.select_stack(stack_name, work_dir=str(run.project_dir), opts=options)
        info = stack.info()
        if info is None:
            return "never deployed"
        changes = ", ".join(f"{n} {op}" for op, n in sorted((info.resource_changes or {}).items())) or "no changes"
        return f"last {info.kind} {info.result} at {info.end_time or info.start_time}: {changes}"
    if run.operation in LOCKING:
        # Before the stack is selected: selecting reads the state, which a killed run may have left
        # unreadable (a truncated metadata file) until recovery mends it.
        recover(recorder.stack, write)
    stack = auto.create_or_select_stack(stack_name, work_dir=str(run.project_dir), opts=options)
    if run.operation == "preview":
        return _changes(stack.preview(on_output=write, color="never").change_summary)

    def output(line: str) -> None:
        recorder.record()  # the CLI is running: it prints
        write(line)

    common: dict[str, Any] = {"on_output": output, "color": "never"}
    try:
        if run.operation == "up":
            return _changes(stack.up(refresh=True, **common).summary.resource_changes)
        if run.operation == "refresh":
            return _changes(stack.refresh(**common).summary.resource_changes)
        return _changes(stack.destroy(**common).summary.resource_changes)
    finally:
        recorder.forget()


def _changes(counts: Mapping[Any, int] | None) -> str:
    """`{create: 3, same: 10}` -> `3 create, 10 same`."""
    parts = [f"{n} {getattr(op, 'value', op)}" for op, n in sorted((counts or {}).items(), key=lambda item: str(item[0])) if n]
    return ", ".join(parts) or "nothing"


def _reason(error: Exception) -> str:
    """The line of a failed run that says why: the program's own refusal, else the CLI's last error line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for marker in ("nothing was deployed", "error:"):
        found = [line for line in lines if marker in line]
        if found:
            return found[0][:300]
    return (lines[-1] if lines else type(error).__name__)[:300]


class _Progress:
    """One line per start and per end, with how many are done, running and failed."""

    def __init__(self, operation: str, total: int, out: IO[str]) -> None:
        self.operation, self.total, self.out = operation, total, out
        self.running = self.done = self.failed = 0
        self.lock = threading.Lock()

    def started(self, stack: str) -> None:
        with self.lock:
            self.running += 1
            self._say(f"{stack}: started")

    def finished(self, result: StackResult) -> None:
        with self.lock:
            self.running -= 1
            self.done += 1
            self.failed += not result.ok
            verdict = "ok" if result.ok else "FAILED"
            self._say(f"{result.stack}: {verdict} in {result.seconds:.1f} s, {result.summary}")

    def _say(self, what: str) -> None:
        counts = f"{self.done}/{self.total} done, {self.running} running, {self.failed} failed"
        print(f"[{self.operation} {counts}] {what}", file=self.out, flush=True)


def summary_table(results: Sequence[StackResult]) -> str:
    width = max([len(r.stack) for r in results] + [5])
    lines = [f"{'stack':<{width}}  {'result':<6}  {'seconds':>7}  what", *[
        f"{r.stack:<{width}}  {'ok' if r.ok else 'FAILED':<6}  {r.seconds:>7.1f}  {r.summary}   (log: {r.log})" for r in results
    ]]  # fmt: skip
    return "\n".join(lines) + "\n"
