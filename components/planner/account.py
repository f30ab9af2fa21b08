"""The cloud account as a level of the plan: what a site asks of its Scaleway Organization's quotas.

Scaleway's quotas hold per Organization (catalog source `scw-organization-quotas`). A site asks
for Kapsule clusters, dedicated control planes, placement groups (a multi-node training pool takes
one per 20 nodes), Instances per node type and zone, and Object Storage buckets. What it asks,
plus what the Organization already runs elsewhere (`account.in_use`), is checked against the
figure an operator got raised (`account.quotas`), else Scaleway's published default. Over a
quota is a violation that says which quota to raise and to what, or how much to deploy from
another Organization (a Project shares its Organization's quotas).

Pure and additive, so a programme can add the needs of several sites or phases (`AccountNeeds`,
`+`) and check them against one account (`check_account`). Block Storage counts the root volumes
of GPU nodes (`sbs_*`: a Block volume each; `l_ssd` is local); the system pool's take Kapsule's
default and tenants' PersistentVolumeClaims are theirs to size, so neither is counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..catalog import Catalog
from ..errors import Problem
from ..keys import key_path
from ..spec import Account, AccountFigures, Cluster, FactorySpec, GpuPool, SystemPool
from .capacity import split_fleet
from .model import INSTANCES, AccountPlan, ClusterPlan, HeadroomBuys, PoolPlan, QuotaKey, QuotaUse

# The Kapsule API's own field documentation (scaleway-sdk-go api/k8s/v1, CreatePoolRequest.placement_group_id;
# scaleway.com/en/developers/api/kubernetes/pools): "placement groups are limited to 20 instances".
PLACEMENT_GROUP_MAX_NODES = 20
# The quotas counted per cluster, in the order the plan shows them; Instances follow, per node type and zone.
CLUSTER_QUOTAS = (
    "kapsule_clusters", "dedicated_control_planes_4_8", "dedicated_control_planes_16", "placement_groups",
    "object_storage_buckets", "block_volumes", "block_storage_gb",
)  # fmt: skip
# The quotas a cluster takes one of: moving clusters to another Organization is the other way out.
ONE_PER_CLUSTER = ("kapsule_clusters", "dedicated_control_planes_4_8", "dedicated_control_planes_16", "object_storage_buckets")
SCALEWAY = "scaleway"


def placement_groups(nodes: int, multi_node_training: bool) -> int:
    """The placement groups a GPU pool that may reach `nodes` nodes takes: one per 20 nodes (at least one)
    for a multi-node training pool, none otherwise. `scaleway/pool_inputs.kapsule_pools` splits the pool so."""
    if not multi_node_training:
        return 0
    return max(1, math.ceil(nodes / PLACEMENT_GROUP_MAX_NODES))


@dataclass(frozen=True)
class AccountNeeds:
    """What some clusters ask of an Organization's quotas: a count per quota, and the clusters asking."""

    counts: dict[QuotaKey, int] = field(default_factory=dict)
    clusters: dict[QuotaKey, tuple[str, ...]] = field(default_factory=dict)

    def __add__(self, other: AccountNeeds) -> AccountNeeds:
        keys = [*self.counts, *(k for k in other.counts if k not in self.counts)]
        return AccountNeeds(
            {k: self.counts.get(k, 0) + other.counts.get(k, 0) for k in keys},
            {k: self.clusters.get(k, ()) + other.clusters.get(k, ()) for k in keys},
        )


def cluster_needs(cluster: Cluster, plan: ClusterPlan, pools: Iterable[PoolPlan], catalog: Catalog) -> AccountNeeds:
    """What one cluster asks of its Organization: nothing for a local one."""
    if cluster.target != SCALEWAY:
        return AccountNeeds()
    counts: dict[QuotaKey, int] = {("kapsule_clusters",): 1}
    plane = catalog.control_planes.get(plan.control_plane or "")
    if plane is not None and plane.account_quota:
        counts[(plane.account_quota,)] = 1
    specs = {p.name: p for p in cluster.pools}
    for pool in pools:
        spec = specs.get(pool.name) if pool.gpu_model is not None else None
        if spec is None:
            continue  # the system pool: no placement group, a root volume of Kapsule's default
        _add(counts, ("placement_groups",), placement_groups(pool.nodes, spec.multi_node_training))
        if spec.root_volume_type.startswith("sbs"):
            _add(counts, ("block_volumes",), pool.nodes)
            _add(counts, ("block_storage_gb",), pool.nodes * spec.root_volume_size_gb)
    if cluster.storage.bucket.enabled:
        counts[("object_storage_buckets",)] = 1
    for pool in pools:
        _add(counts, (INSTANCES, pool.node_type, cluster.zone), pool.nodes)
    return AccountNeeds(counts, {key: (cluster.name,) for key in counts})


