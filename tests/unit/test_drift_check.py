"""The drift check's verdict from the CLI's answers: 0 no drift, 1 drift (named), 2 cannot tell."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aion_factory.fleet import drift
from aion_factory.fleet.pulumi_runs import Stack

PROPOSED = "error: no changes were expected but changes were proposed"


class Answers(Stack):
    def __init__(self, refresh: tuple[int, str], preview: tuple[int, str]) -> None:
        super().__init__(Path("."), "h1-c01", {})
        self.answers, self.asked = {"refresh": refresh, "preview": preview}, []

    def pulumi(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.asked.append(args)
        code, err = self.answers[args[0]]
        return subprocess.CompletedProcess(args, code, "", err)


@pytest.mark.parametrize(
    ("refresh", "preview", "verdict", "says"),
    [
        ((0, ""), (0, ""), 0, ""),
        ((255, PROPOSED), (0, ""), 1, "drift: stack h1-c01: the cloud differs from the state"),
        ((0, ""), (255, PROPOSED), 1, "drift: stack h1-c01: the program differs from the state"),
        ((255, "error: failed to decrypt"), (0, ""), 2, "`pulumi refresh` could not run:\nerror: failed to decrypt"),
        ((255, "error: failed to decrypt"), (255, PROPOSED), 1, "the program differs"),
    ],
)
def test_verdict(refresh, preview, verdict, says, capsys: pytest.CaptureFixture[str]) -> None:
    stack = Answers(refresh, preview)
    assert drift.check(stack, ("--policy-pack", "policy")) == verdict
    assert says in capsys.readouterr().err
    assert stack.asked == [
        ("refresh", "--preview-only", "--expect-no-changes", "--diff"),
        ("preview", "--expect-no-changes", "--diff", "--policy-pack", "policy"),
    ]
