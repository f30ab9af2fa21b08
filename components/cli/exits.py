"""The exit codes every `aion` command shares, and printing bad input the one way."""

from __future__ import annotations

import sys

from ..errors import ConfigError, format_problems
from .output import github_annotations, print_json, problems_document

EXIT_FITS, EXIT_VIOLATED, EXIT_BAD_INPUT = 0, 1, 2


def bad_input(error: ConfigError, output: str = "text", file: str | None = None) -> int:
    """Every problem on stderr; with `--format json` a document on stdout too, with `github` annotations
    (`file`: the stack file or site document the problems come from, where known)."""
    print(format_problems(error.problems, indent="error: "), file=sys.stderr)
    if output == "json":
        print_json(problems_document(error.problems))
    elif output == "github":
        for annotation in github_annotations(error.problems, file):
            print(annotation)
    return EXIT_BAD_INPUT