def site_needs(spec: FactorySpec, clusters: Iterable[ClusterPlan], pools: Iterable[PoolPlan], catalog: Catalog) -> AccountNeeds:
    """What every cluster of a site asks, added up."""
    by_cluster: dict[str, list[PoolPlan]] = {}
    for pool in pools:
        by_cluster.setdefault(pool.cluster, []).append(pool)
    plans = {c.name: c for c in clusters}
    needs = AccountNeeds()
    for cluster in spec.clusters:
        needs += cluster_needs(cluster, plans[cluster.name], by_cluster.get(cluster.name, []), catalog)
    return needs


def headroom_needs(buys: HeadroomBuys, system_node_type: str, system_nodes: int, catalog: Catalog) -> AccountNeeds:
    """What buying the headroom asks: its clusters hall by hall, each on the smallest Kapsule plane that
    holds it, its GPU pools trained multi-node (placement groups of 20), its system nodes, a bucket each."""
    if not buys.nodes:
        return AccountNeeds()
    planes = catalog.control_planes_for(SCALEWAY)
    limit = max(plane.max_nodes for _, plane in planes)
    zone = catalog.gpu_node_types[buys.node_type].zones[0]
    pool = GpuPool(name="headroom", node_type=buys.node_type, size=0)  # a pool's defaults: its root volume
    counts: dict[QuotaKey, int] = {}
    for nodes in buys.nodes_by_hall.values():
        for size in split_fleet(nodes, limit, system_nodes):
            _add(counts, ("kapsule_clusters",), 1)
            plane = next(p for _, p in planes if p.max_nodes >= size + system_nodes)
            if plane.account_quota:
                _add(counts, (plane.account_quota,), 1)
            _add(counts, ("placement_groups",), placement_groups(size, True))
            _add(counts, ("object_storage_buckets",), 1)
            _add(counts, ("block_volumes",), size)
            _add(counts, ("block_storage_gb",), size * pool.root_volume_size_gb)
            _add(counts, (INSTANCES, buys.node_type, zone), size)
            _add(counts, (INSTANCES, system_node_type, zone), system_nodes)
    return AccountNeeds(counts, {})


def _add(counts: dict[QuotaKey, int], key: QuotaKey, n: int) -> None:
    if n:
        counts[key] = counts.get(key, 0) + n


def check_account(needs: AccountNeeds, account: Account, catalog: Catalog) -> tuple[QuotaUse, ...]:
    """Each quota the needs touch, against the document's figure or else the published default. Instances:
    a zone with a raised figure is checked alone; the zones without one share the type's default, as
    Scaleway publishes it for the whole Organization."""
    uses = []
    for key in _ordered(needs.counts):
        granted, running = _figure(account.quotas, key), _figure(account.in_use, key) or 0
        limit = granted if granted is not None else _default(key, account, catalog)
        if key[0] == INSTANCES and granted is None:
            # The type's zones without a raised figure share one default: count them together.
            shared = [k for k in needs.counts if k[:2] == key[:2] and _figure(account.quotas, k) is None]
            if key != shared[0]:
                continue
            needed = sum(needs.counts[k] for k in shared)
            running = sum(_figure(account.in_use, k) or 0 for k in shared)
            clusters = tuple(dict.fromkeys(c for k in shared for c in needs.clusters.get(k, ())))
            zones = "+".join(k[2] for k in shared)
            uses.append(QuotaUse((INSTANCES, key[1], zones), needed, running, limit, False, clusters))
            continue
        uses.append(QuotaUse(key, needs.counts[key], running, limit, granted is not None, needs.clusters.get(key, ())))
    return tuple(uses)


