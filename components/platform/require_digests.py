"""`python -m aion_factory.platform.require_digests`: exit 1, naming each, while an image or chart the
platform pulls has no digest; production deploys run it before `pulumi up` (deploy-part.yml). A module of
its own: the package imports `images`, and running that one as `__main__` would load it twice."""

from __future__ import annotations

import sys

from .images import unpinned


def main() -> int:
    missing = unpinned()
    for image in missing:
        print(
            f"{image.reference()}: no digest; pin it in aion_factory/platform/images.py (sha256 of its manifest, "
            "read from a source you can cite) before it deploys to production",
            file=sys.stderr,
        )
    if not missing:
        print("every image and chart is pinned by digest")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
