"""How `aion` prints problems for a machine: one JSON document, or GitHub Actions annotations.

`--format text` (the default) prints problems on stderr, one a line; `json` and `github` print
them on stdout too, so CI always reads a document or annotations, bad input included."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..errors import Problem

FORMATS = ("text", "json", "github")

# GitHub's workflow commands: `::error file=F,title=T::message`, one a line. Escaped as
# the runner unescapes them (actions/toolkit, packages/core/src/command.ts).
_ANNOTATION = {"error": "error", "violation": "error", "warning": "warning"}


def problems_document(problems: Iterable[Problem]) -> dict[str, Any]:
    """`{"problems": [{"path", "message", "level"}, ...]}`: what `--format json` prints for bad input."""
    return {"problems": [problem.to_dict() for problem in problems]}


def print_json(document: Any) -> None:
    # JSON (RFC 8259) has no Infinity or NaN: the spec's bounds keep every figure finite, this says so.
    print(json.dumps(document, indent=2, allow_nan=False))


def github_annotations(problems: Iterable[Problem], file: str | None) -> list[str]:
    """One annotation a problem: an error or violation fails the check, a warning does not."""
    lines = []
    for problem in problems:
        where, path = _file_of(problem.path, file)
        properties = ",".join(f"{key}={_property(value)}" for key, value in (("file", where), ("title", path)) if value)
        lines.append(f"::{_ANNOTATION[problem.level]} {properties}::{_data(problem.message)}")
    return lines


def _file_of(path: str, file: str | None) -> tuple[str | None, str]:
    """A problem found in a site document names it first (`site.yaml: clusters[0].name`): that file, that key."""
    head, colon, rest = path.partition(": ")
    if colon and head.endswith((".yaml", ".yml")):
        return head, rest
    return file, path


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
