"""The engine tests' project driver: the real `pulumi` CLI on a copy of this program."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from aion_factory import site
from support import ROOT


def pulumi_cli_env(state: Path, toolchain: dict[str, str]) -> dict[str, str]:
    """The toolchain's CLI with a file state of its own, offline: what every engine test runs `pulumi` with."""
    return {
        **toolchain,
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": "engine-tests",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
        "PULUMI_HOME": toolchain["AION_PULUMI_HOME"],
        "PULUMI_PYTHON_CMD": str(ROOT / ".venv/bin/python"),  # see scripts/pulumi-env.sh
    }


class PulumiProject:
    """A copy of this project's program in a temp folder, with its own stack file and state."""

    def __init__(self, root: Path, env: dict[str, str], stack: str) -> None:
        self.root, self.env, self.stack = root, env, stack
        (root / "stacks").mkdir(parents=True)
        project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
        project["runtime"]["options"]["virtualenv"] = str(ROOT / ".venv")
        (root / "Pulumi.yaml").write_text(yaml.safe_dump(project))
        shutil.copy(ROOT / "__main__.py", root / "__main__.py")

    @property
    def stack_file(self) -> Path:
        return self.root / "stacks" / f"Pulumi.{self.stack}.yaml"

    def write_config(self, values: dict[str, Any]) -> None:
        """Replace the `aion:` config, keeping what Pulumi wrote (the encryption salt)."""
        document = yaml.safe_load(self.stack_file.read_text()) if self.stack_file.exists() else {}
        document = document or {}
        document["config"] = {f"aion:{key}": value for key, value in values.items()}
        self.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))

    def pulumi(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["pulumi", *args, "--stack", self.stack, "--non-interactive"],
            cwd=self.root, env=self.env, capture_output=True, text=True, check=False, timeout=900,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return result

    def preview_steps(self) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = json.loads(self.pulumi("preview", "--json").stdout).get("steps", [])
        return steps


def deployed(new_project: Any, stack: str, values: dict[str, Any]) -> Iterator[PulumiProject]:
    """A module fixture's body: the stack up for the module's tests, destroyed after them."""
    project: PulumiProject = new_project(stack, values)
    project.pulumi("up", "--yes", "--skip-preview")
    yield project
    project.pulumi("destroy", "--yes", "--skip-preview", check=False)


def stack_values(path: Path) -> dict[str, Any]:
    """A stack file's `aion:` values, as the library reads them."""
    return site.stack_values(site.read_yaml(path, "stack file"), path)


def wait_for(condition: Callable[[], Any], timeout_s: float = 120, what: str = "condition") -> Any:
    """`condition()`'s first truthy result, polled until `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")
