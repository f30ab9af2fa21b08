"""Rules that need the catalog or span the spec. Each failure names its key path."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Iterator

from . import kube_names
from .catalog import Catalog
from .errors import Problem
from .keys import key_path
from .phases import phase_problems
from .spec import Cluster, FactorySpec, GpuPool, Hall

MIG_CAPABLE_MODELS = ("H100-SXM", "H100-PCIe")
# A tenant's name is its namespace: these already exist, or belong to the platform.
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "kueue-system", "aion-system")
# Kubernetes' own groups (system:masters, system:authenticated, system:serviceaccounts...): a tenant
# group among them would hand the tenant's rights to every member, every user of the cluster for some.
SYSTEM_GROUP_PREFIX = "system:"


def check_spec(spec: FactorySpec, catalog: Catalog) -> list[Problem]:
    problems = list(_duplicates(["site", "halls"], [h.name for h in spec.site.halls]))
    for h, hall in enumerate(spec.site.halls):
        problems += _duplicates(["site", "halls", h, "rows"], [r.name for r in hall.rows])
    problems += _duplicates(["clusters"], [c.name for c in spec.clusters])
    problems += _duplicates(["tenants"], [t.name for t in spec.tenants])
    halls = {hall.name: hall for hall in spec.site.halls}
    for c, cluster in enumerate(spec.clusters):
        problems += _check_cluster(["clusters", c], cluster, halls, catalog)
    cluster_names = [c.name for c in spec.clusters]
    for t, tenant in enumerate(spec.tenants):
        if tenant.name in RESERVED_NAMESPACES:
            problems.append(
                Problem(
                    key_path(["tenants", t, "name"]),
                    f"{tenant.name!r} is a reserved namespace; not allowed: {', '.join(RESERVED_NAMESPACES)}",
                )
            )
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
    return problems + phase_problems(spec)


def network_policy_warnings(spec: FactorySpec, catalog: Catalog) -> list[Problem]:
    """Kapsule clusters with tenants whose CNI does not enforce NetworkPolicy: their fences are paper.
    Warnings, not errors: a cluster may run a policy engine of its own beside the CNI."""
    warnings = []
    for c, cluster in enumerate(spec.clusters):
        tenants = [t.name for t in spec.tenants if cluster.name in t.clusters]
        if cluster.target == "scaleway" and tenants and cluster.cni not in catalog.network_policy_cnis:
            warnings.append(
                Problem(
                    key_path(["clusters", c, "cni"]),
                    f"{cluster.cni!r} does not enforce NetworkPolicy, so tenants {', '.join(tenants)} are not fenced "
                    f"from each other's pods; CNIs that do: {', '.join(catalog.network_policy_cnis)}",
                    "warning",
                )
            )
    return warnings


def _check_cluster(at: list[str | int], cluster: Cluster, halls: dict[str, Hall], catalog: Catalog) -> list[Problem]:
    problems: list[Problem] = []
    hall = halls.get(cluster.hall)
    if hall is None:
        problems.append(_bad([*at, "hall"], cluster.hall, "is not a hall of the site", halls))
    rows = [r.name for r in hall.rows] if hall else []
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
    for p, pool in enumerate(cluster.pools):
        problems += _check_pool([*at, "pools", p], pool, cluster, rows, scaleway, catalog)
    return problems


def _check_pool(
    at: list[str | int], pool: GpuPool, cluster: Cluster, rows: list[str], scaleway: bool, catalog: Catalog
) -> Iterator[Problem]:
    if pool.name == "system":
        yield Problem(key_path([*at, "name"]), "'system' is the CPU system pool's name; allowed: any other DNS label")
    node_type = catalog.gpu_node_types.get(pool.node_type)
    if node_type is None:
        yield _bad([*at, "node_type"], pool.node_type, "is not a known GPU node type", catalog.gpu_node_types)
    elif scaleway and cluster.zone not in node_type.zones:
        yield _bad([*at, "node_type"], pool.node_type, f"is not offered in zone {cluster.zone}", node_type.zones, "zones that offer it")
    if pool.row is not None and rows and pool.row not in rows:
        yield _bad([*at, "row"], pool.row, f"is not a row of hall {cluster.hall!r}", rows)
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
