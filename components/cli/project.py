"""The Pulumi project a command runs in: its stacks live in Pulumi.yaml's `stackConfigDir`."""

from __future__ import annotations

from pathlib import Path

from ..errors import PATH_CHARS, ConfigError, Problem, shown
from ..fleet.stacks import STACK_GLOB, project_stack_dir, stack_name


def stack_dir(project: Path) -> Path:
    """The folder of the project's stack files (`stackConfigDir`, else the project's own)."""
    if not (project / "Pulumi.yaml").is_file():
        raise ConfigError(
            [Problem("--project", f"{shown(str(project), PATH_CHARS)} has no Pulumi.yaml; allowed: a Pulumi project's folder")]
        )
    return project_stack_dir(project)


def looks_like_stack_name(text: str) -> bool:
    """`local`, `dc5-train-1`: no folder, no file suffix; a path is read as a path."""
    return "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml")) and text not in (".", "..")


def named_stack(name: str, project: Path) -> Path:
    """`Pulumi.<name>.yaml` in the project's stack folder; an unknown name lists the stacks there."""
    folder = stack_dir(project)
    path = folder / f"Pulumi.{name}.yaml"
    if path.is_file():
        return path
    stacks = sorted(stack_name(p) for p in folder.glob(STACK_GLOB))
    why = f"{shown(name)} is neither a file nor a stack of {shown(str(project), PATH_CHARS)}; its stacks ({folder}): "
    why += ", ".join(stacks) or "none"
    raise ConfigError([Problem("PATH", why)])
