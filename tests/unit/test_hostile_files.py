"""The hostile corpus: files an attacker (or a broken editor) would hand `aion plan`, each run as
the installed command in a process of its own under a memory and CPU bound, as a user's shell would.

Each must end in exit 2 with no traceback, name the file (and the key where there is one), and
print no value whole. tests/hostile/ holds the small ones; the big ones are written at test time.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

HOSTILE = ROOT / "tests/hostile"
MEMORY = 2 * 1024**3  # address space of the process: a bomb that expanded would pass it
CPU_SECONDS = 30
WALL_SECONDS = 60  # bounds, not performance assertions
LONGEST_LINE = 600

# What the message must name besides the file: the key, where the file has one.
NAMED = {
    "billion-laughs.yaml": "aion:lol6",
    "merge-key-bomb.yaml": "aion:m5",
    "binary.yaml": "not UTF-8",
    "latin-1.yaml": "not UTF-8",
    "utf-16.yaml": "not UTF-8",
    "nul-bytes.yaml": "control characters are not allowed",
    "deep-flow-nesting.yaml": "aion:site[0]",
    "deep-block-nesting.yaml": "at most 32 levels",
    "int-5001-digits.yaml": "aion:site.pue",
    "duplicate-keys.yaml": "aion:site.pue",
    "recursive-alias.yaml": "aion:site.halls[0]",
    "python-tag.yaml": "python/object/apply",
    "infinite-power.yaml": "aion:site.facility_power_mw",
    "float-overflow.yaml": "aion:site.facility_power_mw",
    "site-file-dev-zero.yaml": "/dev/zero",
    "site-file-directory.yaml": "cannot read the site document",
    "empty.yaml": "is not a site document",
    "not-a-mapping.yaml": "is not a site document",
}


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def aion_plan(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    args = [sys.executable, "-m", "aion_factory.cli", "plan", str(path)]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=WALL_SECONDS, preexec_fn=_bounded, check=False)


def refused_cleanly(path: Path, named: str) -> list[str]:
    """What is wrong with how `aion plan` refused the file (nothing, when it refused it cleanly)."""
    result = aion_plan(path)
    wrong = []
    if result.returncode != 2:
        wrong.append(f"exit {result.returncode}, not 2")
    if "Traceback" in result.stderr:
        wrong.append("a traceback")
    if path.name not in result.stderr and named not in result.stderr:
        wrong.append("the file is not named")
    if named not in result.stderr:
        wrong.append(f"{named!r} is not named")
    if any(len(line) > LONGEST_LINE for line in result.stderr.splitlines()):
        wrong.append("a line is too long: a value was not cut")
    return [f"{path.name}: {w}: {result.stderr[:300]!r}" for w in wrong]


def test_the_corpus_is_what_this_test_names():
    assert sorted(p.name for p in HOSTILE.glob("*.yaml")) == sorted(NAMED)


@pytest.mark.parametrize("name", sorted(NAMED))
def test_each_hostile_file_is_refused_with_exit_2_naming_it(name):
    assert refused_cleanly(HOSTILE / name, NAMED[name]) == []


def test_files_too_big_to_commit_are_refused_too(tmp_path):
    """A 50 MB name; a 3 MiB name (within the file bound, past the scalar bound); 1.2 million values."""
    valid = (ROOT / "stacks/Pulumi.local.yaml").read_text()
    huge_name = tmp_path / "huge-name.yaml"
    with huge_name.open("w") as file:
        file.write(valid.replace("name: lab", "name: " + "x" * 50_000_000, 1))
    long_name = tmp_path / "long-name.yaml"
    long_name.write_text(valid.replace("name: lab", "name: " + "x" * 3 * 1024**2, 1))
    many = tmp_path / "many-values.yaml"
    many.write_text("config:\n  aion:site: [" + "0," * 1_200_000 + "0]\n")
    wrong = refused_cleanly(huge_name, "over 4 MiB") + refused_cleanly(long_name, "aion:site.name") + refused_cleanly(many, "aion:site")
    assert wrong == []
