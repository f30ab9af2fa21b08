"""Every object the platform creates says what it is (Kubernetes' recommended labels), and every
namespace reads its Pod Security levels at the cluster's Kubernetes minor."""

import copy
import re
from typing import Any

import pytest

from aion_factory import __version__, kube_names, load_stack_file, spec_from_config
from aion_factory.labels import label_value, pod_security_version
from aion_factory.platform import StorageClassChoice, platform_manifest, power_caps, queues, tenancy, tenant_admission
from aion_factory.platform.manifest import PlatformManifest, with_platform_labels
from support import ROOT, view_of

STACKS = {"local": "local", "dc5-train-1": "train-1"}
MODES = ("enforce", "audit", "warn")
# A qualified name, optionally behind a DNS subdomain prefix (what the API server allows as a label key).
LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)


def manifest_of(stack: str) -> tuple[Any, PlatformManifest]:
    view = view_of(load_stack_file(ROOT / f"stacks/Pulumi.{stack}.yaml"), STACKS[stack])
    return view, platform_manifest(view, StorageClassChoice.local())


def by_component(manifest: PlatformManifest) -> dict[str, list[dict[str, Any]]]:
    """What each object is there for, from the group that holds it."""
    return {
        "admission": manifest.admission_policies,
        "tenant": [obj for objects in manifest.tenants.values() for obj in objects] + manifest.tenant_policies,
        "quotas": manifest.priority_classes + manifest.flavors_and_cohorts + [obj for pair in manifest.queues for obj in pair],
        "power-cap": manifest.power_caps,
        "gpu-sharing": [manifest.time_slicing] if manifest.time_slicing else [],
        "storage": [manifest.storage_class] if manifest.storage_class else [],
    }


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_every_object_carries_the_recommended_labels(stack: str):
    view, manifest = manifest_of(stack)
    groups = by_component(manifest)
    assert sum(len(objects) for objects in groups.values()) == len(manifest.objects())
    assert groups["admission"] and groups["tenant"] and groups["quotas"] and groups["power-cap"] and groups["storage"]
    for component, objects in groups.items():
        for obj in objects:
            labels = obj["metadata"]["labels"]
            # The power-cap DaemonSet's own name, which its (immutable) selector holds.
            name = "gpu-power-cap" if obj["kind"] == "DaemonSet" else "aion-platform"
            assert {key: value for key, value in labels.items() if key.startswith("app.kubernetes.io/")} == {
                "app.kubernetes.io/name": name,
                "app.kubernetes.io/instance": view.name,
                "app.kubernetes.io/version": __version__,
                "app.kubernetes.io/component": component,
                "app.kubernetes.io/part-of": "aion-factory",
                "app.kubernetes.io/managed-by": "pulumi",
            }, (obj["kind"], obj["metadata"]["name"])
            for key, value in labels.items():
                assert LABEL_KEY.match(key) and len(key.rsplit("/", 1)[-1]) <= 63, key
                assert kube_names.label_value(value) == [], (key, value)  # apimachinery's rule, 63 characters at most


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_labels_go_on_metadata_only_and_keep_the_builders_own(stack: str):
    """A DaemonSet's selector and pod template are as built (a selector cannot change in place), and
    no builder's own label is overwritten."""
    view, manifest = manifest_of(stack)
    built = tenant_admission.admission_policies(view)
    built += [obj for tenant in view.tenants for obj in tenancy.tenant_objects(tenant)] + tenancy.service_account_token_policy()
    built += queues.priority_classes() + queues.workload_priority_classes() + queues.topologies(view)
    built += queues.resource_flavors(view) + queues.cohorts(view)
    built += [obj for pair in queues.queues_for(view) for obj in pair]
    built += [power_caps.system_namespace(), *power_caps.power_cap_objects(view)]
    *labelled, storage = manifest.objects()
    assert storage["kind"] == "StorageClass"
    for before, after in zip(built, labelled, strict=True):
        own = before["metadata"].get("labels", {})
        assert {key: after["metadata"]["labels"][key] for key in own} == own
        assert {**after, "metadata": {**after["metadata"], "labels": own}} == {**before, "metadata": {**before["metadata"], "labels": own}}
    daemonsets = [obj for obj in manifest.power_caps if obj["kind"] == "DaemonSet"]
    assert len(daemonsets) == len(view.gpu_pools)  # every GPU pool: capped, or held at its default limit
    for daemonset, pool in zip(daemonsets, view.gpu_pools, strict=True):
        selector = {
            "app.kubernetes.io/name": "gpu-power-cap",
            "app.kubernetes.io/part-of": "aion-factory",
            "aion-factory.io/pool": pool.name,
        }
        assert daemonset["spec"]["selector"]["matchLabels"] == daemonset["spec"]["template"]["metadata"]["labels"] == selector


