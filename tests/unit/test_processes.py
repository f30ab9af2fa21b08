"""Processes known by more than their pid: the control plane's stop signals only what it started,
never a process that now holds a recorded pid, nor anything recorded before a reboot."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from aion_factory import processes
from aion_factory.devstack.controlplane import LocalControlPlane
from aion_factory.processes import Seen, Started, signal_process


def test_a_recorded_process_is_known_again_while_it_runs_and_gone_once_it_ends(sleeper: subprocess.Popen[bytes]) -> None:
    started = Started.record(sleeper.pid)
    assert started.seen() is Seen.RUNNING and started.process() is not None
    assert Started.from_dict(json.loads(json.dumps(started.to_dict()))) == started
    sleeper.kill()
    sleeper.wait()
    assert started.seen() is Seen.GONE and started.process() is None


def test_a_pid_given_to_a_later_process_is_not_the_recorded_one(sleeper: subprocess.Popen[bytes]) -> None:
    recorded = Started.record(sleeper.pid)
    earlier = replace(recorded, since_boot_s=recorded.since_boot_s - 5)  # the pid's previous holder started 5 s before
    assert earlier.process() is None and earlier.seen() is Seen.GONE


def test_a_record_of_another_boot_or_pid_namespace_proves_nothing_here(sleeper: subprocess.Popen[bytes]) -> None:
    recorded = Started.record(sleeper.pid)
    for elsewhere in (replace(recorded, boot_id="another-boot"), replace(recorded, pid_namespace="pid:[1]")):
        assert elsewhere.process() is None and elsewhere.seen() is Seen.UNKNOWN


def test_an_older_state_files_bare_pid_is_no_record() -> None:
    assert Started.from_dict({}) is None and Started.from_dict({"pid": 12}) is None


def test_a_refused_signal_is_said_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(processes.os, "killpg", refuse)
    assert signal_process(4242, signal.SIGTERM, group=True) == (
        "process group 4242 runs under another user: not stopped (stop it as that user if it is to go)"
    )
    assert signal_process(2**22 + 1, signal.SIGTERM) is None  # no such process: nothing to stop


# --- the control plane's stop -----------------------------------------------------------------


def plane_with(root: Path, program: str, pid: int, started: Started | None) -> LocalControlPlane:
    """A control plane whose state file records `program` under `pid` (with `started`, or as an older state file did)."""
    root.mkdir(parents=True, exist_ok=True)
    state = {"ports": {}, "pids": {program: pid}, "started": {program: started.to_dict()} if started else {}}
    (root / "state.json").write_text(json.dumps(state))
    return LocalControlPlane(root)


def test_stop_stops_the_process_it_started(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    started = Started.record(sleeper.pid)
    plane = plane_with(tmp_path, "kwok", sleeper.pid, started)
    assert plane.running() == {"kwok": sleeper.pid}
    plane.stop()
    assert started.process() is None and not psutil.pid_exists(sleeper.pid)  # ended, and reaped by stop's wait
    assert plane.state()["pids"] == {} and plane.state()["started"] == {}


@pytest.mark.parametrize(
    "recorded",
    [
        pytest.param(lambda s: replace(s, since_boot_s=s.since_boot_s - 60), id="pid-reused"),
        pytest.param(lambda s: replace(s, boot_id="boot-before-the-reboot"), id="after-a-reboot"),
        pytest.param(lambda s: None, id="bare-pid-of-an-older-state-file"),
    ],
)
def test_stop_never_signals_a_live_process_that_is_not_the_one_it_started(tmp_path: Path, sleeper, recorded) -> None:
    """A live process that is not ours holds the recorded pid: stop forgets the pid and leaves the process be."""
    plane = plane_with(tmp_path, "kube-apiserver", sleeper.pid, recorded(Started.record(sleeper.pid)))
    assert plane.running() == {}
    plane.stop()
    assert sleeper.poll() is None and psutil.Process(sleeper.pid).status() != psutil.STATUS_ZOMBIE
    assert plane.state()["pids"] == {} and plane.state()["started"] == {}


def test_an_older_state_files_bare_pid_is_stopped_only_while_its_command_line_names_the_plane(tmp_path: Path) -> None:
    """A plane started before the toolkit recorded start times: its programs' flags name its folder
    (etcd's --data-dir, the others' kubeconfig), which no stranger's do (the case above)."""
    root = tmp_path / "plane"
    etcd = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", f"--data-dir={root / 'etcd'}"], start_new_session=True)
    try:
        plane = plane_with(root, "etcd", etcd.pid, None)
        assert plane.running() == {"etcd": etcd.pid}
        plane.stop()
        assert not psutil.pid_exists(etcd.pid)  # stopped, and reaped by stop's wait
    finally:
        etcd.kill()
