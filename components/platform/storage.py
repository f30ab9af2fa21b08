"""The cluster's default StorageClass, as an explicit choice of the caller.

Kapsule already ships classes named `sbs-5k` and `sbs-15k`, so ours carries its
own name; Kubernetes gives PVCs without a class the most recently created
default class, which is ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SCALEWAY_CSI = "csi.scaleway.com"
# Static volumes only: accepted by any API server, provisions nothing (the local control plane has no CSI).
NO_PROVISIONER = "kubernetes.io/no-provisioner"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
# The Scaleway CSI driver gives 5,000 IOPS unless the class asks for more (scaleway/scaleway-csi README).
_SBS_IOPS = {"sbs-5k": "5000", "sbs-15k": "15000"}


@dataclass(frozen=True)
class StorageClassChoice:
    name: str
    provisioner: str
    parameters: dict[str, str] = field(default_factory=dict)
    allow_volume_expansion: bool = False

    @classmethod
    def scaleway(cls, default_class: Literal["sbs-5k", "sbs-15k"]) -> StorageClassChoice:
        """Block Storage through the Scaleway CSI driver, at the IOPS of `storage.default_class`."""
        return cls(f"aion-{default_class}", SCALEWAY_CSI, {"iops": _SBS_IOPS[default_class]}, allow_volume_expansion=True)

    @classmethod
    def local(cls, provisioner: str = NO_PROVISIONER) -> StorageClassChoice:
        """A class any local API server accepts; pass `rancher.io/local-path` on kind."""
        return cls("aion-local", provisioner)


def storage_class(choice: StorageClassChoice) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": choice.name, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": choice.provisioner,
        "reclaimPolicy": "Delete",
        # Block volumes are zonal: bind once the pod's node (and zone) is known.
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": choice.allow_volume_expansion,
    }
    if choice.parameters:
        obj["parameters"] = dict(choice.parameters)
    return obj
