import copy
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from aion_factory import cli
from support import MINIMAL


@pytest.fixture
def config() -> dict[str, Any]:
    """A small valid config (values keyed without the `aion:` namespace), to mutate."""
    return copy.deepcopy(MINIMAL)


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def aion(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """`aion ARGS...` in-process (so coverage sees it): its exit code, stdout and stderr."""

    def run(*args: str) -> Result:
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process in a session (and process group) of its own, as the toolkit starts the control
    plane's programs and the pulumi CLI; whether it counts as the toolkit's is up to each test."""
    process = subprocess.Popen(["sleep", "300"], start_new_session=True)
    yield process
    process.kill()
    process.wait()
