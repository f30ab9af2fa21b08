"""Recovering a stack after an interrupted `pulumi` command: which locks are stale, what is left running,
which unfinished creates may be done again. The CLI is faked: these are the decisions, not the engine."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aion_factory.fleet.recovery import Lock, RecoveryError, Stack, StackBusy, lock_files, recover, stop_session

PROJECT = "aion-factory"


class FakeStack(Stack):
    """A stack whose `pulumi stack export` shows `pending`; it records every other command."""

    def __init__(self, root: Path, pending: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(root, "local", {"PULUMI_BACKEND_URL": f"file://{root / 'state'}"})
        self.pending, self.ran = pending, []
        (root / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\n")

    def pulumi(self, *args: str) -> subprocess.CompletedProcess[str]:
        if args[:2] == ("stack", "export"):
            ops = [
                {"type": op, "resource": {"type": kind, "urn": f"urn:pulumi:local::{PROJECT}::{kind}::r{i}"}}
                for i, (op, kind) in enumerate(self.pending)
            ]
            return subprocess.CompletedProcess(args, 0, json.dumps({"deployment": {"pending_operations": ops}}), "")
        self.ran.append(args)
        return subprocess.CompletedProcess(args, 0, "", "")


def write_lock(stack: FakeStack, pid: int, when: datetime, host: str | None = None) -> Path:
    folder = stack.project_dir / "state/.pulumi/locks/organization" / PROJECT / stack.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"lock-{pid}.json"
    # As Go writes it: RFC 3339 with nanoseconds.
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
    path.write_text(json.dumps({"pid": pid, "username": "root", "hostname": host or socket.gethostname(), "timestamp": stamp}))
    (folder / f"lock-{pid}.json.attrs").write_text("{}")
    return path


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


NOW = datetime.now(UTC)


def test_a_lock_of_a_running_process_is_held_and_never_removed(tmp_path: Path) -> None:
    stack = FakeStack(tmp_path)
    path = write_lock(stack, os.getpid(), NOW)
    [lock] = lock_files(stack.backend_url, PROJECT, "local")
    assert lock.is_held() and lock.taken_at is not None and lock.taken_at.microsecond == NOW.microsecond
    with pytest.raises(StackBusy, match=f"in use by another pulumi command \\(pid {os.getpid()} on "):
        recover(stack, print)
    assert path.exists() and stack.ran == []


def test_a_lock_taken_on_another_machine_is_held(tmp_path: Path) -> None:
    write_lock(FakeStack(tmp_path), dead_pid(), NOW, host="ci-runner-7")
    [lock] = lock_files(f"file://{tmp_path / 'state'}", PROJECT, "local")
    assert lock.is_held()


def test_a_lock_whose_process_is_gone_or_whose_pid_was_used_again_is_removed(tmp_path: Path) -> None:
    stack, said = FakeStack(tmp_path), []
    gone = write_lock(stack, dead_pid(), NOW)
    reused = write_lock(stack, os.getpid(), datetime(2001, 1, 1, tzinfo=UTC))  # this process started after it
    recover(stack, said.append)
    assert not gone.exists() and not reused.exists() and list(gone.parent.iterdir()) == []
    assert len(said) == 2 and all("was interrupted: removed its lock" in line for line in said)
    assert stack.ran == []  # nothing pending: no refresh


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


def test_what_a_killed_cli_left_in_its_session_is_stopped(tmp_path: Path) -> None:
    """A session leader that ends, leaving two children running in its session, one in a process group
    of its own, as a killed CLI leaves its plugins."""
    marker = tmp_path / "started"
    own_group = "import os, time; os.setpgid(0, 0); time.sleep(300)"
    script = f"sleep 300 & python3 -c '{own_group}' & touch {marker}; exit 0"
    leader = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    leader.wait()
    assert marker.exists()
    assert stop_session(leader.pid) == 2
    assert stop_session(leader.pid) == 0


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
    write_lock(stack, dead_pid(), NOW)
    recover(stack, said.append)
    assert sorted(p.name for p in folder.iterdir()) == ["local.json", "local.json.bak.attrs", "other.json.attrs"]
    assert said[1] == "removed 2 files its interrupted state write left: local.json.18ed31be5835247b.tmp, local.json.attrs"


def test_lock_parsing_survives_a_half_written_file(tmp_path: Path) -> None:
    stack = FakeStack(tmp_path)
    path = write_lock(stack, os.getpid(), NOW)
    path.write_text('{"pid": 12')
    [lock] = lock_files(stack.backend_url, PROJECT, "local")
    assert lock == Lock(path, -1, "unknown", None) and lock.is_held()


def test_no_locks_are_seen_in_other_backends(tmp_path: Path) -> None:
    assert lock_files("s3://bucket", PROJECT, "local") == []


def test_the_fleet_recovers_each_stack_before_an_up_and_its_up_refreshes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from pulumi import automation

    from aion_factory.fleet import runner

    recovered, ups = [], []

    class FakeStack:
        def up(self, **options: object) -> SimpleNamespace:
            ups.append(options)
            return SimpleNamespace(summary=SimpleNamespace(resource_changes={"same": 3}))

        def preview(self, **options: object) -> SimpleNamespace:
            return SimpleNamespace(change_summary={"same": 3})

    monkeypatch.setattr(automation, "create_or_select_stack", lambda *args, **kwargs: FakeStack())
    monkeypatch.setattr(runner, "recover", lambda stack, say: recovered.append(stack.name))
    for operation in ("up", "preview"):
        run = runner.FleetRun(operation, tmp_path, tmp_path / "logs", env={"PULUMI_BACKEND_URL": "file:///x"})
        assert runner._operate(run, "h1-c01", lambda _line: None) == "3 same"
    assert recovered == ["h1-c01"]  # a preview takes no lock: nothing to recover
    assert [options["refresh"] for options in ups] == [True]
