"""Object storage lifecycle rules, from the spec. Pure, no Pulumi at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..spec import Bucket

if TYPE_CHECKING:
    from pulumiverse_scaleway.object import BucketLifecycleRuleArgsDict

CHECKPOINT_PREFIX = "checkpoints/"
COLD_STORAGE_CLASS = "GLACIER"


def lifecycle_rules(bucket: Bucket) -> list[BucketLifecycleRuleArgsDict]:
    """Checkpoints go cold after N days; old versions of any object expire after M days.

    A rule only exists where the spec sets its number, and old versions only
    exist in a versioned bucket.
    """
    rules: list[BucketLifecycleRuleArgsDict] = []
    if bucket.checkpoint_glacier_after_days is not None:
        rules.append(
            {
                "id": "checkpoints-to-glacier",
                "enabled": True,
                "prefix": CHECKPOINT_PREFIX,
                "transitions": [{"days": bucket.checkpoint_glacier_after_days, "storage_class": COLD_STORAGE_CLASS}],
            }
        )
    if bucket.versioning and bucket.expire_noncurrent_after_days is not None:
        rules.append(
            {
                "id": "expire-noncurrent-versions",
                "enabled": True,
                "noncurrent_version_expiration": {"noncurrent_days": bucket.expire_noncurrent_after_days},
            }
        )
    return rules
