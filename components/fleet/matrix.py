"""A GitHub Actions matrix of cluster stacks, split where one matrix would pass GitHub's job limit.

"A matrix will generate a maximum of 256 jobs per workflow run" (GitHub docs, "Running variations of
jobs in a workflow"). A fleet past that is split into the fewest matrices of at most that many
entries, their sizes as even as possible and in the site's cluster order, so a workflow can fan
out one job (or one reusable-workflow call) per matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

GITHUB_MATRIX_MAX_JOBS = 256


def split_matrix(entries: Sequence[dict[str, Any]], max_jobs: int = GITHUB_MATRIX_MAX_JOBS) -> list[list[dict[str, Any]]]:
    """The fewest lists of at most `max_jobs` entries, in order, sizes differing by one at most; none for none."""
    if max_jobs < 1:
        raise ValueError(f"a matrix holds at least one job, not {max_jobs}")
    if not entries:
        return []
    count = math.ceil(len(entries) / max_jobs)
    base, extra = divmod(len(entries), count)
    parts, start = [], 0
    for i in range(count):
        size = base + (1 if i < extra else 0)
        parts.append(list(entries[start : start + size]))
        start += size
    return parts


def matrix_document(entries: Sequence[dict[str, Any]], max_jobs: int = GITHUB_MATRIX_MAX_JOBS) -> dict[str, Any]:
    """`include`: every entry (one matrix, for a fleet under the limit); `matrices`: the split, each a matrix of its own."""
    return {"include": list(entries), "matrices": [{"include": part} for part in split_matrix(entries, max_jobs)]}
