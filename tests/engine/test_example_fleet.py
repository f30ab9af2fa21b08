"""Rung 3: the 200 MW example's stacks, as laid out in the repository, with the real Pulumi CLI.

examples/aion-200mw/Pulumi.yaml runs this repository's program (`main: ../..`) and keeps its stack
files in stacks/, each naming `../site.yaml`. The program must find the site document from the stack
file, not from the program's folder: `pulumi preview --stack h1-c01` there reads it (and stops at the
Scaleway preflight, no credentials being set), and a copy whose hall is over budget is refused naming
the hall, before any provider is loaded (no Scaleway plugin is installed here). `aion fleet preview`,
the README's command, runs the same stack through the Automation API.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from engine_support import pulumi_cli_env
from support import ROOT

AION = str(ROOT / ".venv/bin/aion")
SITE_UNREADABLE = "cannot read the site document"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's layout: the program at the root (its own Pulumi.yaml with stackConfigDir: stacks,
    as in the repository) and the example under examples/aion-200mw, its virtualenv the repository's."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copy(ROOT / "__main__.py", root / "__main__.py")
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    (root / "stacks").mkdir()
    example = root / "examples/aion-200mw"
    shutil.copytree(ROOT / "examples/aion-200mw", example)
    project = yaml.safe_load((example / "Pulumi.yaml").read_text())
    assert project["main"] == "../.." and project["stackConfigDir"] == "stacks"
    project["runtime"]["options"]["virtualenv"] = str(ROOT / ".venv")
    (example / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    return example


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, toolchain: dict[str, str]) -> dict[str, str]:
    """The toolchain's CLI, a state of its own, and no Scaleway credentials."""
    clean = {k: v for k, v in toolchain.items() if not k.startswith("SCW_")}
    env = pulumi_cli_env(tmp_path_factory.mktemp("pulumi-state"), clean)
    return {**env, "PATH": f"{ROOT / '.venv/bin'}:{toolchain['PATH']}"}


def preview(example: Path, env: dict[str, str], stack: str) -> str:
    subprocess.run(["pulumi", "stack", "select", "--create", stack, "--non-interactive"], cwd=example, env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    done = subprocess.run(["pulumi", "preview", "--stack", stack, "--non-interactive"], cwd=example, env=env, capture_output=True,
                          text=True, check=False, timeout=600)  # fmt: skip
    assert done.returncode != 0  # no credentials, or a hall over budget: either way nothing is previewed
    return done.stdout + done.stderr


def test_a_stack_of_the_example_reads_its_site_document_from_its_stack_file(repo: Path, env: dict[str, str]) -> None:
    output = preview(repo, env, "h1-c01")
    assert SITE_UNREADABLE not in output, output[-3000:]
    # Planned and fitting: the program went on to the Scaleway preflight, which wants credentials.
    assert "SCW_ACCESS_KEY is not set" in output, output[-3000:]


def test_a_copy_whose_hall_is_over_budget_is_refused_naming_the_hall_before_any_provider(
    repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    over = tmp_path / "repo"
    shutil.copytree(repo.parent.parent, over, symlinks=True)
    example = over / "examples/aion-200mw"
    site = yaml.safe_load((example / "site.yaml").read_text())
    site["clusters"][0]["pools"][0]["size"] += 40  # hall-1: 43,478 kW budget, 580 kW more than it holds
    (example / "site.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
    output = preview(example, env, "h1-c02")  # another stack of the hall: it plans the whole site
    assert SITE_UNREADABLE not in output
    assert "hall aion/hall-1 draws" in output and "over its limit" in output, output[-3000:]
    assert "nothing was deployed" in output and "SCW_ACCESS_KEY" not in output  # refused before the preflight


def test_the_readmes_fleet_command_previews_the_stack_it_names(repo: Path, env: dict[str, str]) -> None:
    """`aion fleet preview examples/aion-200mw/site.yaml --project examples/aion-200mw --cluster h1-c02`, from the root."""
    root = repo.parent.parent
    argv = [AION, "fleet", "preview", "examples/aion-200mw/site.yaml", "--project", "examples/aion-200mw", "--cluster", "h1-c02"]
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=False, timeout=900)
    assert done.returncode == 1, done.stderr[-3000:]  # the one stack failed: at the preflight, having read the site
    [row] = [line for line in done.stdout.splitlines() if line.startswith("h1-c02 ")]
    assert "FAILED" in row and "nothing was deployed" in row, done.stdout
    log = (root / row.rsplit("(log: ", 1)[1].rstrip(")")).read_text()  # relative to where aion ran
    assert SITE_UNREADABLE not in log and "SCW_ACCESS_KEY is not set" in log, log[-3000:]
