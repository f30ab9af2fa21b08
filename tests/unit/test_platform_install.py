"""Kueue's installation and configuration: the same admission policy on every target, from the spec."""

from pathlib import Path

import pytest
import yaml
from kube_validation import kueue_crds

from aion_factory import load_stack_file, make_plan, spec_from_config
from aion_factory.devstack import kueue as local_kueue
from aion_factory.devstack.kind import main as kind_main
from aion_factory.errors import ConfigError
from aion_factory.platform import KueueInstall
from aion_factory.platform.install import CHART_LISTENERS, helm_values
from aion_factory.platform.kueue_config import THROUGHPUT, admission_policy
from aion_factory.spec import Kueue
from aion_factory.view import UnknownCluster, cluster_view
from support import MINIMAL, ROOT

PORTS = {"kueue-health": 18081, "kueue-webhook": 19443}
TUNED = Kueue(integrations=("batch/job", "jobset.x-k8s.io/jobset"), fair_sharing=True, manager_cpu_millicores=2000, manager_memory_mib=4096)


def chart_configuration(settings: Kueue) -> dict:
    return yaml.safe_load(helm_values(settings)["managerConfig"]["controllerManagerConfigYaml"])


def test_helm_pins_the_chart_version_and_present_installs_nothing():
    assert (KueueInstall.helm(Kueue()).mode, KueueInstall.helm(Kueue()).version) == ("helm", "0.17.0")
    assert (KueueInstall.present().mode, KueueInstall.present().version) == ("present", "0.17.0")


def test_the_charts_values_carry_the_specs_integrations_fair_sharing_and_resources():
    config = chart_configuration(TUNED)
    # The spec's job kinds, then the pod-based integrations, always on.
    assert config["integrations"] == {"frameworks": ["batch/job", "jobset.x-k8s.io/jobset", "pod", "deployment", "statefulset"]}
    assert config["fairSharing"] == {"preemptionStrategies": ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]}
    assert config["manageJobsWithoutQueueName"] is True
    resources = helm_values(TUNED)["controllerManager"]["manager"]["resources"]
    assert resources == {"requests": {"cpu": "2000m", "memory": "4096Mi"}, "limits": {"memory": "4096Mi"}}
    assert "fairSharing" not in chart_configuration(Kueue())


def test_locally_and_on_a_chart_kueue_admits_alike_only_the_listeners_differ():
    local = local_kueue.configuration(TUNED, PORTS, Path("/certs"))
    chart = chart_configuration(TUNED)
    policy = admission_policy(TUNED)
    assert {key: local[key] for key in policy} == {key: chart[key] for key in policy} == policy
    differing = {key for key in local.keys() | chart.keys() if local.get(key) != chart.get(key)}
    assert differing <= {*CHART_LISTENERS, "internalCertManagement", "featureGates"}
    assert local["webhook"] == {"host": "127.0.0.1", "port": 19443, "certDir": "/certs"}


def test_kueue_manages_the_tenant_namespaces_only_and_never_the_systems_own():
    selector = chart_configuration(Kueue())["managedJobsNamespaceSelector"]
    assert selector == {
        "matchExpressions": [
            {"key": "aion-factory.io/tenant", "operator": "Exists"},
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "kueue-system", "aion-system"]},
        ]
    }
    # A pod's request for what no ClusterQueue covers does not leave it waiting forever.
    assert chart_configuration(Kueue())["resources"] == {"excludeResourcePrefixes": ["ephemeral-storage", "hugepages-"]}


