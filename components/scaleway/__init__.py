"""The Scaleway target: what `pulumi up` creates for a `target: scaleway` cluster.

`ScalewayTarget` is the adapter the program selects (credentials and Kapsule
preflight, platform choices); `KapsuleClusterStack` its infrastructure. The
pieces it is made of can be imported on their own from their modules.
"""

from __future__ import annotations

from .target import ScalewayTarget

__all__ = ["ScalewayTarget"]
