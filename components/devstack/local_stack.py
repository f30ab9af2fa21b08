"""The local cluster a stack file declares: what the kind config and the local Kueue are made from."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, Problem
from ..site import load_stack_file
from ..spec import Cluster


def local_cluster(stack_file: str | Path, name: str | None = None) -> Cluster:
    """The stack's local cluster `name`, or its first local cluster; ConfigError when there is none."""
    spec = load_stack_file(stack_file)
    local = [c for c in spec.clusters if c.target == "local"]
    found = next((c for c in local if name in (None, c.name)), None)
    if found is None:
        allowed = ", ".join(c.name for c in local) or "none"
        raise ConfigError([Problem("aion:clusters", f"no local cluster {name or ''!r} in {stack_file}; local clusters: {allowed}")])
    return found
