"""The pulumi commands the toolkit starts: what a killed CLI left in its session is stopped, and only
that: processes carrying its run's mark, never a foreign session that holds the same id since."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil

from aion_factory.fleet.pulumi_runs import RUN_MARK, PulumiRun, stop_session
from aion_factory.processes import Started


def session_left_behind(mark: str) -> tuple[PulumiRun, list[psutil.Process]]:
    """A session leader that ends, leaving two children running in its session, one in a process group
    of its own, as a killed CLI leaves its plugins; their environment carries RUN_MARK=`mark`."""
    own_group = "import os, time; os.setpgid(0, 0); time.sleep(300)"
    script = f"sleep 300 & {sys.executable} -c '{own_group}' & echo started; exec sleep 300"
    env = {**os.environ, RUN_MARK: mark}
    leader = subprocess.Popen(["sh", "-c", script], start_new_session=True, env=env, stdout=subprocess.PIPE, text=True)
    run = PulumiRun(Started.record(leader.pid), "run-1")  # recorded as the toolkit's run "run-1"
    assert leader.stdout is not None and leader.stdout.readline() == "started\n"
    members = [p for p in psutil.Process(leader.pid).children() if p.status() != psutil.STATUS_ZOMBIE]
    leader.kill()
    leader.wait()
    return run, members


def test_what_a_killed_cli_left_in_its_session_is_stopped() -> None:
    run, members = session_left_behind(mark="run-1")
    assert len(members) == 2
    assert stop_session(run).count == 2 and not any(p.is_running() for p in members)
    assert stop_session(run).count == 0


def test_a_foreign_session_under_the_same_id_is_never_stopped() -> None:
    """The session id names the recorded run's pid, but its members do not carry the run's mark:
    the pid was given to a process that led a session of its own. Nothing of it is signalled."""
    run, members = session_left_behind(mark="someone-else")
    try:
        assert stop_session(run).count == 0 and all(p.is_running() for p in members)
    finally:
        for process in members:
            process.kill()


def test_a_member_that_cannot_be_signalled_is_returned_to_be_said_not_raised(monkeypatch) -> None:
    from aion_factory import processes

    run, members = session_left_behind(mark="run-1")

    def refuse(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(processes.os, "kill", refuse)  # os.kill itself: undone before the cleanup kills
    try:
        stopped = stop_session(run)
    finally:
        monkeypatch.undo()
        for process in members:
            process.kill()
    refusal = "runs under another user: not stopped (stop it as that user if it is to go)"
    assert stopped.count == 0
    assert sorted(stopped.refused) == sorted(f"process {p.pid} {refusal}" for p in members)
