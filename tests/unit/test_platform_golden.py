"""Everything the platform puts in a cluster, pinned as reviewable YAML (UPDATE_GOLDEN=1 rewrites).

Each document parses and is a valid Kubernetes object: built-in kinds by the
client's models, Kueue kinds by Kueue's own CRD schemas.
"""

from typing import Any

import pytest
import yaml
from kube_validation import assert_valid
from test_golden import assert_golden

from aion_factory import FactorySpec, load_stack_file, make_plan, spec_from_config
from aion_factory.platform import power_caps, queues, tenancy
from aion_factory.platform.storage import StorageClassChoice, storage_class
from support import ROOT

STACKS = {"local": ("local", StorageClassChoice.local()), "dc5-train-1": ("train-1", StorageClassChoice.scaleway("sbs-15k"))}


def platform_objects(spec: FactorySpec, cluster: str, storage: StorageClassChoice) -> list[dict[str, Any]]:
    plan = make_plan(spec)
    objects = [storage_class(storage)]
    for tenant in tenancy.tenants_on(spec, cluster):
        objects += tenancy.tenant_objects(tenant, tenancy.tenant_gpus(plan, tenant.name, cluster))
    objects += queues.priority_classes() + queues.workload_priority_classes()
    objects += queues.resource_flavors(spec, plan, cluster) + queues.cohorts(spec, cluster)
    objects += [o for pair in queues.queues_for(spec, plan, cluster) for o in pair]
    objects += [power_caps.system_namespace(), *power_caps.power_cap_daemonsets(spec, plan, cluster)]
    return objects


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
    text = dump(platform_objects(load_stack_file(ROOT / f"stacks/Pulumi.{stack}.yaml"), cluster, storage))
    assert_golden(f"platform-{stack}.yaml", text)
    # Built-in kinds first: the Kueue ones skip the rest when Kueue's CRDs are not on this machine.
    for obj in sorted(yaml.safe_load_all(text), key=lambda o: o["apiVersion"].startswith("kueue.")):
        assert_valid(obj)


def test_time_slicing_config(config: dict[str, Any]):
    config["clusters"][0]["pools"][0]["sharing"] = {"time_slicing_replicas": 2}
    config["clusters"][0]["pools"][1]["sharing"] = {"time_slicing_replicas": 8}
    config_map = power_caps.time_slicing_config(spec_from_config(config), "c")
    assert config_map is not None
    assert_golden("gpu-time-slicing.yaml", dump([config_map]))
    assert_valid(config_map)
    for key, value in config_map["data"].items():
        assert yaml.safe_load(value)["sharing"]["timeSlicing"]["resources"][0]["replicas"] in (2, 8), key
