"""Plain Kubernetes objects (dicts) into Pulumi resources: the one place that does it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from importlib.metadata import version
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..spec import KUEUE_NAMESPACE
from .install import KueueInstall

Object = dict[str, Any]
# Drift repair: at the next up, what the stack declares wins over an edit by hand. Server-side apply
# refuses to take back a field another manager (kubectl edit, patch, scale) changed unless forced;
# pulumi-kubernetes forces it for objects with this annotation (provider/pkg/await/await.go, patchForce).
FORCE_APPLY = {"pulumi.com/patchForce": "true"}
# The provider plugin must match the SDK's version exactly, as the typed classes ask for.
_PLUGIN_VERSION = version("pulumi-kubernetes")

# Built-in kinds go through their typed classes; nested fields pass through in camelCase.
_TYPED: dict[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): k8s.admissionregistration.v1.ValidatingAdmissionPolicy,
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "LimitRange"): k8s.core.v1.LimitRange,
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ResourceQuota"): k8s.core.v1.ResourceQuota,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("apps/v1", "DaemonSet"): k8s.apps.v1.DaemonSet,
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): k8s.apiextensions.v1.CustomResourceDefinition,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("scheduling.k8s.io/v1", "PriorityClass"): k8s.scheduling.v1.PriorityClass,
    ("storage.k8s.io/v1", "StorageClass"): k8s.storage.v1.StorageClass,
}


class CustomObject(pulumi.CustomResource):
    """An instance of a CRD with any top-level fields. The SDK's CustomResource only
    carries `spec` (pulumi/pulumi-kubernetes#2363), and a WorkloadPriorityClass has `value`."""

    def __init__(self, resource_name: str, obj: Object, opts: pulumi.ResourceOptions | None = None) -> None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=_PLUGIN_VERSION))
        super().__init__(f"kubernetes:{obj['apiVersion']}:{obj['kind']}", resource_name, dict(obj), opts)


def create(name: str, obj: Object, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    meta = obj["metadata"]
    obj = {**obj, "metadata": {**meta, "annotations": {**meta.get("annotations", {}), **FORCE_APPLY}}}
    typed = _TYPED.get((obj["apiVersion"], obj["kind"]))
    if typed is None:
        return CustomObject(name, obj, opts)
    fields = {_snake(key): value for key, value in obj.items() if key not in ("apiVersion", "kind")}
    return typed(name, opts=opts, **fields)


def resource_name(prefix: str, obj: Object) -> str:
    """Unique within a stack: prefix, kind, then the object's namespace and name."""
    meta = obj["metadata"]
    parts = [prefix, obj["kind"].lower(), meta.get("namespace"), meta["name"]]
    return "-".join(p for p in parts if p)


def create_all(prefix: str, objects: Sequence[Object], opts: pulumi.ResourceOptions) -> list[pulumi.CustomResource]:
    return [create(resource_name(prefix, obj), obj, opts) for obj in objects]


def install_kueue(prefix: str, install: KueueInstall, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """What Kueue's objects wait for: its Helm release, or nothing where the cluster already runs Kueue."""
    if install.mode == "present":
        return []
    release = k8s.helm.v3.Release(
        f"{prefix}-kueue",
        name="kueue",
        chart=install.chart,
        version=install.version,
        values=install.values(),
        namespace=KUEUE_NAMESPACE,
        create_namespace=True,
        opts=opts,
    )
    return [release]


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
