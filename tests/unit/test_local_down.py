"""`make local-down` (aion local down) while a pulumi command holds the stack: a destroy whose
terminal was closed runs on in its own session. `down` leaves the control plane running for it and
says what to wait for; a hang-up given to the wrapper reaches the CLI as an interrupt, so the
command ends cleanly instead of running on unseen.

The pulumi CLI is a real process faking the CLI's part here: it takes the stack's lock as the file
backend does (a file holding its pid, host and time) and holds it until it is interrupted."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_factory.cli import local_command
from aion_factory.devstack import controlplane, localstack
from aion_factory.fleet.pulumi_runs import RUNS, Stack, lock_files, start_pulumi

PROJECT = "aion-factory"
FAKE_PULUMI = """#!{python}
import datetime, json, os, signal, socket, sys
args = sys.argv[1:]
if args[0] not in ("up", "destroy"):
    sys.exit(0)
folder = os.path.join(os.environ["PULUMI_BACKEND_URL"].removeprefix("file://"), ".pulumi/locks/organization/{project}/local")
os.makedirs(folder, exist_ok=True)
lock = os.path.join(folder, "fake.json")

def end(number, _frame):
    with open(os.environ["FAKE_PULUMI_SIGNAL"], "w") as out:
        out.write(signal.Signals(number).name)
    os.remove(lock)  # as the CLI does once it has ended its update cleanly
    sys.exit(0)

signal.signal(signal.SIGINT, end)
signal.signal(signal.SIGTERM, end)  # and no handler for SIGHUP: the real CLI has none either
stamp = datetime.datetime.now(datetime.timezone.utc).isoformat()
with open(lock + ".tmp", "w") as out:
    json.dump({{"pid": os.getpid(), "username": "me", "hostname": socket.gethostname(), "timestamp": stamp}}, out)
os.rename(lock + ".tmp", lock)
signal.pause()
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A project whose `pulumi` is the fake, with a file backend; the environment aion local reads."""
    (tmp_path / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks/Pulumi.local.yaml").write_text("config: {}\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(FAKE_PULUMI.format(python=sys.executable, project=PROJECT))
    fake.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "FAKE_PULUMI_SIGNAL": str(tmp_path / "signal"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield Stack(tmp_path, "local", dict(os.environ))


def wait_until(condition: Callable[[], Any], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def locked(stack: Stack) -> bool:
    return bool(lock_files(stack.backend_url, PROJECT, stack.name))


def holding_the_stack(stack: Stack, by_the_toolkit: bool) -> subprocess.Popen[bytes]:
    """A live `pulumi destroy` holding the stack's lock: one the toolkit started (its wrapper since
    killed with the terminal), or one run by hand."""
    if by_the_toolkit:
        process, _ = start_pulumi(stack, ["destroy", "--yes"])
    else:
        process = subprocess.Popen(["pulumi", "destroy", "--yes"], env=dict(stack.env), start_new_session=True)
    wait_until(lambda: locked(stack), "the fake CLI's lock")
    return process


@pytest.mark.parametrize("by_the_toolkit", [True, False], ids=["started-by-the-toolkit", "run-by-hand"])
def test_down_leaves_the_control_plane_running_while_a_pulumi_command_holds_the_stack(
    project: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], by_the_toolkit: bool
) -> None:
    planes: list[list[str]] = []
    monkeypatch.setattr(controlplane.LocalControlPlane, "running", lambda self: {"kube-apiserver": 1})
    monkeypatch.setattr(controlplane, "main", lambda argv: planes.append(argv) or 0)
    holder = holding_the_stack(project, by_the_toolkit)
    try:
        status = local_command.run(argparse.Namespace(action="down", project=str(project.project_dir), stack="local"))
        said = capsys.readouterr().err
        assert status == localstack.EXIT_BUSY != 0
        assert planes == []  # the control plane was not stopped
        assert holder.poll() is None and locked(project)  # the command and its lock are untouched
        held = "in use by another pulumi command" if by_the_toolkit else "locked by a pulumi command"
        assert f"error: stack local is {held} (pid {holder.pid} on " in said
        assert said.rstrip().endswith(
            "the local control plane is left running: that pulumi command needs it to finish. "
            "Wait for it to end, then run `make local-down` again"
        )
    finally:
        holder.send_signal(signal.SIGINT)
        holder.wait(timeout=60)


def test_a_hang_up_reaches_the_pulumi_cli_as_an_interrupt(project: Stack) -> None:
    """A closed terminal hangs up the wrapper: the CLI (in a session of its own, out of the terminal's
    reach) gets an interrupt, ends its update cleanly and releases its lock; the wrapper returns its status."""
    up = (
        "import os, pathlib, sys\n"
        "from aion_factory.devstack.localstack import run_pulumi\n"
        "from aion_factory.fleet.pulumi_runs import Stack\n"
        f"sys.exit(run_pulumi(Stack(pathlib.Path({str(project.project_dir)!r}), 'local', dict(os.environ)), ['up']))\n"
    )
    wrapper = subprocess.Popen([sys.executable, "-c", up], env=dict(project.env))
    wait_until(lambda: locked(project) or wrapper.poll() is not None, "the fake CLI's lock")
    assert wrapper.poll() is None
    wrapper.send_signal(signal.SIGHUP)
    assert wrapper.wait(timeout=60) == 0
    assert (project.project_dir / "signal").read_text() == "SIGINT"
    assert not locked(project)
    assert list((project.project_dir / "state" / RUNS).iterdir()) == []  # its record goes once it released the lock