def account_violations(uses: Iterable[QuotaUse], at: Iterable[str | int] = ("account",)) -> list[Problem]:
    """A quota the plan passes: which to raise, to what, or how much to take to another Organization."""
    at = list(at)
    problems = []
    for use in uses:
        if use.fits:
            continue
        over = use.total - use.limit
        figure = "the figure raised for it" if use.raised else "Scaleway's published default"
        elsewhere = f" and the Organization runs {use.in_use:,} elsewhere" if use.in_use else ""
        unit = UNITS.get(use.key[0], "")
        moved = f"{over:,} cluster{'s' if over > 1 else ''}" if use.key[0] in ONE_PER_CLUSTER else f"{over:,}{unit or ' of them'}"
        message = (
            f"the plan needs {use.needed:,}{unit}{elsewhere}, over the quota of {use.limit:,}{unit} ({figure}); "
            f"raise it to {use.total:,}{unit} (+{over:,}) by a support ticket and declare it here, "
            f"or deploy {moved} from another Organization{_clusters(use.clusters)}"
        )
        problems.append(Problem(key_path([*at, "quotas", *_quota_path(use.key)]), message, "violation"))
    return problems


# What a quota counts in, where it is not a number of things.
UNITS = {"block_storage_gb": " GB"}
SHOWN_CLUSTERS = 6


def _clusters(names: tuple[str, ...]) -> str:
    if not names:
        return ""
    shown = ", ".join(names[:SHOWN_CLUSTERS])
    more = f" and {len(names) - SHOWN_CLUSTERS} more" if len(names) > SHOWN_CLUSTERS else ""
    return f" (clusters: {shown}{more})"


def account_plan(
    spec: FactorySpec, clusters: Iterable[ClusterPlan], pools: Iterable[PoolPlan], buys: HeadroomBuys, catalog: Catalog
) -> tuple[AccountPlan, list[Problem]]:
    """The site's account level: its clusters' needs against its account, and what the headroom would add.
    Over a quota is a violation where the document declares `account:`. Without it the level is still
    computed against Scaleway's published defaults and shown (which quota to raise), but refuses
    nothing: a GPU fleet's operator has raised its quotas, and the plan cannot know to what."""
    account = spec.account or Account()
    needs = site_needs(spec, clusters, pools, catalog)
    uses = check_account(needs, account, catalog)
    # The headroom's clusters take the site's first system pool's node type, else the default one.
    system = spec.clusters[0].system_pool if spec.clusters else SystemPool()
    headroom = headroom_needs(buys, system.node_type, SystemPool().size, catalog)
    bought = check_account(needs + headroom, account, catalog)
    passed = tuple(use for use in bought if not use.fits and _touches(use, headroom.counts))
    plan = AccountPlan(account.organization, account.project, uses, passed, declared=spec.account is not None)
    return plan, account_violations(uses) if spec.account is not None else []


def _touches(use: QuotaUse, keys: Iterable[QuotaKey]) -> bool:
    """Whether any of `keys` counts against `use` (Instances of a type: in any of its zones)."""
    return any(key == use.key or (key[0] == INSTANCES and key[:2] == use.key[:2]) for key in keys)


def _ordered(keys: Iterable[QuotaKey]) -> list[QuotaKey]:
    keys = list(keys)
    first = [(name,) for name in CLUSTER_QUOTAS if (name,) in keys]
    return first + sorted(k for k in keys if k[0] == INSTANCES)


def _figure(figures: AccountFigures, key: QuotaKey) -> int | None:
    if key[0] == INSTANCES:
        return figures.instances.get(key[1], {}).get(key[2])
    value: int | None = getattr(figures, key[0])
    return value


def _default(key: QuotaKey, account: Account, catalog: Catalog) -> int:
    quota = catalog.instance_quotas[key[1]] if key[0] == INSTANCES else catalog.account_quotas[key[0]]
    return quota.default(account.identity_validated)


def _quota_path(key: QuotaKey) -> list[str]:
    """The key path under `account.quotas`; the shared default of several zones is named at the type."""
    if key[0] == INSTANCES and "+" in key[2]:
        return list(key[:2])
    return list(key)
