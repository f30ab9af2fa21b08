"""Rules that need the catalog or span the spec. Each failure names its key path."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Iterator

from . import kube_names
from .catalog import Catalog
from .errors import Problem, shown
from .keys import NAMESPACE, key_path
from .phases import phase_problems
from .spec import (
    KUEUE_NAMESPACE,
    REASON_CHARS,
    SYSTEM_NAMESPACE,
    SYSTEM_POOL,
    Account,
    AccountFigures,
    Cluster,
    FactorySpec,
    GpuPool,
    Hall,
    Tenant,
)

MIG_CAPABLE_MODELS = ("H100-SXM", "H100-PCIe")
# A tenant's name is its namespace, and the stack applies it: over an existing namespace of the same
# name, the tenant's group would read its Secrets and removing the tenant would delete it. Refused:
# Kubernetes' own namespaces, and those of the add-ons the platform installs or expects beside it,
# each with why (a namespace that exists on the cluster under any other name is the deploy-time
# preflight's: `target.namespace_takeovers`).
RESERVED_PREFIXES = {"kube-": "Kubernetes' own (kube-system, kube-public, kube-node-lease), and the prefix is Kubernetes' by convention"}
RESERVED_NAMESPACES = {
    "default": "Kubernetes' default namespace",
    SYSTEM_NAMESPACE: "the platform's GPU power-cap DaemonSets (privileged)",
    KUEUE_NAMESPACE: "Kueue's manager and webhooks, which the platform installs",
    "gpu-operator": "NVIDIA's GPU operator (driver, device plugin, DCGM exporter), which the GPU pools rely on",
    "nvidia-gpu-operator": "NVIDIA's GPU operator, where OpenShift and its certified chart install it",
    "cert-manager": "cert-manager, which issues webhook certificates (Kueue's chart can use it)",
    "monitoring": "the cluster's monitoring (Prometheus, the DCGM exporter's scrapes of GPU power)",
    "ingress-nginx": "the ingress controller that serves tenants' inference endpoints",
    "jobset-system": "JobSet's controller (Kueue's jobset.x-k8s.io/jobset integration)",
    "kubeflow": "the Kubeflow training operator (Kueue's kubeflow.org integrations)",
    "kuberay-system": "the KubeRay operator (Kueue's ray.io integrations)",
    "lws-system": "LeaderWorkerSet's controller (Kueue's leaderworkerset.x-k8s.io integration)",
}
# What a Pod Security level beyond `restricted` lets a tenant's pods do
# (https://kubernetes.io/docs/concepts/security/pod-security-standards/): what its exception must justify.
POD_SECURITY_RISKS = {
    "baseline": "root in the container, setuid escalation, no seccomp profile, the default capabilities with NET_RAW",
    "privileged": "host network, PID and paths, privileged containers: the cloud's metadata service, the kubelet, "
    "and nvidia-smi -pl, which lifts the GPU power caps the plan counts on",
}
# Kubernetes' own groups (system:masters, system:authenticated, system:serviceaccounts...): a tenant
# group among them would hand the tenant's rights to every member, every user of the cluster for some.
SYSTEM_GROUP_PREFIX = "system:"


def check_spec(spec: FactorySpec, catalog: Catalog) -> list[Problem]:
    problems = list(_duplicates(["site", "halls"], [h.name for h in spec.site.halls]))
    for h, hall in enumerate(spec.site.halls):
        problems += _duplicates(["site", "halls", h, "rows"], [r.name for r in hall.rows])
        for r, row in enumerate(hall.rows):
            problems += _duplicates(["site", "halls", h, "rows", r, "racks"], [k.name for k in row.racks])
    problems += _duplicates(["clusters"], [c.name for c in spec.clusters])
    problems += _duplicates(["tenants"], [t.name for t in spec.tenants])
    halls = {hall.name: hall for hall in spec.site.halls}
    for c, cluster in enumerate(spec.clusters):
        problems += _check_cluster(["clusters", c], cluster, halls, catalog)
    cluster_names = [c.name for c in spec.clusters]
    for t, tenant in enumerate(spec.tenants):
        why = reserved_namespace(tenant.name)
        if why is not None:
            problems.append(
                Problem(
                    key_path(["tenants", t, "name"]),
                    f"{tenant.name!r} is a reserved namespace ({why}); not allowed: "
                    f"{', '.join(f'{prefix}*' for prefix in RESERVED_PREFIXES)}, {', '.join(RESERVED_NAMESPACES)}",
                )
            )
        problems += _pod_security(["tenants", t], tenant)
        problems += _duplicates(["tenants", t, "priority_classes"], list(tenant.priority_classes))
        # Each listing would count the cluster's GPU power again, and cut the tenant's quota there.
        problems += _duplicates(["tenants", t, "clusters"], list(tenant.clusters))
        if tenant.group is not None and not tenant.group.strip():
            problems.append(
                Problem(key_path(["tenants", t, "group"]), "an empty group names nobody; allowed: a group of your identity provider")
            )
        if tenant.group is not None and tenant.group.startswith(SYSTEM_GROUP_PREFIX):
            problems.append(
                Problem(
                    key_path(["tenants", t, "group"]),
                    f"{tenant.group!r} is a Kubernetes system group; allowed: a group of your identity provider, "
                    f"not starting with {SYSTEM_GROUP_PREFIX!r}",
                )
            )
        for k, name in enumerate(tenant.clusters):
            if name not in cluster_names:
                problems.append(_bad(["tenants", t, "clusters", k], name, "is not a cluster of the site", cluster_names))
    return problems + phase_problems(spec) + (_check_account(spec.account, catalog) if spec.account else [])


def _check_account(account: Account, catalog: Catalog) -> list[Problem]:
    """Node types and zones the catalog knows, and no quota below what the Organization already runs
    (`in_use`): Scaleway does not grant a quota under the usage it holds, so such a figure is a typo."""
    problems = []
    for part in ("quotas", "in_use"):
        figures: AccountFigures = getattr(account, part)
        for node_type, zones in figures.instances.items():
            at: list[str | int] = ["account", part, "instances", node_type]
            if node_type not in catalog.instance_quotas:
                problems.append(_bad(at[:-1], node_type, "is not a node type with a published quota", catalog.instance_quotas))
                continue
            offered = catalog.zones_of(node_type)
            problems += [_bad(at, zone, f"is not a zone of {node_type}", offered) for zone in zones if zone not in offered]
    for name in AccountFigures.model_fields:
        granted, running = getattr(account.quotas, name), getattr(account.in_use, name)
        if name == "instances":
            problems += [
                _below(["account", "quotas", name, node_type, zone], figure, ["account", "in_use", name, node_type, zone], used)
                for node_type, zones in granted.items()
                for zone, figure in zones.items()
                if (used := running.get(node_type, {}).get(zone)) is not None and figure < used
            ]
        elif granted is not None and running is not None and granted < running:
            problems.append(_below(["account", "quotas", name], granted, ["account", "in_use", name], running))
    return problems


def _below(at: list[str | int], figure: int, use_at: list[str | int], used: int) -> Problem:
    # The other key named without the `aion:` prefix: in a site document's messages only the path loses it.
    shown_at = key_path(use_at).removeprefix(f"{NAMESPACE}:")
    why = f"{figure:,} is below the {used:,} the Organization already runs ({shown_at}); allowed: at least {used:,}"
    return Problem(key_path(at), why)


def _pod_security(at: list[str | int], tenant: Tenant) -> Iterator[Problem]:
    """A level beyond `restricted` only with a reason, so that a reviewer sees it and `aion plan` says it."""
    level, reason = tenant.pod_security, tenant.pod_security_exception
    if level != "restricted" and reason is None:
        yield Problem(
            key_path([*at, "pod_security"]),
            f"{level!r} needs pod_security_exception, saying why the tenant's pods need {POD_SECURITY_RISKS[level]}; "
            "allowed: restricted, or baseline or privileged with pod_security_exception",
        )
    elif reason is not None and not reason.strip():
        yield Problem(key_path([*at, "pod_security_exception"]), "an empty reason explains nothing; allowed: why the pods need the level")
    elif reason is not None and level == "restricted":
        yield Problem(
            key_path([*at, "pod_security_exception"]),
            "excuses nothing with pod_security 'restricted'; allowed: unset, or a reason with pod_security baseline or privileged",
        )


def privilege_warnings(spec: FactorySpec) -> list[Problem]:
    """Each tenant excepted from `restricted` Pod Security, with what its level allows and its reason:
    allowed, but never silently (`aion plan` prints them; the policy pack refuses them unless configured)."""
    return [
        Problem(
            key_path(["tenants", t, "pod_security"]),
            f"tenant {tenant.name} runs {tenant.pod_security} pods ({POD_SECURITY_RISKS[tenant.pod_security]}); "
            f"excepted because {shown(tenant.pod_security_exception, REASON_CHARS)}",
            "warning",
        )
        for t, tenant in enumerate(spec.tenants)
        if tenant.pod_security != "restricted" and tenant.pod_security_exception
    ]


def reserved_namespace(name: str) -> str | None:
    """Why `name` may not be a tenant's namespace, or None when it may."""
    prefix = next((p for p in RESERVED_PREFIXES if name.startswith(p)), None)
    return RESERVED_PREFIXES[prefix] if prefix is not None else RESERVED_NAMESPACES.get(name)


