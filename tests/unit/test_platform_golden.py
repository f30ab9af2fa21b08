"""Everything the platform puts in a cluster (the manifest ClusterPlatform registers), pinned as reviewable YAML
(UPDATE_GOLDEN=1 rewrites).

Each document parses and is a valid Kubernetes object: built-in kinds by the
client's models, Kueue kinds by Kueue's own CRD schemas.
"""

from typing import Any

import pytest
import yaml
from kube_validation import assert_valid
from test_golden import assert_golden

from aion_factory import load_stack_file, spec_from_config
from aion_factory.platform import StorageClassChoice, platform_manifest, power_caps
from support import ROOT, view_of

STACKS = {"local": ("local", StorageClassChoice.local()), "dc5-train-1": ("train-1", StorageClassChoice.scaleway("sbs-15k"))}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (scripts, device plugin configs) as blocks, so reviewers read them as written."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def dump(objects: list[dict[str, Any]]) -> str:
    return yaml.dump_all(objects, Dumper=_Dumper, sort_keys=False, width=140)


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_platform_manifests(stack: str):
    cluster, storage = STACKS[stack]
    view = view_of(load_stack_file(ROOT / f"stacks/Pulumi.{stack}.yaml"), cluster)
    text = dump(platform_manifest(view, storage).objects())
    assert_golden({f"platform-{stack}.yaml": text})
    # Built-in kinds first: the Kueue ones skip the rest when Kueue's CRDs are not on this machine.
    for obj in sorted(yaml.safe_load_all(text), key=lambda o: o["apiVersion"].startswith("kueue.")):
        assert_valid(obj)


def test_time_slicing_config(config: dict[str, Any]):
    config["clusters"][0]["pools"][0]["sharing"] = {"time_slicing_replicas": 2}
    config["clusters"][0]["pools"][1]["sharing"] = {"time_slicing_replicas": 8}
    config_map = power_caps.time_slicing_config(view_of(spec_from_config(config), "c"))
    assert config_map is not None
    assert_golden({"gpu-time-slicing.yaml": dump([config_map])})
    assert_valid(config_map)
    for key, value in config_map["data"].items():
        assert yaml.safe_load(value)["sharing"]["timeSlicing"]["resources"][0]["replicas"] in (2, 8), key
