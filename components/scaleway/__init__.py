"""The Scaleway target: what `pulumi up` creates for a `target: scaleway` cluster.

`ScalewayTarget` is the adapter the program selects (credentials and Kapsule
preflight, platform choices); `KapsuleClusterStack` its infrastructure. The
pieces it is made of can be imported on their own from their modules.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ScalewayTarget"]


def __getattr__(name: str) -> Any:
    # On first use only: `aion plan` reads the pure preflight rules without loading Pulumi.
    if name == "ScalewayTarget":
        from .target import ScalewayTarget

        return ScalewayTarget
    raise AttributeError(name)
