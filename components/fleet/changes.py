"""Which clusters a change touches: those whose deployed document differs, or whose target's
registration code or provider pins changed.

A cluster's document (`fleet/deployed.py`) is what its stack deploys: the platform's rendered
objects, Kueue's install and the view its infrastructure is built from. So a change to a builder,
a template, the catalog, the toolkit's version (every object's labels carry it) or the site
previews the clusters it alters and no other; a README edit previews none. Pure: documents in,
names out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def changed_clusters(
    before: Mapping[str, Any] | None, after: Mapping[str, Any], registration_changed: Collection[str | None] = ()
) -> list[str]:
    """Clusters of `after` that are new or deploy differently, then the clusters `after` dropped.
    `before` None: nothing to compare with, every cluster. `registration_changed`: the targets whose
    registration code or pins changed (None among them: every target)."""
    if before is None or None in registration_changed:
        return list(after)
    old = before
    touched = [name for name, document in after.items() if old.get(name) != document or document.get("target") in registration_changed]
    return touched + [name for name in old if name not in after]