def test_locally_each_workload_webhook_sees_the_managed_namespaces_and_kube_system_is_never_one():
    crds = kueue_crds()
    if crds is None:
        pytest.skip("Kueue's module not found (scripts/bootstrap-toolchain.sh fetches it)")
    module = crds.parents[3]
    configurations = local_kueue.webhook_configurations(module, 19443, b"ca")
    hooks = {hook["name"]: hook for configuration in configurations for hook in configuration["webhooks"]}
    workloads = {"mpod.kb.io", "vpod.kb.io", "mdeployment.kb.io", "vdeployment.kb.io", "mstatefulset.kb.io", "vstatefulset.kb.io"}
    workloads |= {"mjob.kb.io", "vjob.kb.io"}
    assert workloads <= hooks.keys()
    selector = admission_policy(Kueue())["managedJobsNamespaceSelector"]
    assert all(hooks[name]["namespaceSelector"] == selector for name in workloads)
    # Kueue's own kinds are cluster-wide or in any namespace: no selector there, as upstream.
    assert "namespaceSelector" not in hooks["mworkload.kb.io"]
    # Nothing for kinds this control plane does not have (the manager would not answer for them).
    assert not [name for name in hooks if name.startswith(("mjobset", "mpytorchjob", "mraycluster"))]
    assert all(hook["clientConfig"]["url"].startswith("https://127.0.0.1:19443/") for hook in hooks.values())


def test_on_a_chart_each_workload_webhook_takes_the_managed_namespaces_from_the_configuration():
    crds = kueue_crds()
    if crds is None:
        pytest.skip("Kueue's module not found (scripts/bootstrap-toolchain.sh fetches it)")
    template = (crds.parents[3] / "charts/kueue/templates/webhook/manifests.yaml").read_text()
    for hook in ("mpod", "vpod", "mdeployment", "vdeployment", "mstatefulset", "vstatefulset", "mjob", "vjob"):
        section = template.split(f"name: {hook}.kb.io", 1)[1].split("rules:", 1)[0]
        # What the values give (`admission_policy`), so the chart's webhooks fence what its manager does.
        assert "toYaml $managerConfig.managedJobsNamespaceSelector" in section, hook


def test_the_chart_listeners_and_throughput_are_the_charts_own_defaults():
    crds = kueue_crds()
    if crds is None:
        pytest.skip("Kueue's module not found (scripts/bootstrap-toolchain.sh fetches it)")
    values = yaml.safe_load((crds.parents[3] / "charts/kueue/values.yaml").read_text())
    default = yaml.safe_load(values["managerConfig"]["controllerManagerConfigYaml"])
    assert {key: default[key] for key in CHART_LISTENERS} == CHART_LISTENERS
    # Replacing the chart's configuration keeps its throughput, and the local manager runs with it too.
    assert {key: default[key] for key in THROUGHPUT} == THROUGHPUT
    local = local_kueue.configuration(Kueue(), PORTS, Path("/certs"))
    assert {key: local[key] for key in THROUGHPUT} == {key: chart_configuration(Kueue())[key] for key in THROUGHPUT} == THROUGHPUT


def test_a_running_local_kueue_is_restarted_only_when_its_settings_change(tmp_path: Path):
    (tmp_path / "kueue-config.yaml").write_text(yaml.safe_dump(local_kueue.configuration(Kueue(), PORTS, tmp_path / "kueue-certs")))
    assert local_kueue.config_current(tmp_path, Kueue(), PORTS)
    assert not local_kueue.config_current(tmp_path, TUNED, PORTS)
    assert not local_kueue.config_current(tmp_path / "elsewhere", Kueue(), PORTS)


def test_kueue_settings_outside_what_is_allowed_are_refused_by_key():
    config = {**MINIMAL, "clusters": [{**MINIMAL["clusters"][0], "kueue": {"integrations": ["pod"], "manager_memory_mib": 64}}]}
    with pytest.raises(ConfigError) as refused:
        spec_from_config(config)
    message = str(refused.value)
    assert "aion:clusters[0].kueue.integrations[0]" in message and "'pod'" in message and "batch/job" in message
    assert "aion:clusters[0].kueue.manager_memory_mib" in message and "256" in message


def test_kind_gets_the_chart_values_of_the_local_stack(capsys: pytest.CaptureFixture[str]):
    assert kind_main([str(ROOT / "stacks/Pulumi.local.yaml"), "--kueue-values"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed == helm_values(load_stack_file(ROOT / "stacks/Pulumi.local.yaml").clusters[0].kueue)


def test_a_view_of_an_unknown_cluster_names_the_clusters_there_are():
    spec = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
    with pytest.raises(UnknownCluster, match="cluster 'nope' is not in the spec; clusters: local"):
        cluster_view(spec, make_plan(spec), "nope")
