"""Engine-test programs other than this repo's own: the consumer example, inline programs,
a YAML program. Same `pulumi` driver as engine_support.PulumiProject."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from engine_support import PulumiProject
from support import ROOT

VENV = ROOT / ".venv"
# The executable forms run without a language host (the CLI starts them itself);
# the folder forms (policy/, provider/) need a Python language host that implements
# RunPlugin with ProgramInfo, which the bootstrap's v3.79.0 host does not.
POLICY_PACK = ROOT / "policy/bin/aion-factory-policy"
PLUGIN_DIR = ROOT / "provider/bin"
PLUGIN = PLUGIN_DIR / "pulumi-resource-aion-factory"


def program_env(pulumi_env: dict[str, str]) -> dict[str, str]:
    """The engine tests' environment, plus what a program outside this repo's root needs:
    the venv's python first on PATH, and the PULUMI_HOME the bootstrap installed plugins into."""
    env = dict(pulumi_env)
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    if "PULUMI_HOME" not in env and env.get("AION_PULUMI_HOME"):
        env["PULUMI_HOME"] = env["AION_PULUMI_HOME"]
    return env


class SourceProject(PulumiProject):
    """A program written into `root` (files by name), with its own stack and state."""

    def __init__(self, root: Path, env: dict[str, str], stack: str, files: dict[str, str]) -> None:
        self.root, self.env, self.stack = root, env, stack
        root.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (root / name).write_text(text)

    @property
    def stack_file(self) -> Path:
        return self.root / f"Pulumi.{self.stack}.yaml"

    def init(self) -> SourceProject:
        self.pulumi("stack", "init", "--secrets-provider", "passphrase")
        return self

    def resources(self) -> list[dict[str, Any]]:
        """What the stack's state holds (its checkpoint), by the engine's own account."""
        exported = json.loads(self.pulumi("stack", "export").stdout)
        resources: list[dict[str, Any]] = exported.get("deployment", {}).get("resources") or []
        return resources


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A `pulumi` command that takes no stack (`package get-schema`, ...)."""
    return subprocess.run(["pulumi", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600)


def python_project(name: str, main: str, plugins: list[dict[str, str]] | None = None) -> dict[str, str]:
    project: dict[str, Any] = {
        "name": name,
        "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": str(VENV)}},
    }
    if plugins:
        project["plugins"] = {"providers": plugins}
    return {"Pulumi.yaml": yaml.safe_dump(project), "__main__.py": main}
