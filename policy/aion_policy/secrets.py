"""A kubeconfig is a credential: wherever the stack holds one, it must be a secret.

Checked: stack outputs and component outputs whose name mentions a kubeconfig,
a Kubernetes provider's `kubeconfig`, a Kapsule cluster's `kubeconfigs`. A
kubeconfig given as a file path (the local stack) is no credential and passes.
"""

from __future__ import annotations

from collections.abc import Iterable

from .view import STACK_TYPE, UNKNOWN, Finding, Seen

KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
KAPSULE_CLUSTER = "scaleway:kubernetes/cluster:Cluster"


def kubeconfig_findings(resources: Iterable[Seen]) -> list[Finding]:
    findings = []
    for resource in resources:
        for key in _kubeconfig_keys(resource):
            if resource.is_secret(key) or not _may_hold_credentials(resource.value(key)):
                continue
            where = "stack output" if resource.type == STACK_TYPE else f"{resource.type} {resource.name}: property"
            findings.append(Finding(f"{where} {key} holds a kubeconfig in plain text: wrap it in pulumi.Output.secret", resource.urn))
    return findings


def _kubeconfig_keys(resource: Seen) -> list[str]:
    if resource.type == KAPSULE_CLUSTER:
        return ["kubeconfigs"] if "kubeconfigs" in resource.props else []
    return [key for key in resource.props if "kubeconfig" in key.lower()]


def _may_hold_credentials(value: object) -> bool:
    """Anything but a file path (or nothing): a document, a structure, or a value not known yet."""
    if value is None:
        return False
    if value is UNKNOWN:
        return True  # unknown now, a kubeconfig after `up`: it has to be declared secret up front
    if isinstance(value, str):
        return "\n" in value or "clusters" in value
    return True
