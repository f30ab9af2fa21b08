"""A derate: a level's budget lowered for a while, and what the toolkit does about it, in order.

What a level must hold is what its work may draw: every tenant's Kueue nominal quota of a
flavor on a cluster, spread over the flavor's pools by their GPUs (as the planner spreads
allotments), times the pool's kW per GPU after its cap; plus its CPU system pools, rated,
which no quota holds and which nothing here sheds. Three steps, each only while the level is
still over its derated budget:

1. Caps. The per-GPU cap of the pools under the level, lowest priority first, as far as the
   pool's GPU model allows (catalog `min_power_limit_w`): the same admitted GPUs draw less and
   nothing stops. Caps are per pool and a pool is shared by every tenant of its cluster with a
   quota of its flavor, so a pool's priority is the highest of those tenants': a pool that
   serves inference is capped after every pool that serves only training or batch.
2. Quotas. Each tenant's nominal quotas under the level, lowest priority first; tenants of one
   priority keep the same share of their quotas (rounded down). From the deploy on, Kueue
   admits no more than the lowered quotas.
3. Stops. Kueue v0.17 keeps a workload admitted when its ClusterQueue's quota is lowered
   (kubernetes-sigs/kueue#5176 asks for it), so until that work ends the level could draw what the old
   quotas allowed. The ClusterQueues whose quota step 2 lowered are held and drained (Kueue's
   `stopPolicy: HoldAndDrain`: every workload they admitted is evicted and waits), lowest
   priority first, until what may still run fits. A drained queue's quota on the cluster is
   set to 0, so no other queue of its cohort borrows the power it gave up.

A tenant's GPU ceiling (quota plus what it may borrow: its namespace's ResourceQuota) does not
move: what its quota loses, it may borrow, and borrowing only ever takes other queues' idle
quota, which the derated budget already holds.

A tenant's priority is the highest PriorityClass it may use (`Tenant.priority_classes`): the
most important work it can run, which is what a derate must spare longest.

Deepest levels are derated first, so a hall's derate sees its rows' steps. A derate below
what the level's system pools draw cannot be met by any step: a violation naming the level.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import get_args

from ..catalog import Catalog
from ..errors import Problem
from ..spec import FactorySpec, PriorityClassName, Tenant
from .model import CapStep, DeratePlan, LevelDerate, LevelDeratePlan, LevelPlan, Plan, PoolPlan, QuotaStep, StopStep, TenantPlan
from .power import roll_up

_EPSILON = 1e-9
# Highest first, as the spec lists them: inference > training > batch.
PRIORITIES: tuple[str, ...] = get_args(PriorityClassName)

Quotas = dict[str, dict[str, dict[str, int]]]  # tenant -> cluster -> flavor -> GPUs


def tenant_priority(tenant: Tenant) -> str:
    """The highest PriorityClass the tenant may use."""
    return min(tenant.priority_classes, key=PRIORITIES.index)


def rank(priority: str) -> int:
    """Higher is more important; -1 for a pool no tenant uses."""
    return len(PRIORITIES) - PRIORITIES.index(priority) if priority in PRIORITIES else -1


def under(level: str, path: str) -> bool:
    return level == path or level.startswith(f"{path}/")


def apply_derates(spec: FactorySpec, plan: Plan, derates: tuple[LevelDerate, ...], catalog: Catalog) -> Plan:
    """`plan` with the derates in force: pools capped, quotas lowered, queues drained, and what each step sheds."""
    if not derates:
        return plan
    state = _State(spec, plan, catalog)
    levels = {lv.path: lv for lv in plan.levels}
    steps, problems = [], []
    for derate in sorted(derates, key=lambda d: (-d.level.count("/"), d.level)):
        level_plan, problem = state.derate(levels[derate.level], derate.budget_kw)
        steps.append(level_plan)
        problems += problem
    pools = tuple(state.pools[p.cluster, p.name] for p in plan.pools)
    levels_after = roll_up(spec.site, list(pools))  # caps lower the rated power too
    return replace(
        plan,
        site=replace(plan.site, rated_it_kw=levels_after[0].rated_kw),
        levels=tuple(levels_after),
        pools=pools,
        tenants=tuple(state.tenant_plan(t) for t in plan.tenants),
        violations=(*plan.violations, *problems),
        derate=DeratePlan(tuple(steps)),
    )


class _State:
    """Pools and quotas as the steps leave them, level after level."""

    def __init__(self, spec: FactorySpec, plan: Plan, catalog: Catalog) -> None:
        self.catalog = catalog
        self.pools = {(p.cluster, p.name): p for p in plan.pools}
        self.quotas: Quotas = {t.name: {c: dict(f) for c, f in t.quotas_by_cluster.items()} for t in plan.tenants}
        self.stopped: set[tuple[str, str]] = set()
        self.priority = {t.name: tenant_priority(t) for t in spec.tenants}
        self.flavor_gpus: dict[tuple[str, str], int] = {}
        for pool in plan.pools:
            if pool.flavor is not None:
                self.flavor_gpus[pool.cluster, pool.flavor] = self.flavor_gpus.get((pool.cluster, pool.flavor), 0) + pool.gpus

    # What the level's work may draw

    def share(self, pool: PoolPlan) -> float:
        """The pool's share of its flavor's GPUs on its cluster: the share of each quota it carries."""
        assert pool.flavor is not None
        total = self.flavor_gpus.get((pool.cluster, pool.flavor), 0)
        return pool.gpus / total if total else 0.0

    def load_gpus(self, pool: PoolPlan, quotas: Quotas | None = None) -> float:
        quotas = self.quotas if quotas is None else quotas
        nominal = sum(per.get(pool.cluster, {}).get(pool.flavor or "", 0) for per in quotas.values())
        return nominal * self.share(pool)

    def kw_per_gpu(self, pool: PoolPlan) -> float:
        return pool.node_power_w / pool.gpus_per_node / 1000 if pool.gpus_per_node else 0.0

    def gpu_pools(self, path: str) -> list[PoolPlan]:
        return [p for p in self.pools.values() if p.flavor is not None and p.gpus and under(p.level, path)]

    def fixed_kw(self, path: str) -> float:
        return sum(p.rated_kw for p in self.pools.values() if p.flavor is None and under(p.level, path))

    def queue_kw(self, tenant: str, cluster: str, path: str, quotas: Quotas | None = None) -> float:
        """What one tenant's queue on one cluster may draw under the level."""
        quotas = self.quotas if quotas is None else quotas
        per_flavor = quotas.get(tenant, {}).get(cluster, {})
        return sum(
            per_flavor.get(p.flavor or "", 0) * self.share(p) * self.kw_per_gpu(p) for p in self.gpu_pools(path) if p.cluster == cluster
        )

    def drawable_kw(self, path: str, quotas: Quotas | None = None) -> float:
        return self.fixed_kw(path) + sum(self.load_gpus(p, quotas) * self.kw_per_gpu(p) for p in self.gpu_pools(path))

    def queues(self, path: str) -> list[tuple[str, str]]:
        """(tenant, cluster) of every queue with a quota of a flavor that has pools under the level."""
        clusters = {p.cluster for p in self.gpu_pools(path)}
        return [(t, c) for t, per in self.quotas.items() for c in per if c in clusters and self.queue_kw(t, c, path) > 0]

    def pool_priority(self, pool: PoolPlan) -> str:
        users = [t for t, per in self.quotas.items() if per.get(pool.cluster, {}).get(pool.flavor or "", 0) > 0]
        return max((self.priority[t] for t in users), key=rank, default="none")

    # The steps

    def derate(self, level: LevelPlan, budget_kw: float) -> tuple[LevelDeratePlan, list[Problem]]:
        path, fixed = level.path, self.fixed_kw(level.path)
        before = self.drawable_kw(path)
        if fixed > budget_kw + _EPSILON:
            message = (
                f"a derate of {level.kind} {path} to {budget_kw:,.1f} kW cannot be met: its CPU system pools alone draw "
                f"{fixed:,.1f} kW rated, which no cap, quota or stop sheds; allowed: a derate to at least {fixed:,.1f} kW"
            )
            plan = LevelDeratePlan(path, level.kind, level.budget_kw, budget_kw, fixed, before, (), (), (), before, before)
            return plan, [Problem(path, message, "violation")]
        caps = self.cap(path, budget_kw)
        old = {t: {c: dict(f) for c, f in per.items()} for t, per in self.quotas.items()}
        quotas = self.lower_quotas(path, budget_kw)
        stops = self.stop(path, budget_kw, old, {(q.tenant, q.cluster) for q in quotas})
        after = self.drawable_kw(path)
        running = fixed + sum(self.queue_kw(t, c, path, old) for t, c in self._queues_of(old, path) if (t, c) not in self.stopped)
        return LevelDeratePlan(path, level.kind, level.budget_kw, budget_kw, fixed, before, caps, quotas, stops, after, running), []

    def cap(self, path: str, budget_kw: float) -> tuple[CapStep, ...]:
        steps = []
        excess = self.drawable_kw(path) - budget_kw
        pools = sorted(
            self.gpu_pools(path), key=lambda p: (rank(self.pool_priority(p)), -self.load_gpus(p) * self.kw_per_gpu(p), p.cluster, p.name)
        )
        for pool in pools:
            load = self.load_gpus(pool)
            if excess <= _EPSILON:
                break
            if load <= 0 or pool.gpu_model is None:
                continue
            model = self.catalog.gpu_models[pool.gpu_model]
            current = pool.gpu_power_cap_w or math.floor(model.max_power_w)
            if current <= math.ceil(model.min_power_limit_w):
                continue
            # The highest whole-watt cap that sheds the excess, never below what the driver takes.
            cap_w = max(math.ceil(model.min_power_limit_w), math.floor(current - excess * 1000 / load))
            shed = load * (current - cap_w) / 1000
            self.pools[pool.cluster, pool.name] = replace(
                pool, gpu_power_cap_w=cap_w, node_power_w=pool.node_power_w - pool.gpus_per_node * (current - cap_w)
            )
            steps.append(CapStep(pool.cluster, pool.name, pool.gpu_model, self.pool_priority(pool), current, cap_w, shed))
            excess -= shed
        return tuple(steps)

    def lower_quotas(self, path: str, budget_kw: float) -> tuple[QuotaStep, ...]:
        steps: list[QuotaStep] = []
        flavors = {(p.cluster, p.flavor) for p in self.gpu_pools(path)}
        tiers = sorted({self.priority[t] for t, _ in self.queues(path)}, key=rank)
        for priority in tiers:
            excess = self.drawable_kw(path) - budget_kw
            if excess <= _EPSILON:
                break
            tier = [(t, c) for t, c in self.queues(path) if self.priority[t] == priority]
            tier_kw = sum(self.queue_kw(t, c, path) for t, c in tier)
            keep = max(0.0, 1 - excess / tier_kw)
            for tenant, cluster in tier:
                for flavor, gpus in sorted(self.quotas[tenant][cluster].items()):
                    if (cluster, flavor) not in flavors:
                        continue
                    lowered = math.floor(gpus * keep + _EPSILON)
                    if lowered < gpus:
                        shed = self.queue_kw(tenant, cluster, path)
                        self.quotas[tenant][cluster][flavor] = lowered
                        shed -= self.queue_kw(tenant, cluster, path)
                        steps.append(QuotaStep(tenant, cluster, flavor, priority, gpus, lowered, shed))
        return tuple(steps)

    def stop(self, path: str, budget_kw: float, old: Quotas, lowered: set[tuple[str, str]]) -> tuple[StopStep, ...]:
        """Drain the queues whose quota was lowered, lowest priority first, the largest first among
        equals (fewest queues stopped), until the work admitted under the old quotas fits."""
        running = {q: self.queue_kw(*q, path, old) for q in self._queues_of(old, path) if q not in self.stopped}
        total = self.fixed_kw(path) + sum(running.values())
        steps = []
        for tenant, cluster in sorted(lowered, key=lambda q: (rank(self.priority[q[0]]), -running.get(q, 0.0), q)):
            if total <= budget_kw + _EPSILON:
                break
            kw = running.get((tenant, cluster), 0.0)
            gpus = sum(
                gpus
                for flavor, gpus in old[tenant][cluster].items()
                if any(p.flavor == flavor and p.cluster == cluster for p in self.gpu_pools(path))
            )
            steps.append(StopStep(tenant, cluster, self.priority[tenant], gpus, kw))
            self.stopped.add((tenant, cluster))
            self.quotas[tenant][cluster] = {flavor: 0 for flavor in self.quotas[tenant][cluster]}
            total -= kw
        return tuple(steps)

    def _queues_of(self, quotas: Quotas, path: str) -> list[tuple[str, str]]:
        clusters = {p.cluster for p in self.gpu_pools(path)}
        return [(t, c) for t, per in quotas.items() for c in per if c in clusters]

    def tenant_plan(self, tenant: TenantPlan) -> TenantPlan:
        """Its lowered quotas, and the same GPU ceiling (what it may borrow grows by what its quota lost): the
        namespace's ResourceQuota is a fence that does not move, so work readmitted when the event ends is never
        refused by a quota that has not caught up yet. Borrowing draws only other queues' idle nominal quota, which
        the level's budget already holds. It lends no more than its quota."""
        quotas = self.quotas[tenant.name]
        if quotas == tenant.quotas_by_cluster:
            return tenant
        borrowing = {
            c: {f: n + tenant.quotas_by_cluster[c][f] - quotas[c][f] for f, n in per.items()}
            for c, per in tenant.borrowing_by_cluster.items()
        }
        lending = (
            None
            if tenant.lending_by_cluster is None
            else {c: {f: min(n, quotas.get(c, {}).get(f, 0)) for f, n in per.items()} for c, per in tenant.lending_by_cluster.items()}
        )
        return replace(tenant, quotas_by_cluster=quotas, borrowing_by_cluster=borrowing, lending_by_cluster=lending)
