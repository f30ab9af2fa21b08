"""The hostile corpus: files an attacker (or a broken editor) would hand `aion plan`, each run as
the installed command in a process of its own under a memory and CPU bound, as a user's shell would.

Each must end in exit 2 with no traceback, name the file (and the key where there is one), and
print no value whole. tests/hostile/ holds the small ones; the big ones are written at test time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

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
    "programme-self.yaml": "sites[0].file: 'programme-self.yaml' is this programme itself: a cycle",
    "programme-cycle-a.yaml": "programme-cycle-b.yaml: sites[0].file: 'programme-cycle-a.yaml' is a programme that names this file",
    "programme-cycle-b.yaml": "programme-cycle-a.yaml: sites[0].file: 'programme-cycle-b.yaml' is a programme that names this file",
    "programme-missing-site.yaml": "sites[0].file: 'no-such-site.yaml'",
    "programme-site-dev-zero.yaml": "sites[0].file: '/dev/zero'",
    "programme-laughs.yaml": "expands to more than 1,000,000 values",
    "programme-phases-backwards.yaml": "sites[0].document: phases[1].date",
}


# The child bounds itself before it imports anything: no preexec_fn, which is unsafe beside threads.
BOUNDED_AION = (
    "import resource, runpy, sys\n"
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY}, {MEMORY}))\n"
    f"resource.setrlimit(resource.RLIMIT_CPU, ({CPU_SECONDS}, {CPU_SECONDS}))\n"
    "runpy.run_module('aion_factory.cli', run_name='__main__', alter_sys=True)\n"
)


def aion_plan(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    args = [sys.executable, "-c", BOUNDED_AION, "plan", str(path)]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=WALL_SECONDS, check=False)


@dataclass
class Counts:
    tracebacks: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    without_key: list[str] = field(default_factory=list)
    not_cut: list[str] = field(default_factory=list)


def judge(path: Path, named: str, counts: Counts) -> None:
    """How `aion plan` refused the file: exit 2, no traceback, the file (or its key) named, no value whole."""
    try:
        result = aion_plan(path)
    except subprocess.TimeoutExpired:
        counts.tracebacks.append(f"{path.name}: over {WALL_SECONDS} s")
        return
    seen = f"{path.name}: exit {result.returncode}: {result.stderr[-300:]!r}"
    if result.returncode not in (0, 1, 2) or "Traceback" in result.stderr:
        counts.tracebacks.append(seen)
    elif result.returncode != 2:
        counts.accepted.append(seen)
    elif named not in result.stderr:
        counts.without_key.append(f"{seen}: {named!r} is not named")
    if any(len(line) > LONGEST_LINE for line in result.stderr.splitlines()):
        counts.not_cut.append(seen)


def test_the_corpus_is_what_this_test_names():
    assert sorted(p.name for p in HOSTILE.glob("*.yaml")) == sorted(NAMED)


def test_every_hostile_file_is_refused_with_exit_2_naming_it(tmp_path):
    """The corpus, and three files too big to commit: a 50 MB name; a 3 MiB name (within the file
    bound, past the scalar bound); 1.2 million values. Two at a time: the machine has two cores."""
    valid = (ROOT / "stacks/Pulumi.local.yaml").read_text()
    generated = {
        "huge-name.yaml": (valid.replace("name: lab", "name: " + "x" * 50_000_000, 1), "over 4 MiB"),
        "long-name.yaml": (valid.replace("name: lab", "name: " + "x" * 3 * 1024**2, 1), "aion:site.name"),
        "many-values.yaml": ("config:\n  aion:site: [" + "0," * 1_200_000 + "0]\n", "aion:site"),
    }
    cases = [(HOSTILE / name, named) for name, named in sorted(NAMED.items())]
    for name, (text, named) in generated.items():
        (tmp_path / name).write_text(text)
        cases.append((tmp_path / name, named))
    counts = Counts()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda case: judge(*case, counts), cases))
    found = {k: len(v) for k, v in vars(counts).items()}
    print(f"\nhostile corpus: {len(cases)} files; " + ", ".join(f"{k}: {v}" for k, v in found.items()))
    assert found == dict.fromkeys(found, 0), "\n".join(counts.tracebacks + counts.accepted + counts.without_key + counts.not_cut)
