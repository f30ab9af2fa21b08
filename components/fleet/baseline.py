"""What a site's clusters deploy at a git revision, asked of that revision's own code.

A change to a platform builder, a template or the catalog changes what a stack deploys without
touching the site document, so the revision's documents are rendered by the revision's code:
its tree is read with `git archive` into a temporary folder, laid out as its pyproject.toml maps
the package, and `python -m aion_factory.fleet.deployed` runs there (`fleet/deployed.py`). A
repository that holds only a site and its stacks (the toolkit installed as a package) had the
same code then as now: its revision is rendered by this code.

What turns those documents into resources (the Pulumi registration code, the provider pins, the
policy pack) is compared as files: a change there touches every cluster of the targets it serves.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import ConfigError, Problem, shown
from .deployed import documents_of
from .revision import refuse_option

# Files that decide how a document becomes resources, by the targets they serve (None: every target).
# The rendered parts (platform builders, templates, catalog, site) are compared as documents instead.
REGISTRATION: Mapping[str | None, tuple[str, ...]] = {
    None: (
        "Pulumi.yaml",
        "__main__.py",
        "pyproject.toml",
        "constraints.txt",
        "scripts/versions.env",
        "policy",
        "components/program.py",
        "components/factory.py",
        "components/target.py",
        "components/platform/cluster.py",
        "components/platform/components.py",
        "components/platform/resources.py",
    ),
    "scaleway": ("components/scaleway",),
    "local": ("components/local",),
}
PACKAGE = "aion_factory"
MODULE = f"{PACKAGE}.fleet.deployed"
ERROR_CHARS = 400


def repository_top(path: Path, option: str) -> Path:
    found = _git(["rev-parse", "--show-toplevel"], path if path.is_dir() else path.parent, option)
    if found.returncode != 0:
        raise ConfigError([Problem(option, f"{shown(str(path))} is not in a git checkout: {_stderr(found)}")])
    return Path(found.stdout.decode().strip())


def documents_at(top: Path, revision: str, site_file: PurePosixPath, option: str = "--base") -> tuple[dict[str, Any] | None, str]:
    """The documents `site_file` (relative to `top`) deploys at `revision`, rendered by that revision's
    code; None with the reason where it cannot say (no site then, code that predates the protocol)."""
    refuse_option(revision, option)
    archive = _git(["archive", "--format=tar", revision], top, option)
    if archive.returncode != 0:
        raise ConfigError([Problem(option, f"{shown(revision)}: git cannot read that revision: {_stderr(archive)}")])
    with tempfile.TemporaryDirectory() as folder:
        tree, importable = Path(folder) / "tree", Path(folder) / "import"
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tree, filter="data")
        if not (tree / site_file).is_file():
            return None, f"{site_file} did not exist at {revision}"
        if not _holds_the_toolkit(tree):
            return documents_of(tree / site_file), ""
        _lay_out_package(tree, importable)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(importable), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        result = subprocess.run([sys.executable, "-m", MODULE, str(tree / site_file)], cwd=tree, env=env, capture_output=True, check=False)
    if result.returncode != 0:
        return None, f"its code at {revision} cannot render it: {_stderr(result)}"
    documents: dict[str, Any] = json.loads(result.stdout)
    return documents, ""


def registration_changed(top: Path, base: str, head: str | None, option: str = "--base") -> set[str | None]:
    """The targets whose registration code or pins differ between `base` and `head` (None: the
    working tree); None in the set: every target."""
    refuse_option(base, option)
    changed: set[str | None] = set()
    for target, paths in REGISTRATION.items():
        result = _git(["diff", "--quiet", base, *([head] if head else []), "--", *paths], top, option)
        if result.returncode not in (0, 1):
            raise ConfigError([Problem(option, f"{shown(base)}: git cannot compare with it: {_stderr(result)}")])
        if result.returncode == 1:
            changed.add(target)
    return changed


def files_changed(top: Path, base: str, paths: list[Path], option: str = "--base") -> set[Path]:
    """Which of `paths` (files in the checkout at `top`) differ in the working tree from `base`, new ones included."""
    refuse_option(base, option)
    if not paths:
        return set()
    relative = {path.resolve().relative_to(top.resolve()).as_posix(): path for path in paths}
    result = _git(["diff", "--name-only", "--no-renames", base, "--", *relative], top, option)
    if result.returncode != 0:
        raise ConfigError([Problem(option, f"{shown(base)}: git cannot compare with it: {_stderr(result)}")])
    untracked = _git(["ls-files", "--others", "--exclude-standard", "--", *relative], top, option).stdout
    named = (result.stdout + untracked).decode().split()
    return {relative[name] for name in named if name in relative}


def _package_dirs(tree: Path) -> dict[str, str]:
    """pyproject.toml's `package-dir` at that revision; empty where it is not the toolkit's."""
    try:
        settings = tomllib.loads((tree / "pyproject.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    mapping = settings.get("tool", {}).get("setuptools", {}).get("package-dir", {})
    return {str(k): str(v) for k, v in mapping.items()} if isinstance(mapping, dict) else {}


def _holds_the_toolkit(tree: Path) -> bool:
    return PACKAGE in _package_dirs(tree)


def _lay_out_package(tree: Path, importable: Path) -> None:
    """The package as pyproject.toml's `package-dir` maps it (`aion_factory` = components/...)."""
    mapping = _package_dirs(tree)
    for package in sorted(mapping, key=len):  # a package before its subpackages
        shutil.copytree(tree / mapping[package], importable.joinpath(*package.split(".")), dirs_exist_ok=True)


def _git(args: list[str], cwd: Path, option: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as error:
        raise ConfigError([Problem(option, f"cannot run git: {error.strerror}; allowed: a git checkout with git on PATH")]) from None


def _stderr(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode(errors="replace").strip()[-ERROR_CHARS:]