def test_the_device_plugins_time_slicing_config_is_gpu_sharing(config: dict[str, Any]):
    config["clusters"][0]["pools"][0]["sharing"] = {"time_slicing_replicas": 2}
    manifest = platform_manifest(view_of(spec_from_config(config), "c"), None)
    assert manifest.time_slicing is not None and manifest.storage_class is None
    labels = manifest.time_slicing["metadata"]["labels"]
    assert (labels["app.kubernetes.io/component"], labels["app.kubernetes.io/instance"]) == ("gpu-sharing", "c")


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_tenant_namespaces_pin_pod_security_to_the_clusters_minor(stack: str):
    view, manifest = manifest_of(stack)
    assert view.settings.kubernetes_version == "1.35"
    namespaces = [objects[0] for objects in manifest.tenants.values()] + manifest.power_caps[:1]
    assert [ns["kind"] for ns in namespaces] == ["Namespace"] * (len(view.tenants) + 1)
    for ns, level in zip(namespaces, [t.pod_security for t in view.tenants] + ["privileged"], strict=True):
        labels = ns["metadata"]["labels"]
        for mode in MODES:
            assert (labels[f"pod-security.kubernetes.io/{mode}"], labels[f"pod-security.kubernetes.io/{mode}-version"]) == (level, "v1.35")


def test_another_minor_pins_its_own_policy_version(config: dict[str, Any]):
    config["clusters"][0]["kubernetes_version"] = "1.33"
    manifest = platform_manifest(view_of(spec_from_config(config), "c"), None)
    labels = manifest.tenants["t"][0]["metadata"]["labels"]
    assert {mode: labels[f"pod-security.kubernetes.io/{mode}-version"] for mode in MODES} == dict.fromkeys(MODES, "v1.33")


def test_the_local_stack_pins_the_minor_its_control_plane_runs():
    """The local control plane runs the toolchain's Kubernetes (scripts/versions.env), whatever the
    stack declares: the two must name one minor, or the local stack tests a policy it never runs."""
    env = dict(line.split("=", 1) for line in (ROOT / "scripts/versions.env").read_text().splitlines() if re.match(r"^[A-Z_]+=", line))
    view, _ = manifest_of("local")
    assert pod_security_version(env["KUBERNETES_VERSION"]) == pod_security_version(view.settings.kubernetes_version)


@pytest.mark.parametrize(
    ("version", "minor"), [("1.35", "v1.35"), ("1.35.4", "v1.35"), ("v1.35.4", "v1.35"), ("1.9", "v1.9"), ("2.0.1", "v2.0")]
)
def test_pod_security_version_is_the_minor(version: str, minor: str):
    assert pod_security_version(version) == minor


@pytest.mark.parametrize("version", ["latest", "1", "1.35.x", "", "1.35-rc"])
def test_a_version_without_a_minor_is_refused(version: str):
    with pytest.raises(ValueError, match=r"is not major\.minor"):
        pod_security_version(version)


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.1.0", "0.1.0"), ("1.0.0+local.abc", "1.0.0_local.abc"), ("1.0.dev0+g1a2b", "1.0.dev0_g1a2b"), ("-x-", "x"), ("a" * 70, "a" * 63)],
)
def test_label_value_makes_any_text_a_valid_label_value(text: str, value: str):
    assert label_value(text) == value
    assert kube_names.label_value(value) == []


def test_labelling_copies_rather_than_edits_what_the_builders_return():
    view, _ = manifest_of("local")
    namespace = tenancy.namespace(view.tenants[0])
    before = copy.deepcopy(namespace)
    labelled = with_platform_labels(namespace, view, "tenant")
    assert namespace == before
    assert labelled["metadata"]["labels"]["app.kubernetes.io/instance"] == "local"
