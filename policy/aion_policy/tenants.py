"""Every tenant namespace is fenced: a ResourceQuota that caps GPUs, and a default-deny NetworkPolicy;
and it enforces `restricted` Pod Security unless the pack's config allows the tenant more."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aion_factory.labels import GPU_RESOURCE, POD_SECURITY
from aion_factory.platform.tenancy import TENANT_LABEL

from .view import UNKNOWN, Finding, Seen

NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
GPU_QUOTA_KEY = f"requests.{GPU_RESOURCE}"
ENFORCE = f"{POD_SECURITY}/enforce"
# Pod Security levels, least permissive first. A namespace without an enforce label runs at the
# API server's default, `privileged` unless its admission configuration says otherwise.
LEVELS = ("restricted", "baseline", "privileged")


def isolation_findings(resources: Iterable[Seen]) -> list[Finding]:
    """A finding per tenant namespace (label aion-factory.io/tenant) that lacks either fence.

    Objects count for a namespace when they name it and go through the same provider
    (two clusters of one stack may both have a namespace `kyutai`).
    """
    resources = list(resources)
    findings = []
    for ns in resources:
        if ns.type != NAMESPACE or not _is_tenant(ns):
            continue
        name = ns.value("metadata", "name")
        if name is UNKNOWN or name is None:
            continue  # an auto-named namespace: nothing to match until it exists
        inside = [r for r in resources if r.provider_urn == ns.provider_urn and r.value("metadata", "namespace") == name]
        if not any(r.type == QUOTA and _caps_gpus(r) for r in inside):
            findings.append(Finding(f"tenant namespace {name} has no ResourceQuota with a hard {GPU_QUOTA_KEY}", ns.urn))
        if not any(r.type == NETWORK_POLICY and is_default_deny(r) for r in inside):
            findings.append(
                Finding(
                    f"tenant namespace {name} has no default-deny NetworkPolicy "
                    "(empty podSelector, policyTypes Ingress and Egress, no rules)",
                    ns.urn,
                )
            )
    return findings


def is_default_deny(policy: Seen) -> bool:
    spec = policy.value("spec")
    if not isinstance(spec, dict):
        return False
    selector = spec.get("podSelector")
    selects_all = isinstance(selector, dict) and not selector.get("matchLabels") and not selector.get("matchExpressions")
    types = spec.get("policyTypes")
    both = isinstance(types, list) and {"Ingress", "Egress"} <= set(types)
    return selects_all and both and not spec.get("ingress") and not spec.get("egress")


def _is_tenant(ns: Seen) -> bool:
    labels = ns.value("metadata", "labels")
    return isinstance(labels, dict) and TENANT_LABEL in labels


def _caps_gpus(quota: Seen) -> bool:
    hard = quota.value("spec", "hard")
    return isinstance(hard, dict) and hard.get(GPU_QUOTA_KEY) not in (None, UNKNOWN)


def pod_security_findings(resources: Iterable[Seen], allowed: Mapping[str, str]) -> list[Finding]:
    """A finding per tenant namespace that enforces a level above `restricted` the pack's config does not allow it.

    `allowed`: tenant namespace -> the most permissive level it may run (the pack's config, kept by whoever
    reviews tenants, apart from the stack that asks): the spec's `pod_security_exception` says why; this says yes.
    """
    findings = []
    for ns in resources:
        if ns.type != NAMESPACE or not _is_tenant(ns):
            continue
        name, labels = ns.value("metadata", "name"), ns.value("metadata", "labels")
        level = labels.get(ENFORCE, "privileged") if isinstance(labels, dict) else UNKNOWN
        if name is UNKNOWN or level is UNKNOWN or level == "restricted":
            continue
        permitted = allowed.get(name, "restricted") if isinstance(name, str) else "restricted"
        if level in LEVELS and permitted in LEVELS and LEVELS.index(level) <= LEVELS.index(permitted):
            continue
        findings.append(
            Finding(
                f"tenant namespace {name} enforces Pod Security {level!r}, which the pack's config does not allow it "
                f"(allowed: {permitted}); once reviewed, allow it with tenant-pod-security: {{allowed: {{{name}: {level}}}}}",
                ns.urn,
            )
        )
    return findings
