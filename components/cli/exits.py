"""The exit codes every `aion` command shares, and printing bad input the one way."""

from __future__ import annotations

import sys

from ..errors import ConfigError, format_problems

EXIT_FITS, EXIT_VIOLATED, EXIT_BAD_INPUT = 0, 1, 2


def bad_input(error: ConfigError) -> int:
    print(format_problems(error.problems, indent="error: "), file=sys.stderr)
    return EXIT_BAD_INPUT
