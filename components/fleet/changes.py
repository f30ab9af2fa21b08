"""Which clusters a change to a site touches: those whose cluster view differs.

The view is everything a cluster's deployment is built from (its pools, its
tenants' quotas, its control plane), so two equal views deploy the same objects.
A tenant's new allotment changes the quotas of every cluster it runs on; a new
row budget changes no cluster until a figure one of them deploys moves.
"""

from __future__ import annotations

from dataclasses import replace

from ..planner import make_plan
from ..spec import FactorySpec
from ..view import ClusterView, cluster_views


def changed_clusters(before: FactorySpec | None, after: FactorySpec) -> list[str]:
    """Clusters of `after` that are new or deploy differently, then the clusters `after` dropped."""
    old = _views(before) if before is not None else {}
    new = _views(after)
    return [name for name, view in new.items() if old.get(name) != view] + [name for name in old if name not in new]


def _views(spec: FactorySpec) -> dict[str, ClusterView]:
    # Its position in the site's list only words messages: a moved cluster deploys the same.
    return {view.name: replace(view, index=0) for view in cluster_views(spec, make_plan(spec))}
