"""The platform's one error type: a setup problem the user can fix, named plainly."""

from __future__ import annotations

from ..errors import AionError


class PlatformError(AionError):
    """The in-cluster platform cannot be built as asked (missing CRDs, unknown cluster)."""
