"""Recovering a stack after an interrupted `pulumi` command: which locks are stale, what is left running,
which unfinished creates may be done again. The CLI is faked: these are the decisions, not the engine.

A lock is broken only when the toolkit recorded its process (pid, start time, boot, PID namespace)
and that process is provably gone here; only processes carrying the run's mark are ever stopped."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from aion_factory import processes
from aion_factory.fleet.pulumi_runs import RUN_MARK, Lock, PulumiRun, Stack, lock_files, record_run
from aion_factory.fleet.recovery import RecoveryError, StackBusy, recover
from aion_factory.processes import Started

PROJECT = "aion-factory"


class FakeStack(Stack):
    """A stack whose `pulumi stack export` shows `pending`; it records every other command."""

    def __init__(self, root: Path, pending: Sequence[tuple[str, str]] = (), export_error: str = "") -> None:
        super().__init__(root, "local", {"PULUMI_BACKEND_URL": f"file://{root / 'state'}"})
        self.pending, self.export_error, self.ran = pending, export_error, []
        (root / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\n")

    def pulumi(self, *args: str) -> subprocess.CompletedProcess[str]:
        if args[:2] == ("stack", "export") and self.export_error:
            return subprocess.CompletedProcess(args, 255, "", self.export_error)
        if args[:2] == ("stack", "export"):
            ops = [
                {"type": op, "resource": {"type": kind, "urn": f"urn:pulumi:local::{PROJECT}::{kind}::r{i}"}}
                for i, (op, kind) in enumerate(self.pending)
            ]
            return subprocess.CompletedProcess(args, 0, json.dumps({"deployment": {"pending_operations": ops}}), "")
        self.ran.append(args)
        return subprocess.CompletedProcess(args, 0, "", "")


def write_lock(stack: FakeStack, pid: int, when: datetime | None = None, host: str | None = None) -> Path:
    """A lock as the CLI writes it, taken now unless `when` is given."""
    when = when or datetime.now(UTC)
    folder = stack.project_dir / "state/.pulumi/locks/organization" / PROJECT / stack.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"lock-{pid}.json"
    # As Go writes it: RFC 3339 with nanoseconds.
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
    path.write_text(json.dumps({"pid": pid, "username": "root", "hostname": host or socket.gethostname(), "timestamp": stamp}))
    (folder / f"lock-{pid}.json.attrs").write_text("{}")
    return path


def ours(stack: FakeStack, process: subprocess.Popen[bytes] | psutil.Process, mark: str = "run-1") -> PulumiRun:
    """Record `process` as a pulumi process the toolkit started (as start_pulumi does)."""
    run = PulumiRun(Started.record(process.pid), mark)
    record_run(stack, run)
    return run


def ended(stack: FakeStack) -> PulumiRun:
    """A pulumi process the toolkit started and recorded, that has ended."""
    process = subprocess.Popen(["sleep", "30"])
    run = ours(stack, process)
    process.kill()
    process.wait()
    return run


def test_a_lock_of_a_running_process_the_toolkit_started_is_held_and_never_removed(tmp_path: Path, sleeper) -> None:
    stack = FakeStack(tmp_path)
    ours(stack, sleeper)
    now = datetime.now(UTC)
    path = write_lock(stack, sleeper.pid, now)
    [lock] = lock_files(stack.backend_url, PROJECT, "local")
    assert lock.taken_at is not None and lock.taken_at.microsecond == now.microsecond
    with pytest.raises(StackBusy, match=f"in use by another pulumi command \\(pid {sleeper.pid} on "):
        recover(stack, print)
    assert path.exists() and stack.ran == [] and sleeper.poll() is None


UNPROVEN = "that this toolkit did not start on this machine since it booted, in this PID namespace"


@pytest.mark.parametrize(
    "elsewhere",
    [
        pytest.param(lambda run: run, id="another-machine-with-another-host-name"),
        pytest.param(lambda run: replace(run, started=replace(run.started, boot_id="before-a-reboot")), id="before-a-reboot"),
        pytest.param(lambda run: replace(run, started=replace(run.started, pid_namespace="pid:[4026532999]")), id="another-container"),
        pytest.param(lambda run: None, id="a-command-run-by-hand"),
    ],
)
def test_a_lock_whose_owner_cannot_be_proven_gone_here_is_left_and_says_what_to_do(tmp_path: Path, elsewhere) -> None:
    """The lock's pid runs no process here, yet that proves nothing: same host name in another
    container or VM sharing the backend, or another boot: its process may well run there."""
    stack = FakeStack(tmp_path)
    run = ended(stack)
    moved = elsewhere(run)
    (stack.project_dir / "state/.aion/pulumi-runs" / f"{run.started.pid}.json").unlink()
    if moved is not None:
        record_run(stack, moved)
    host = "ci-runner-7" if moved == run else None
    path = write_lock(stack, run.started.pid, host=host)
    with pytest.raises(StackBusy) as busy:
        recover(stack, print)
    assert UNPROVEN in str(busy.value) and "`pulumi cancel --stack local --yes`" in str(busy.value)
    assert path.exists() and stack.ran == []


def test_a_lock_whose_process_is_gone_or_whose_pid_was_used_again_is_removed(tmp_path: Path, sleeper) -> None:
    stack, said = FakeStack(tmp_path), []
    gone = write_lock(stack, ended(stack).started.pid)
    # The toolkit's process under the sleeper's pid started a minute before it: the pid was used again.
    reused = ours(stack, sleeper)
    record_run(stack, replace(reused, started=replace(reused.started, since_boot_s=reused.started.since_boot_s - 60)))
    again = write_lock(stack, sleeper.pid)
    recover(stack, said.append)
    assert not gone.exists() and not again.exists() and list(gone.parent.iterdir()) == []
    assert len(said) == 2 and all("was interrupted: removed its lock" in line for line in said)
    assert sleeper.poll() is None  # the process that holds the pid now is not ours: never signalled
    assert stack.ran == []  # nothing pending: no refresh
    assert list((tmp_path / "state/.aion/pulumi-runs").iterdir()) == []  # their records go with them


def test_unfinished_creates_of_idempotent_kinds_are_cleared_so_the_next_up_does_them_again(tmp_path: Path) -> None:
    pending = [("creating", "kubernetes:core/v1:Namespace"), ("creating", "pulumi-python:dynamic:Resource"), ("updating", "x:y:Z")]
    stack, said = FakeStack(tmp_path, pending), []
    assert recover(stack, said.append) == 2
    assert stack.ran == [("refresh", "--clear-pending-creates", "--yes", "--skip-preview")]
    assert said == ["an interrupted update left 2 creates unfinished; each is idempotent and is done again now"]


@pytest.mark.parametrize("kind", ["scaleway:kubernetes/cluster:Cluster", "kubernetes:helm.sh/v3:Release"])
def test_an_unfinished_create_that_may_exist_under_an_unknown_id_stops_for_a_person(tmp_path: Path, kind: str) -> None:
    stack = FakeStack(tmp_path, [("creating", "kubernetes:core/v1:Namespace"), ("creating", kind)])
    with pytest.raises(RecoveryError) as stopped:
        recover(stack, print)
    assert f"{kind}::r1" in str(stopped.value) and "--import-pending-creates URN ID" in str(stopped.value)
    assert "Namespace" not in str(stopped.value)
    assert stack.ran == []


def test_a_plugin_process_that_cannot_be_signalled_is_said_after_the_lock_is_gone(tmp_path: Path, monkeypatch) -> None:
    from aion_factory.fleet import recovery
    from aion_factory.fleet.pulumi_runs import Stopped

    stack, said = FakeStack(tmp_path), []
    path = write_lock(stack, ended(stack).started.pid)
    refusal = "process 4242 runs under another user: not stopped (stop it as that user if it is to go)"
    monkeypatch.setattr(recovery, "stop_session", lambda run: Stopped(1, [refusal]))
    recover(stack, said.append)
    assert not path.exists()
    assert said[0].endswith("was interrupted: removed its lock; stopped the 1 plugin processes it left running")
    assert said[1:] == [f"a plugin process it left: {refusal}"]


def test_a_lock_that_cannot_be_removed_is_reported_not_raised_as_a_permission_error(tmp_path: Path, monkeypatch) -> None:
    stack = FakeStack(tmp_path)
    path = write_lock(stack, ended(stack).started.pid)
    unlink = Path.unlink

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self == path:
            raise PermissionError(13, "Permission denied")
        unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(RecoveryError, match=f"cannot be removed: permission denied on {path}; remove it as its owner"):
        recover(stack, print)


def test_a_state_that_cannot_be_read_is_not_taken_for_a_stack_never_deployed(tmp_path: Path) -> None:
    wrong = "error: failed to decrypt: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to the correct passphrase"
    with pytest.raises(RecoveryError, match=r"its state cannot be read .*incorrect passphrase"):
        recover(FakeStack(tmp_path, export_error=wrong), print)
    never = FakeStack(tmp_path, export_error="error: no stack named 'local' found")
    assert recover(never, print) == 0 and never.ran == []


def test_a_state_metadata_file_a_killed_write_left_empty_is_removed(tmp_path: Path) -> None:
    """`failed to load checkpoint: EOF` on every command otherwise; the library reads a missing one as no metadata."""
    stack, said = FakeStack(tmp_path), []
    folder = tmp_path / "state/.pulumi/stacks" / PROJECT
    folder.mkdir(parents=True)
    (folder / "local.json").write_text("{}")
    (folder / "local.json.attrs").write_text("")  # truncated by the kill
    (folder / "local.json.bak.attrs").write_text('{"md5": "x"}')
    (folder / "local.json.18ed31be5835247b.tmp").write_text("{")  # a write that never finished
    (folder / "other.json.attrs").write_text("")  # another stack's: not ours to touch
    write_lock(stack, ended(stack).started.pid)
    recover(stack, said.append)
    assert sorted(p.name for p in folder.iterdir()) == ["local.json", "local.json.bak.attrs", "other.json.attrs"]
    assert said[1] == "removed 2 files its interrupted state write left: local.json.18ed31be5835247b.tmp, local.json.attrs"


def test_lock_parsing_survives_a_half_written_file(tmp_path: Path) -> None:
    stack = FakeStack(tmp_path)
    path = write_lock(stack, os.getpid())
    path.write_text('{"pid": 12')
    [lock] = lock_files(stack.backend_url, PROJECT, "local")
    assert lock == Lock(path, -1, "unknown", None) and lock.owner(None) is processes.Seen.RUNNING


def test_no_locks_are_seen_in_other_backends(tmp_path: Path) -> None:
    assert lock_files("s3://bucket", PROJECT, "local") == []


def test_the_fleet_recovers_a_stack_before_selecting_it_and_its_up_refreshes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from pulumi import automation

    from aion_factory.fleet import runner

    recovered, ups, order = [], [], []

    class FakeStack:
        def up(self, **options: object) -> SimpleNamespace:
            ups.append(options)
            return SimpleNamespace(summary=SimpleNamespace(resource_changes={"same": 3}))

        def preview(self, **options: object) -> SimpleNamespace:
            return SimpleNamespace(change_summary={"same": 3})

    def select(*args: object, **kwargs: object) -> FakeStack:
        order.append("select")
        return FakeStack()

    def recover(stack: Stack, say: object) -> None:
        order.append("recover")
        recovered.append(stack.name)

    monkeypatch.setattr(automation, "create_or_select_stack", select)
    monkeypatch.setattr(runner, "recover", recover)
    for operation in ("up", "preview"):
        run = runner.FleetRun(operation, tmp_path, tmp_path / "logs", env={"PULUMI_BACKEND_URL": "file:///x"})
        assert runner._operate(run, "h1-c01", lambda _line: None) == "3 same"
    assert recovered == ["h1-c01"]  # a preview takes no lock: nothing to recover
    # Recovered before selected: selecting reads a state that only the recovery may make readable again.
    assert order == ["recover", "select", "select"]
    assert [options["refresh"] for options in ups] == [True]


def test_the_fleet_records_the_cli_the_automation_api_starts_so_its_dead_lock_is_recovered_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Automation API starts the CLI itself: the fleet finds it among its children by the mark the
    workspace's environment gives it. Killed while it holds the lock, the next run proves it gone and
    takes the lock back; ended normally (no lock left), its record goes."""
    from types import SimpleNamespace

    from pulumi import automation

    from aion_factory.fleet import runner

    stack = FakeStack(tmp_path)
    clis: list[subprocess.Popen[bytes]] = []
    workspaces: list[dict[str, str]] = []

    class AutomationStack:
        def up(self, on_output, **options: object) -> SimpleNamespace:
            cli = subprocess.Popen(["sleep", "300"], env={**os.environ, **workspaces[-1]})  # as the Automation API starts it
            clis.append(cli)
            write_lock(stack, cli.pid)
            on_output("Updating (local)")
            cli.kill()  # killed with its lock held
            cli.wait()
            return SimpleNamespace(summary=SimpleNamespace(resource_changes={"same": 3}))

    def select(name: str, work_dir: str, opts: automation.LocalWorkspaceOptions) -> AutomationStack:
        workspaces.append(dict(opts.env_vars or {}))
        return AutomationStack()

    monkeypatch.setattr(automation, "create_or_select_stack", select)
    monkeypatch.setattr(runner, "recover", lambda stack, say: 0)  # nothing to recover yet; no real CLI here
    run = runner.FleetRun("up", tmp_path, tmp_path / "logs", env={"PULUMI_BACKEND_URL": stack.backend_url})
    assert runner._operate(run, "local", lambda _line: None) == "3 same"
    [cli] = clis
    assert workspaces[0][RUN_MARK]  # the CLI's environment carried the mark
    recorded = json.loads((tmp_path / "state/.aion/pulumi-runs" / f"{cli.pid}.json").read_text())
    assert (recorded["pid"], recorded["mark"]) == (cli.pid, workspaces[0][RUN_MARK])

    said: list[str] = []
    recover(stack, said.append)
    assert len(said) == 1 and said[0].startswith(f"a pulumi command (pid {cli.pid} on {socket.gethostname()} since ")
    assert said[0].endswith("was interrupted: removed its lock")
    assert lock_files(stack.backend_url, PROJECT, "local") == []


def test_records_of_ended_runs_go_but_another_stacks_are_kept_for_its_own_recovery(tmp_path: Path) -> None:
    """A wrapper killed before it dropped its record leaves one: the next recovery of that stack drops
    it. Stacks of a fleet share a backend: recovering one never drops what proves another's lock stale."""
    stack = FakeStack(tmp_path)
    ours_ended = ended(stack)
    other = Stack(tmp_path, "other", stack.env)
    process = subprocess.Popen(["sleep", "30"])
    dead = PulumiRun(Started.record(process.pid), "run-2")
    record_run(other, dead)
    process.kill()
    process.wait()
    recover(stack, print)
    assert sorted(p.name for p in (tmp_path / "state/.aion/pulumi-runs").iterdir()) == [f"{dead.started.pid}.json"]
    assert ours_ended.started.pid != dead.started.pid
