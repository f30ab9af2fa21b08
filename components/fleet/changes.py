"""Which clusters a change to a site touches: those whose cluster view differs.

The view is everything a cluster's deployment is built from (its pools, its
tenants' quotas, its control plane), so two equal views deploy the same objects.
A tenant's new allotment changes the quotas of every cluster it runs on; a new
row budget changes no cluster until a figure one of them deploys moves.
"""

from __future__ import annotations

from dataclasses import replace

from ..planner import LevelDerate, make_plan
from ..spec import FactorySpec
from ..view import ClusterView, cluster_views


def changed_clusters(
    before: FactorySpec | None,
    after: FactorySpec,
    before_derates: tuple[LevelDerate, ...] = (),
    after_derates: tuple[LevelDerate, ...] = (),
) -> list[str]:
    """Clusters of `after` that are new or deploy differently, then the clusters `after` dropped; with the
    power events in force on each side, a derate changes the clusters whose caps, quotas or queues it moves."""
    old = _views(before, before_derates) if before is not None else {}
    new = _views(after, after_derates)
    return [name for name, view in new.items() if old.get(name) != view] + [name for name in old if name not in new]


def _views(spec: FactorySpec, derates: tuple[LevelDerate, ...]) -> dict[str, ClusterView]:
    # Its position in the site's list only words messages: a moved cluster deploys the same.
    return {view.name: replace(view, index=0) for view in cluster_views(spec, make_plan(spec, derates=derates))}
