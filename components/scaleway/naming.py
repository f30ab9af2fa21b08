"""Names and tags: what Pulumi and Scaleway call each piece of a cluster. Pure, no Pulumi.

Pulumi names (URN names) derive from the component's own name, so two clusters
in one program never collide. Scaleway names derive from the site and cluster,
so a resource is recognisable in the console of a project hosting many sites.
"""

from __future__ import annotations

from ..view import ClusterView

MANAGED_BY = "managed-by=aion-factory"


def child(parent: str, *parts: str) -> str:
    """A child's Pulumi name: its parent's name, then what it is."""
    return "-".join((parent, *parts))


def scaleway_name(view: ClusterView, *parts: str) -> str:
    """The name a cluster-wide resource shows in the Scaleway console."""
    return "-".join((view.site, view.name, *parts))


def region_of(zone: str) -> str:
    """`fr-par-2` -> `fr-par`: Kapsule clusters, private networks and buckets are regional."""
    region, _, number = zone.rpartition("-")
    if not region or not number.isdigit():
        raise ValueError(f"{zone!r} is not a Scaleway zone like fr-par-2")
    return region


def tags(view: ClusterView) -> list[str]:
    """Scaleway tags of every resource of a cluster: where it stands, and who manages it."""
    return [MANAGED_BY, f"site={view.site}", f"hall={view.hall}", f"cluster={view.name}"]


def bucket_tags(view: ClusterView) -> dict[str, str]:
    """Object storage takes tags as a map, not a list."""
    return {"managed-by": "aion-factory", "site": view.site, "hall": view.hall, "cluster": view.name}
