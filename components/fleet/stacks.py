"""Which stack file deploys which cluster of a site document. Pure but for reading and writing files."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, Problem
from ..keys import key_path
from ..site import CLUSTER, SITE_FILE, load_site, read_yaml, stack_values
from ..spec import FactorySpec

STACK_GLOB = "Pulumi.*.yaml"
# An editor's JSON Schema line (YAML language server); it must come before the YAML content.
SCHEMA_LINE = "# yaml-language-server: $schema="


def project_settings(project: Path) -> dict[str, Any]:
    """The project's Pulumi.yaml, through the one bounded reader (an empty or odd one reads as {})."""
    settings = read_yaml(project / "Pulumi.yaml", "Pulumi project file")
    return settings if isinstance(settings, dict) else {}


def project_stack_dir(project: Path) -> Path:
    """Where a Pulumi project keeps its stack files: Pulumi.yaml's `stackConfigDir`, relative to the
    project's folder (never to its `main:`), else the project's folder itself."""
    return project / str(project_settings(project).get("stackConfigDir", "."))


def stack_dir_of(project: str, stack: str, folders: Iterable[Path]) -> Path | None:
    """The stack folder of the first of `folders` (or a folder above it, the nearest Pulumi.yaml, as
    Pulumi searches) whose project is `project` and whose stack folder holds `Pulumi.<stack>.yaml`."""
    for folder in folders:
        found = next((f for f in (folder, *folder.parents) if (f / "Pulumi.yaml").is_file()), None)
        if found is None:
            continue
        try:
            settings = project_settings(found)
            stacks = project_stack_dir(found)
        except ConfigError:
            continue
        if settings.get("name") == project and (stacks / f"Pulumi.{stack}.yaml").is_file():
            return stacks
    return None


def stack_name(stack_file: Path) -> str:
    """`Pulumi.h1-c01.yaml` -> `h1-c01`: the name Pulumi gives the stack."""
    return stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")


@dataclass(frozen=True)
class Fleet:
    """A site document and its cluster stacks, in the site's cluster order."""

    site_file: Path
    spec: FactorySpec
    stacks: dict[str, Path]  # cluster -> the stack file that deploys it
    orphans: tuple[Path, ...]  # stack files that name this site and a cluster it does not have

    @property
    def missing(self) -> list[str]:
        """Clusters of the site that no stack file deploys."""
        return [c.name for c in self.spec.clusters if c.name not in self.stacks]


def fleet_of(site_file: str | Path, stack_dir: str | Path, spec: FactorySpec | None = None) -> Fleet:
    """The stack files in `stack_dir` that name `site_file` (whose site is `spec`, when already
    loaded); two that claim one cluster are refused."""
    site_file, stack_dir = Path(site_file).resolve(), Path(stack_dir)
    spec = spec or load_site(site_file)
    names = {c.name for c in spec.clusters}
    claims: dict[str, list[Path]] = {}
    orphans = []
    for stack_file in sorted(stack_dir.glob(STACK_GLOB)):
        values = stack_values(read_yaml(stack_file, "stack file"), stack_file)
        named = values.get(SITE_FILE)
        if not isinstance(named, str) or (stack_file.parent / named).resolve() != site_file:
            continue  # an inline site, or another site's stack
        cluster = values.get(CLUSTER)
        if cluster in names:
            claims.setdefault(str(cluster), []).append(stack_file)
        else:
            orphans.append(stack_file)
    twice = [
        Problem(f"{files[1]}: {key_path([CLUSTER])}", f"{cluster!r} is deployed by {files[0]} already; a cluster has one stack")
        for cluster, files in claims.items()
        if len(files) > 1
    ]
    if twice:
        raise ConfigError(twice)
    order = [c.name for c in spec.clusters]
    stacks = {cluster: claims[cluster][0] for cluster in sorted(claims, key=order.index)}
    return Fleet(site_file, spec, stacks, tuple(orphans))


def write_missing_stacks(fleet: Fleet, stack_dir: str | Path) -> list[Path]:
    """A stack file for each cluster that has none: it names the site and the cluster, nothing else."""
    stack_dir = Path(stack_dir)
    stack_dir.mkdir(parents=True, exist_ok=True)
    relative = os.path.relpath(fleet.site_file, stack_dir.resolve())
    taken = [stack_dir / f"Pulumi.{cluster}.yaml" for cluster in fleet.missing if (stack_dir / f"Pulumi.{cluster}.yaml").exists()]
    if taken:
        raise ConfigError([Problem(str(path), "exists and deploys something else; rename it or the cluster") for path in taken])
    written = []
    schema_line = _schema_line_of_siblings(stack_dir)
    for cluster in fleet.missing:
        path = stack_dir / f"Pulumi.{cluster}.yaml"
        config = {f"aion:{SITE_FILE}": relative, f"aion:{CLUSTER}": cluster}
        path.write_text(
            schema_line
            + f"# Cluster {cluster} of the site {fleet.spec.site.name}: the site document says the rest.\n"
            + yaml.safe_dump({"config": config})
        )
        written.append(path)
    return written


def _schema_line_of_siblings(stack_dir: Path) -> str:
    """The schema line the folder's stack files start with, so a new one is checked as they are; else none."""
    for sibling in sorted(stack_dir.glob(STACK_GLOB)):
        first = sibling.read_text().partition("\n")[0]
        if first.startswith(SCHEMA_LINE):
            return first + "\n"
    return ""
