"""Which stack file deploys which cluster of a site document. Pure but for reading and writing files."""

from __future__ import annotations

import datetime
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, Problem, shown
from ..keys import key_path
from ..programme import Programme, is_programme, programme_from_document, programme_of_site
from ..programme_plan import ProgrammePlan
from ..programme_stack import site_now
from ..site import CLUSTER, PROGRAMME, SITE_FILE, load_site, read_yaml, site_from_document, stack_values
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
    programme_file: Path | None = None  # the programme its stacks name: the site is planned in it

    @property
    def missing(self) -> list[str]:
        """Clusters of the site that no stack file deploys."""
        return [c.name for c in self.spec.clusters if c.name not in self.stacks]


def fleet_of(site_file: str | Path, stack_dir: str | Path, spec: FactorySpec | None = None, programme_file: Path | None = None) -> Fleet:
    """The stack files in `stack_dir` that name `site_file` (whose site is `spec`, when already
    loaded); two that claim one cluster are refused, and so is a stack of a programme's site
    (`programme_file`) that does not name the programme: it would deploy the site without it."""
    site_file, stack_dir = Path(site_file).resolve(), Path(stack_dir)
    spec = spec or load_site(site_file)
    names = {c.name for c in spec.clusters}
    claims: dict[str, list[Path]] = {}
    orphans = []
    outside: list[Problem] = []
    for stack_file in sorted(stack_dir.glob(STACK_GLOB)):
        values = stack_values(read_yaml(stack_file, "stack file"), stack_file)
        named = values.get(SITE_FILE)
        if not isinstance(named, str) or (stack_file.parent / named).resolve() != site_file:
            continue  # an inline site, or another site's stack
        if programme_file is not None and _named(stack_file, values.get(PROGRAMME)) != programme_file:
            relative = os.path.relpath(programme_file, stack_file.parent.resolve())
            outside.append(
                Problem(
                    f"{stack_file}: {key_path([PROGRAMME])}",
                    f"{_said(values.get(PROGRAMME))}: the stack deploys site {spec.site.name} of the programme {programme_file} "
                    f"without it (its tenants across sites, its accounts); allowed: {relative}",
                )
            )
            continue
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
    if twice or outside:
        raise ConfigError(outside + twice)
    order = [c.name for c in spec.clusters]
    stacks = {cluster: claims[cluster][0] for cluster in sorted(claims, key=order.index)}
    return Fleet(site_file, spec, stacks, tuple(orphans), programme_file)


def _said(value: Any) -> str:
    return "missing" if value is None else shown(value)


def _named(stack_file: Path, path: Any) -> Path | None:
    return (stack_file.parent / path).resolve() if isinstance(path, str) and path else None


@dataclass(frozen=True)
class Fleets:
    """The cluster stacks of a site document, or of every site of a programme, and what they are
    planned in. A stack's key: its cluster's name, or SITE/CLUSTER in a programme (names may repeat
    across sites)."""

    programme: Programme
    fleets: tuple[Fleet, ...]
    of_programme: bool

    def key(self, fleet: Fleet, cluster: str) -> str:
        return f"{fleet.spec.site.name}/{cluster}" if self.of_programme else cluster

    @property
    def stacks(self) -> dict[str, Path]:
        """Every stack, by key, in the programme's site order and each site's cluster order."""
        return {self.key(fleet, cluster): path for fleet in self.fleets for cluster, path in fleet.stacks.items()}

    @property
    def orphans(self) -> tuple[Path, ...]:
        return tuple(orphan for fleet in self.fleets for orphan in fleet.orphans)

    def deployed_today(self, plan: ProgrammePlan, today: datetime.date) -> set[str]:
        """The keys of the clusters that exist in the phase the stacks deploy `today` (`plan`: the programme's)."""
        keys = set()
        for fleet in self.fleets:
            now = site_now(plan, fleet.spec.site.name, today)
            keys |= {self.key(fleet, cluster.name) for cluster in now.view.spec.clusters} if now else set()
        return keys


def fleets_of(path: str | Path, stack_dir: str | Path) -> Fleets:
    """The fleet of a site document, or of each site of a programme document (each site a file:
    a stack names its site document)."""
    path = Path(path)
    document = read_yaml(path, "site or programme document")
    if not is_programme(document):
        spec = site_from_document(document, path)
        return Fleets(programme_of_site(spec, str(path), path.resolve()), (fleet_of(path, stack_dir, spec),), of_programme=False)
    programme = programme_from_document(document, path)
    inline = [site.label for site in programme.sites if site.file is None]
    if inline:
        raise ConfigError(
            [Problem(label, "is inline: a cluster stack names its site document; allowed: a site document's file") for label in inline]
        )
    programme_file = path.resolve()
    fleets = tuple(fleet_of(site.file or path, stack_dir, site.spec, programme_file) for site in programme.sites)
    return Fleets(programme, fleets, of_programme=True)


def write_missing_stacks(fleets: Fleet | Fleets, stack_dir: str | Path) -> list[Path]:
    """A stack file for each cluster that has none: it names the site (and its programme) and the
    cluster, nothing else. The stack is named after the cluster: one taken already is refused."""
    stack_dir = Path(stack_dir)
    stack_dir.mkdir(parents=True, exist_ok=True)
    wanted = [(fleet, cluster) for fleet in (fleets.fleets if isinstance(fleets, Fleets) else (fleets,)) for cluster in fleet.missing]
    paths = [stack_dir / f"Pulumi.{cluster}.yaml" for _, cluster in wanted]
    taken = list(dict.fromkeys([path for path in paths if path.exists()] + [path for path, n in Counter(paths).items() if n > 1]))
    if taken:
        why = "exists and deploys something else, or two sites' clusters share the name; rename it or the cluster"
        raise ConfigError([Problem(str(path), why) for path in taken])
    schema_line = _schema_line_of_siblings(stack_dir)
    for (fleet, cluster), path in zip(wanted, paths, strict=True):
        config = {f"aion:{SITE_FILE}": os.path.relpath(fleet.site_file, stack_dir.resolve()), f"aion:{CLUSTER}": cluster}
        if fleet.programme_file is not None:
            config[f"aion:{PROGRAMME}"] = os.path.relpath(fleet.programme_file, stack_dir.resolve())
        path.write_text(
            schema_line
            + f"# Cluster {cluster} of the site {fleet.spec.site.name}: the site document says the rest.\n"
            + yaml.safe_dump({"config": config})
        )
    return paths


def _schema_line_of_siblings(stack_dir: Path) -> str:
    """The schema line the folder's stack files start with, so a new one is checked as they are; else none."""
    for sibling in sorted(stack_dir.glob(STACK_GLOB)):
        first = sibling.read_text().partition("\n")[0]
        if first.startswith(SCHEMA_LINE):
            return first + "\n"
    return ""
