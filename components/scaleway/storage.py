"""ClusterStorage: the object storage bucket for datasets and checkpoints, and a shared file system."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumiverse_scaleway as scaleway
from pulumiverse_scaleway import object as object_storage

from ..spec import Storage
from .naming import child
from .storage_inputs import lifecycle_rules


@dataclass(frozen=True)
class StorageArgs:
    storage: Storage
    display_name: str  # the file system's name in the Scaleway console
    region: str
    tags: list[str]
    bucket_tags: dict[str, str]


class ClusterStorage(pulumi.ComponentResource):
    """What the spec's `storage` asks for outside the cluster.

    The bucket takes an auto-generated name (Pulumi adds a random suffix): bucket
    names are shared by every Scaleway customer of a region, so a fixed one could
    be taken. Read it from `bucket_name`. The in-cluster default StorageClass
    (`storage.default_class`) is applied by the platform, not here.
    """

    bucket: object_storage.Bucket | None
    filesystem: scaleway.FileFilesystem | None
    bucket_name: pulumi.Output[str | None]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aion:scaleway:Storage", name, None, opts)
        parented = pulumi.ResourceOptions(parent=self)
        spec = args.storage
        self.bucket = None
        if spec.bucket.enabled:
            self.bucket = object_storage.Bucket(
                child(name, "bucket"),
                region=args.region,
                versioning={"enabled": spec.bucket.versioning},
                lifecycle_rules=lifecycle_rules(spec.bucket),
                tags=args.bucket_tags,
                opts=parented,
            )
        self.filesystem = None
        if spec.filesystem_size_gb is not None:
            self.filesystem = scaleway.FileFilesystem(
                child(name, "fs"),
                name=args.display_name,
                size_in_gb=spec.filesystem_size_gb,
                region=args.region,
                tags=args.tags,
                opts=parented,
            )
        self.bucket_name = self.bucket.name if self.bucket else pulumi.Output.from_input(None)
        self.register_outputs({"bucket_name": self.bucket_name})
