"""Stack files and site documents as they were at a git revision, read with `git show REV:path`.

`aion plan PATH --diff REV` plans PATH as it is and as it was; what PATH reads (a stack file,
the site document it names, the stack files beside it) is copied from the revision into a
temporary tree laid out as the repository is, so relative `aion:site_file` paths resolve there.
"""

from __future__ import annotations

import fnmatch
import posixpath
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from ..errors import ConfigError, Problem, shown
from ..site import PROGRAMME, SITE_FILE, read_yaml, stack_values
from .stacks import STACK_GLOB

GIT_ERROR_CHARS = 300


def refuse_option(revision: str, option: str) -> None:
    """git would read a revision that starts with '-' as an option (`--output=FILE` writes a file)."""
    if revision.startswith("-"):
        raise ConfigError([Problem(option, f"{shown(revision)} is not a revision; allowed: a commit, branch or tag")])


def _git(args: list[str], cwd: Path, revision: str, option: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as error:  # no git on PATH
        raise ConfigError(
            [Problem(option, f"{shown(revision)}: cannot run git: {error.strerror}; allowed: a git checkout with git on PATH")]
        ) from None


def _failed(result: subprocess.CompletedProcess[bytes], revision: str, option: str, what: str) -> ConfigError:
    stderr = result.stderr.decode(errors="replace").strip()[:GIT_ERROR_CHARS]
    return ConfigError([Problem(option, f"{shown(revision)}: git cannot {what}: {stderr}")])


def file_at(cwd: Path, revision: str, name: str, option: str) -> bytes | None:
    """The file `name` at `revision` (`./name` is relative to `cwd`, else to the repository's top);
    None where it did not exist then."""
    refuse_option(revision, option)
    result = _git(["show", f"{revision}:{name}"], cwd, revision, option)
    if result.returncode == 0:
        return result.stdout
    stderr = result.stderr.decode(errors="replace")
    if "exists on disk, but not in" in stderr or "does not exist in" in stderr:
        return None
    raise _failed(result, revision, option, f"show {name} there")


@contextmanager
def inputs_at(revision: str, path: Path, option: str = "--diff") -> Iterator[tuple[Path, Path | None]]:
    """What planning `path` reads, as it was at `revision`, in a temporary tree: the tree, and the
    path of `path` there (None where it did not exist at that revision: nothing to compare with)."""
    refuse_option(revision, option)
    here = path if path.is_dir() else path.parent
    found = _git(["rev-parse", "--show-toplevel"], here, revision, option)
    if found.returncode != 0:
        raise _failed(found, revision, option, f"find the repository of {path}")
    top = Path(found.stdout.decode().strip())
    checked = _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], top, revision, option)
    if checked.returncode != 0:
        raise ConfigError([Problem(option, f"{shown(revision)} is not a revision of {top}; allowed: a commit, branch or tag")])
    relative = PurePosixPath(path.resolve().relative_to(top.resolve()).as_posix())
    folder = relative if path.is_dir() else relative.parent
    listed = _git(["ls-tree", "--name-only", revision, "--", f"{folder}/" if str(folder) != "." else "."], top, revision, option)
    if listed.returncode != 0:
        raise _failed(listed, revision, option, f"list {folder}")
    wanted = [name for name in listed.stdout.decode().splitlines() if fnmatch.fnmatch(posixpath.basename(name), STACK_GLOB)]
    if not path.is_dir():
        wanted.append(str(relative))
    with tempfile.TemporaryDirectory() as tree:
        root = Path(tree)
        fetched: set[str] = set()
        while wanted:
            name = wanted.pop()
            if name in fetched or (content := file_at(top, revision, name, option)) is None:
                continue
            fetched.add(name)
            copy = root / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(content)
            wanted += _site_file_of(copy, name)
        there = root / relative
        yield root, there if there.exists() else None


def _site_file_of(copy: Path, name: str) -> list[str]:
    """The site document and the programme a stack file names (the site documents a programme names),
    relative to the repository's top; none outside it."""
    try:
        document = read_yaml(copy, "stack file")
        values = stack_values(document, copy) if isinstance(document, dict) and "config" in document else {}
    except ConfigError:  # planning it says what is wrong
        return []
    named = [value for value in (values.get(SITE_FILE), values.get(PROGRAMME)) if isinstance(value, str)]
    if isinstance(document, dict) and isinstance(document.get("sites"), list):  # a programme: the sites it names
        named += [entry["file"] for entry in document["sites"] if isinstance(entry, dict) and isinstance(entry.get("file"), str)]
    targets = [posixpath.normpath(posixpath.join(posixpath.dirname(name), file)) for file in named]
    return [target for target in targets if not (target.startswith("../") or posixpath.isabs(target))]