def _check_cluster(at: list[str | int], cluster: Cluster, halls: dict[str, Hall], catalog: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    hall = halls.get(cluster.hall)
    if hall is None:
        problems.append(_bad([*at, "hall"], cluster.hall, "is not a hall of the site", halls))
    rows = [r.name for r in hall.rows] if hall else []
    racks = {r.name: [k.name for k in r.racks] for r in hall.rows} if hall else {}
    if hall and cluster.row is not None and cluster.row not in rows:
        problems.append(_bad([*at, "row"], cluster.row, f"is not a row of hall {hall.name!r}", rows))
    if cluster.kubernetes_version not in catalog.kubernetes_versions:
        problems.append(_bad([*at, "kubernetes_version"], cluster.kubernetes_version, "is not offered", catalog.kubernetes_versions))
    if cluster.cni not in catalog.cnis:
        problems.append(_bad([*at, "cni"], cluster.cni, "is not a known CNI", catalog.cnis))
    planes = [name for name, _ in catalog.control_planes_for(cluster.target)]
    if cluster.control_plane != "auto" and cluster.control_plane not in planes:
        problems.append(
            _bad([*at, "control_plane"], cluster.control_plane, f"is not a control plane for target {cluster.target}", ["auto", *planes])
        )
    try:
        ipaddress.ip_network(cluster.subnet)
    except ValueError as error:
        problems.append(Problem(key_path([*at, "subnet"]), f"{cluster.subnet!r} is not a network: {error}"))
    zones = sorted(
        {z for n in catalog.gpu_node_types.values() for z in n.zones} | {z for n in catalog.cpu_node_types.values() for z in n.zones}
    )
    # Zones are Scaleway's (`Cluster.zone`: ignored for local). Checked here, not by the Scaleway adapter: reading
    # a config refuses them, and `config.spec_from_config` sits below the targets in the import layers.
    scaleway = cluster.target == "scaleway"
    if scaleway and cluster.zone not in zones:
        problems.append(_bad([*at, "zone"], cluster.zone, "is not a known zone", zones))
        scaleway = False  # the zone is already wrong: do not blame every pool for it
    system = cluster.system_pool.node_type
    if system not in catalog.cpu_node_types:
        problems.append(_bad([*at, "system_pool", "node_type"], system, "is not a known CPU node type", catalog.cpu_node_types))
    elif scaleway and cluster.zone not in catalog.zones_of(system):
        problems.append(
            _bad(
                [*at, "system_pool", "node_type"],
                system,
                f"is not offered in zone {cluster.zone}",
                catalog.zones_of(system),
                "zones that offer it",
            )
        )
    # The system nodes must leave room for GPU nodes in the control plane (the largest, for `auto`).
    plane = cluster.control_plane if cluster.control_plane in planes else max(planes, key=lambda p: catalog.control_planes[p].max_nodes)
    room = catalog.control_planes[plane].max_nodes
    if cluster.system_pool.size >= room:
        problems.append(
            Problem(
                key_path([*at, "system_pool", "size"]),
                f"{cluster.system_pool.size} system nodes fill control plane {plane} ({room} nodes); allowed: 1 to {room - 1}",
            )
        )
    problems += _duplicates([*at, "pools"], [p.name for p in cluster.pools])
    autoscaling = [p.name for p in cluster.pools if p.autoscaling]
    if cluster.kueue.topology_aware_scheduling and autoscaling:
        # TAS places a workload on nodes that exist; without a ProvisioningRequest admission check
        # (Kueue's TAS documentation, "ClusterAutoscaler support") no pod waits, so no pool grows.
        problems.append(
            Problem(
                key_path([*at, "kueue", "topology_aware_scheduling"]),
                f"Kueue's Topology Aware Scheduling admits work only onto nodes that exist, so autoscaling pools "
                f"{', '.join(autoscaling)} would never grow; allowed: true with GPU pools of fixed size, else false",
            )
        )
    for p, pool in enumerate(cluster.pools):
        problems += _check_pool([*at, "pools", p], pool, cluster, rows if hall else None, racks, scaleway, catalog)
    return problems


def _check_pool(
    at: list[str | int],
    pool: GpuPool,
    cluster: Cluster,
    rows: list[str] | None,
    racks: dict[str, list[str]],
    scaleway: bool,
    catalog: Catalog,
) -> Iterator[Problem]:
    """`rows`: those of the cluster's hall; None when the hall itself is unknown (already refused).
    `racks`: the racks of each of those rows."""
    if pool.name == SYSTEM_POOL:
        yield Problem(key_path([*at, "name"]), "'system' is the CPU system pool's name; allowed: any other DNS label")
    node_type = catalog.gpu_node_types.get(pool.node_type)
    if node_type is None:
        yield _bad([*at, "node_type"], pool.node_type, "is not a known GPU node type", catalog.gpu_node_types)
    elif scaleway and cluster.zone not in node_type.zones:
        yield _bad([*at, "node_type"], pool.node_type, f"is not offered in zone {cluster.zone}", node_type.zones, "zones that offer it")
    # A hall without rows has nothing to place a pool in: the pool would draw from a row no level counts.
    if pool.row is not None and rows == []:
        yield Problem(
            key_path([*at, "row"]), f"{pool.row!r}: hall {cluster.hall!r} has no rows; allowed: unset (the pool draws from the hall)"
        )
    elif pool.row is not None and rows is not None and pool.row not in rows:
        yield _bad([*at, "row"], pool.row, f"is not a row of hall {cluster.hall!r}", rows)
    yield from _rack(at, pool, cluster, racks)
    yield from _kubernetes_names(at, pool)
    if pool.min_size > pool.size:
        yield Problem(key_path([*at, "min_size"]), f"{pool.min_size} is above size {pool.size}; allowed: 0 to {pool.size}")
    if pool.max_size is not None and pool.max_size < pool.size:
        yield Problem(key_path([*at, "max_size"]), f"{pool.max_size} is below size {pool.size}; allowed: {pool.size} or more")
    if node_type is None:
        return
    model = catalog.gpu_models[node_type.gpu_model]
    cap = pool.gpu_power_cap_w
    if cap is not None and not model.min_power_limit_w <= cap <= model.max_power_w:
        # nvidia-smi -pl refuses a limit outside the GPU's range: the cap DaemonSet would fail while
        # the GPUs run at full power, and the planner would have counted the cap.
        yield Problem(
            key_path([*at, "gpu_power_cap_w"]),
            f"{cap} W is outside the {node_type.gpu_model}'s power limit range; "
            f"allowed: {model.min_power_limit_w:g} to {model.max_power_w:g} W",
        )
    if pool.sharing.mig_profile is not None and node_type.gpu_model not in MIG_CAPABLE_MODELS:
        yield _bad(
            [*at, "sharing", "mig_profile"],
            pool.sharing.mig_profile,
            f"needs a MIG-capable GPU, not {node_type.gpu_model}",
            MIG_CAPABLE_MODELS,
            "GPU models with MIG",
        )


def _rack(at: list[str | int], pool: GpuPool, cluster: Cluster, racks: dict[str, list[str]]) -> Iterator[Problem]:
    """A pool's rack stands in its row (the pool's, else the cluster's)."""
    row = pool.row or cluster.row
    if pool.rack is None:
        return
    if row is None:
        yield Problem(
            key_path([*at, "rack"]), f"{pool.rack!r} needs a row to stand in; allowed: a rack with the pool's or the cluster's row set"
        )
    elif row in racks and pool.rack not in racks[row]:
        yield _bad([*at, "rack"], pool.rack, f"is not a rack of row {row!r}", racks[row])


def _kubernetes_names(at: list[str | int], pool: GpuPool) -> Iterator[Problem]:
    """The pool's labels, taints and MIG label as the API server (and Kapsule, which passes them on) validates them."""
    for key, value in pool.labels.items():
        yield from _refused([*at, "labels"], f"label key {key!r}", kube_names.qualified_name(key))
        yield from _refused([*at, "labels"], f"value {value!r} of label {key!r}", kube_names.label_value(value))
    for i, taint in enumerate(pool.taints or ()):
        yield from _refused([*at, "taints", i, "key"], f"{taint.key!r}", kube_names.qualified_name(taint.key))
        yield from _refused([*at, "taints", i, "value"], f"{taint.value!r}", kube_names.label_value(taint.value))
    if pool.sharing.mig_profile is not None:
        yield from _refused(
            [*at, "sharing", "mig_profile"], f"{pool.sharing.mig_profile!r}", kube_names.label_value(pool.sharing.mig_profile)
        )


def _refused(at: list[str | int], what: str, reasons: list[str]) -> Iterator[Problem]:
    if reasons:
        yield Problem(key_path(at), f"{what} is not valid in Kubernetes; allowed: {'; '.join(reasons)}")


def _duplicates(at: list[str | int], names: list[str]) -> Iterator[Problem]:
    for name, count in Counter(names).items():
        if count > 1:
            yield Problem(key_path(at), f"name {name!r} is used {count} times; names must be unique")


def _bad(at: list[str | int], value: object, why: str, allowed: Iterable[str], label: str = "allowed") -> Problem:
    return Problem(key_path(at), f"{value!r} {why}; {label}: {', '.join(allowed) or 'none'}")
