"""Bad input: every problem on its own line, naming the key, the value and what is allowed."""

import pytest
from pydantic import ValidationError

from aion_factory import ConfigError, load_stack_file, spec_from_config
from aion_factory.errors import SHOWN_CHARS, shown


def problems(config) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        spec_from_config(config)
    return [str(p) for p in caught.value.problems]


def test_minimal_config_is_valid(config):
    spec = spec_from_config(config)
    assert spec.clusters[0].pools[0].taints is None  # unset: the GPU taint (test_view.py)


def test_unknown_node_type_names_key_and_known_types(config):
    config["clusters"][0]["pools"][1]["node_type"] = "H100-SXM-9-80G"
    [line] = problems(config)
    assert line.startswith("aion:clusters[0].pools[1].node_type: 'H100-SXM-9-80G' is not a known GPU node type; allowed: ")
    assert "B300-SXM-8-288G" in line and "RENDER-S" in line


def test_node_type_not_offered_in_zone_names_the_zones_that_offer_it(config):
    config["clusters"][0]["zone"] = "pl-waw-2"
    [line] = problems(config)
    assert line == "aion:clusters[0].pools[0].node_type: 'H100-SXM-8-80G' is not offered in zone pl-waw-2; zones that offer it: fr-par-2"


def test_negative_budget(config):
    config["site"]["halls"][0]["it_power_kw"] = -5
    [line] = problems(config)
    assert (
        line
        == "aion:site.halls[0].it_power_kw: -5 is not allowed: Input should be greater than 0; allowed: more than 0, at most 10,000,000"
    )


def test_missing_required_key(config):
    del config["clusters"][0]["hall"]
    assert problems(config) == ["aion:clusters[0].hall: required key is missing"]


def test_wrong_type(config):
    config["clusters"][0]["pools"][0]["size"] = "four"
    [line] = problems(config)
    assert line.startswith("aion:clusters[0].pools[0].size: 'four' is not allowed: Input should be a valid integer")


def test_unknown_key_lists_allowed_keys(config):
    config["clusters"][0]["pools"][0]["gpu_count"] = 8
    [line] = problems(config)
    assert line.startswith("aion:clusters[0].pools[0].gpu_count: unknown key; allowed: name, node_type, size,")


def test_a_misspelt_key_gets_the_closest_allowed_key_at_its_level(config):
    config["clusters"][0]["pools"][0]["max_sise"] = 8
    config["tennants"] = config.pop("tenants")
    assert problems(config) == [
        "aion:clusters[0].pools[0].max_sise: unknown key (did you mean 'max_size'?); allowed: name, node_type, size, by_phase, "
        "from_phase, min_size, max_size, autoscaling, autohealing, taints, labels, gpu_power_cap_w, row, rack, multi_node_training, "
        "root_volume_type, root_volume_size_gb, sharing",
        "aion:tennants: unknown key (did you mean 'tenants'?); allowed: site, clusters, tenants, account, phases, current_phase",
    ]


def test_bad_target_lists_allowed_values(config):
    config["clusters"][0]["target"] = "aws"
    [line] = problems(config)
    assert line == "aion:clusters[0].target: 'aws' is not allowed: Input should be 'scaleway' or 'local'"


def test_every_problem_is_reported_at_once(config):
    config["clusters"][0]["hall"] = "nowhere"
    config["clusters"][0]["pools"][0]["gpu_power_cap_w"] = 900
    config["tenants"][0]["clusters"] = ["ghost"]
    assert problems(config) == [
        "aion:clusters[0].hall: 'nowhere' is not a hall of the site; allowed: h",
        "aion:clusters[0].pools[0].gpu_power_cap_w: 900 W is outside the H100-SXM's power limit range; allowed: 200 to 700 W",
        "aion:tenants[0].clusters[0]: 'ghost' is not a cluster of the site; allowed: c",
    ]


def test_cross_field_rules(config):
    pool = config["clusters"][0]["pools"][1]
    pool.update(min_size=3, max_size=1, sharing={"mig_profile": "1g.10gb"})
    config["clusters"][0]["pools"].append({"name": "h100", "node_type": "L4-1-24G", "size": 1})
    config["clusters"][0]["kubernetes_version"] = "1.30"
    assert problems(config) == [
        "aion:clusters[0].kubernetes_version: '1.30' is not offered; allowed: 1.35, 1.34, 1.33",
        "aion:clusters[0].pools: name 'h100' is used 2 times; names must be unique",
        "aion:clusters[0].pools[1].min_size: 3 is above size 2; allowed: 0 to 2",
        "aion:clusters[0].pools[1].max_size: 1 is below size 2; allowed: 2 or more",
        "aion:clusters[0].pools[1].sharing.mig_profile: '1g.10gb' needs a MIG-capable GPU, not L4; "
        "GPU models with MIG: H100-SXM, H100-PCIe",
    ]


def test_local_clusters_are_not_bound_to_zones(config):
    config["clusters"][0].update(target="local", zone="my-laptop")
    assert spec_from_config(config).clusters[0].zone == "my-laptop"


def test_name_must_be_a_dns_label(config):
    config["tenants"][0]["name"] = "Team_A"
    assert problems(config) == [
        "aion:tenants[0].name: 'Team_A' is not allowed: allowed: a DNS label: lowercase letters, digits and '-', at most 40 characters"
    ]


def test_spec_is_frozen(config):
    spec = spec_from_config(config)
    with pytest.raises(ValidationError, match="frozen"):
        spec.site.pue = 2.0  # type: ignore[misc]


def test_stack_file_without_config_mapping(tmp_path):
    stack = tmp_path / "Pulumi.x.yaml"
    stack.write_text("encryptionsalt: abc\n")
    with pytest.raises(ConfigError, match="has no `config:` mapping"):
        load_stack_file(stack)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("kube-system", "Kubernetes' own"),
        ("kube-anything", "Kubernetes' own"),
        ("default", "Kubernetes' default namespace"),
        ("kueue-system", "Kueue's manager"),
        ("aion-system", "power-cap DaemonSets"),
        ("gpu-operator", "NVIDIA's GPU operator"),
        ("cert-manager", "cert-manager"),
        ("monitoring", "monitoring"),
        ("ingress-nginx", "ingress controller"),
    ],
)
def test_tenant_names_that_are_system_or_add_on_namespaces_are_refused(config, name, why):
    config["tenants"][0]["name"] = name
    [line] = problems(config)
    assert line.startswith(f"aion:tenants[0].name: {name!r} is a reserved namespace (")
    assert why in line
    assert line.endswith(
        "; not allowed: kube-*, default, aion-system, kueue-system, gpu-operator, nvidia-gpu-operator, "
        "cert-manager, monitoring, ingress-nginx, jobset-system, kubeflow, kuberay-system, lws-system"
    )


def test_the_namespaces_the_platform_creates_are_reserved():
    from aion_factory.checks import reserved_namespace
    from aion_factory.spec import KUEUE_NAMESPACE, SYSTEM_NAMESPACE

    assert reserved_namespace(KUEUE_NAMESPACE) and reserved_namespace(SYSTEM_NAMESPACE)
    assert reserved_namespace("kubeflow-tenant") is None  # the prefix is `kube-`, not `kube`


def test_a_pools_row_in_a_hall_without_rows_is_refused(config):
    config["site"]["halls"][0]["rows"] = []
    del config["clusters"][0]["row"]
    config["clusters"][0]["pools"][0]["row"] = "r"
    assert problems(config) == ["aion:clusters[0].pools[0].row: 'r': hall 'h' has no rows; allowed: unset (the pool draws from the hall)"]


def test_a_pools_row_not_in_its_hall_names_the_halls_rows(config):
    config["clusters"][0]["pools"][0]["row"] = "x"
    assert problems(config) == ["aion:clusters[0].pools[0].row: 'x' is not a row of hall 'h'; allowed: r"]


# Bounds, finite numbers and strict types (issue 14): each of these was accepted, or crashed, before.


def test_a_pool_past_the_largest_kubernetes_cluster_is_refused(config):
    # 100,000,000,000 nodes took gigabytes: the fleet split built one entry per cluster.
    config["clusters"][0]["pools"][0].update(autoscaling=True, max_size=100_000_000_000)
    assert problems(config) == [
        "aion:clusters[0].pools[0].max_size: 100000000000 is not allowed: Input should be less than or equal to 5000; allowed: 0 to 5,000"
    ]


@pytest.mark.parametrize("power", [float("inf"), float("nan"), 1e308, "inf", "1e400"])
def test_power_is_finite_and_bounded(config, power):
    config["site"]["facility_power_mw"] = power
    [line] = problems(config)
    assert line.startswith("aion:site.facility_power_mw: ") and line.endswith("allowed: more than 0, at most 10,000")


def test_infinite_budgets_and_allotments_are_refused(config):
    config["site"]["halls"][0]["it_power_kw"] = float("inf")
    config["tenants"][0]["power_kw"] = float("inf")
    assert [line.split(":")[1] for line in problems(config)] == ["site.halls[0].it_power_kw", "tenants[0].power_kw"]


def test_a_system_pool_that_fills_the_control_plane_is_refused_not_a_crash(config):
    config["clusters"][0]["system_pool"]["size"] = 500  # the split had no room for a GPU node: ValueError
    assert problems(config) == [
        "aion:clusters[0].system_pool.size: 500 system nodes fill control plane kapsule-dedicated-8 (500 nodes); allowed: 1 to 499"
    ]
    config["clusters"][0].update(control_plane="kapsule")
    config["clusters"][0]["system_pool"]["size"] = 150
    assert problems(config) == [
        "aion:clusters[0].system_pool.size: 150 system nodes fill control plane kapsule (150 nodes); allowed: 1 to 149"
    ]


@pytest.mark.parametrize("key", ["size", "min_size", "gpu_power_cap_w", "root_volume_size_gb"])
def test_a_boolean_is_not_a_number(config, key):
    config["clusters"][0]["pools"][0][key] = True
    [line] = problems(config)
    assert line.startswith(f"aion:clusters[0].pools[0].{key}: True is not allowed: a boolean is not a number")


def test_booleans_are_true_or_false(config):
    config["clusters"][0]["pools"][0]["autoscaling"] = "yes"
    config["clusters"][0]["auto_upgrade"] = 1
    assert problems(config) == [
        "aion:clusters[0].auto_upgrade: 1 is not allowed: allowed: true or false",
        "aion:clusters[0].pools[0].autoscaling: 'yes' is not allowed: allowed: true or false",
    ]


def test_a_number_in_a_string_is_read_as_that_number(config):
    # `pulumi config set --path aion:site.pue 1.15` stores "1.15": only integers are stored as numbers.
    config["site"]["pue"] = "1.15"
    assert spec_from_config(config).site.pue == 1.15


def test_a_tenant_listing_a_cluster_twice_is_refused(config):
    config["tenants"][0]["clusters"] = ["c", "c"]  # each listing counted its GPUs again, and cut the quota
    assert problems(config) == ["aion:tenants[0].clusters: name 'c' is used 2 times; names must be unique"]


def test_a_huge_value_is_cut_in_its_message(config):
    config["site"]["name"] = "x" * 50_000_000
    config["clusters"][0]["pools"][0]["labels"] = {"k" * 1_000: "v"}
    assert problems(config) == [
        "aion:site.name: '" + "x" * 56 + "... (50,000,000 characters) is not allowed: String should have at most 40 characters",
        "aion:clusters[0].pools[0].labels: key '" + "k" * 56 + "... (1,000 characters) is not allowed: "
        "String should have at most 317 characters",
    ]


def test_every_string_is_bounded(config):
    config["tenants"][0]["group"] = "g" * 318
    config["clusters"][0]["zone"] = "z" * 65
    assert [line.split(": ")[0] for line in problems(config)] == ["aion:clusters[0].zone", "aion:tenants[0].group"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x" * 50_000_000, "'" + "x" * 56 + "... (50,000,000 characters)"),
        (10**5000, "an integer of about 5,000 digits"),
        (set(range(10**6)), None),
        ([[[[[["deep"]]]]]], "[[[[...]]]]"),
        ("short", "'short'"),
    ],
    ids=["50 MB string", "5,001-digit integer", "a set of a million", "nested lists", "short"],
)
def test_shown_cuts_any_value_to_a_readable_length(value, expected):
    text = shown(value)
    assert len(text) <= SHOWN_CHARS + 30
    assert expected is None or text == expected


@pytest.mark.parametrize("group", ["system:authenticated", "system:masters", "system:serviceaccounts"])
def test_a_tenant_group_may_not_be_a_kubernetes_system_group(config, group):
    config["tenants"][0]["group"] = group
    [line] = problems(config)
    assert line == (
        f"aion:tenants[0].group: {group!r} is a Kubernetes system group; allowed: a group of your identity provider, "
        "not starting with 'system:'"
    )


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (
            {"team/ml/x": "a"},
            "aion:clusters[0].pools[0].labels: label key 'team/ml/x' is not valid in Kubernetes; allowed: a qualified name",
        ),
        (
            {"Example.com/x": "a"},
            "aion:clusters[0].pools[0].labels: label key 'Example.com/x' is not valid in Kubernetes; allowed: prefix part",
        ),
        (
            {"x": "a" * 64},
            "aion:clusters[0].pools[0].labels: value '" + "a" * 64 + "' of label 'x' is not valid in Kubernetes; allowed: must be no",
        ),
        (
            {"x": "inference!"},
            "aion:clusters[0].pools[0].labels: value 'inference!' of label 'x' is not valid in Kubernetes; allowed: a label value",
        ),
    ],
)
def test_labels_kubernetes_refuses_are_refused(config, labels, expected):
    config["clusters"][0]["pools"][0]["labels"] = labels
    [line] = problems(config)
    assert line.startswith(expected)


def test_taints_kubernetes_refuses_are_refused(config):
    config["clusters"][0]["pools"][0]["taints"] = [
        {"key": "dedicated team", "value": "ok", "effect": "NoSchedule"},
        {"key": "ok", "value": "-bad", "effect": "NoExecute"},
    ]
    assert [line.split(" is not valid")[0] for line in problems(config)] == [
        "aion:clusters[0].pools[0].taints[0].key: 'dedicated team'",
        "aion:clusters[0].pools[0].taints[1].value: '-bad'",
    ]


def test_a_mig_profile_must_be_a_label_value(config):
    config["clusters"][0]["pools"][0]["sharing"] = {"mig_profile": "all-1g.10gb-"}
    [line] = problems(config)
    assert line.startswith("aion:clusters[0].pools[0].sharing.mig_profile: 'all-1g.10gb-' is not valid in Kubernetes")


def test_an_empty_group_is_refused(config):
    config["tenants"][0]["group"] = " "
    [line] = problems(config)
    assert line.startswith("aion:tenants[0].group: an empty group names nobody")


@pytest.mark.parametrize(
    ("node_type", "cap", "allowed"),
    [("H100-SXM-8-80G", 1, "200 to 700 W"), ("H100-SXM-8-80G", 199, "200 to 700 W"), ("L4-8-24G", 39, "40 to 72 W")],
)
def test_a_power_cap_below_the_gpus_range_is_refused(config, node_type, cap, allowed):
    config["clusters"][0]["pools"][0].update(node_type=node_type, gpu_power_cap_w=cap)
    model = node_type.split("-8-")[0]
    assert problems(config) == [
        f"aion:clusters[0].pools[0].gpu_power_cap_w: {cap} W is outside the {model}'s power limit range; allowed: {allowed}"
    ]


@pytest.mark.parametrize("cap", [200, 700])
def test_the_ends_of_the_range_are_caps_the_gpu_takes(config, cap):
    config["clusters"][0]["pools"][0]["gpu_power_cap_w"] = cap
    assert spec_from_config(config).clusters[0].pools[0].gpu_power_cap_w == cap


@pytest.mark.parametrize(
    ("node_type", "zone", "offered"), [("L4-8-24G", "fr-par-1", "fr-par-2, pl-waw-2"), ("RENDER-S", "fr-par-2", "fr-par-1")]
)
def test_gpu_zones_are_those_of_scaleways_availability_page(config, node_type, zone, offered):
    config["clusters"][0]["zone"] = zone
    config["clusters"][0]["pools"] = [{"name": "p", "node_type": node_type, "size": 1}]
    assert problems(config) == [
        f"aion:clusters[0].pools[0].node_type: {node_type!r} is not offered in zone {zone}; zones that offer it: {offered}"
    ]


def test_a_transition_to_glacier_before_90_days_is_refused_as_scaleway_would(config):
    config["clusters"][0]["storage"] = {"bucket": {"checkpoint_glacier_after_days": 30}}
    [line] = problems(config)
    assert line.startswith("aion:clusters[0].storage.bucket.checkpoint_glacier_after_days: 30 ") and line.endswith("allowed: 90 to 36,500")
    config["clusters"][0]["storage"] = {"bucket": {"checkpoint_glacier_after_days": 90}}
    assert spec_from_config(config).clusters[0].storage.bucket.checkpoint_glacier_after_days == 90


def test_schema_errors_and_cross_checks_are_reported_together(config):
    config["site"]["oversubscription"] = 9  # schema: at most 3
    config["clusters"][0]["pools"][0]["node_type"] = "H200-SXM-8"  # cross-check: not in the catalog
    lines = problems(config)
    assert [line.split(":")[1] for line in lines] == ["site.oversubscription", "clusters[0].pools[0].node_type"]
    # A bad key without a default leaves nothing to cross-check: the schema's problems alone.
    config["site"]["pue"] = 9
    assert [line.split(":")[1] for line in problems(config)] == ["site.pue", "site.oversubscription"]


@pytest.mark.parametrize("level", ["baseline", "privileged"])
def test_a_pod_security_level_beyond_restricted_needs_a_reason(config, level):
    config["tenants"][0]["pod_security"] = level
    [line] = problems(config)
    assert line.startswith(f"aion:tenants[0].pod_security: {level!r} needs pod_security_exception, saying why the tenant's pods need ")
    assert line.endswith("; allowed: restricted, or baseline or privileged with pod_security_exception")
    config["tenants"][0]["pod_security_exception"] = "   "
    assert problems(config) == [
        "aion:tenants[0].pod_security_exception: an empty reason explains nothing; allowed: why the pods need the level"
    ]
    config["tenants"][0]["pod_security_exception"] = "GPU profiling (OPS-42)"
    assert spec_from_config(config).tenants[0].pod_security == level


def test_a_pod_security_exception_without_a_level_that_needs_one_is_refused(config):
    config["tenants"][0]["pod_security_exception"] = "just in case"
    assert problems(config) == [
        "aion:tenants[0].pod_security_exception: excuses nothing with pod_security 'restricted'; "
        "allowed: unset, or a reason with pod_security baseline or privileged"
    ]


def test_a_tenant_gets_training_and_batch_but_never_inference_by_default(config):
    assert spec_from_config(config).tenants[0].priority_classes == ("training", "batch")


@pytest.mark.parametrize(
    ("key", "value", "bounds"),
    [
        ("storage_quota_gib", -1, "0 to 10,485,760"),
        ("container_max_cpu", 225, "1 to 224"),
        ("container_max_memory_gib", 0, "1 to 3,840"),
    ],
)
def test_tenant_storage_and_container_bounds_are_named(config, key, value, bounds):
    config["tenants"][0][key] = value
    [line] = problems(config)
    assert line.startswith(f"aion:tenants[0].{key}: {value} is not allowed") and line.endswith(f"; allowed: {bounds}")


def test_object_quota_bounds_are_named(config):
    config["tenants"][0]["object_quotas"] = {"nodeports": 2769, "loadbalancers": -1}
    assert sorted(problems(config)) == [
        "aion:tenants[0].object_quotas.loadbalancers: -1 is not allowed: Input should be greater than or equal to 0; allowed: 0 to 10,000",
        "aion:tenants[0].object_quotas.nodeports: 2769 is not allowed: Input should be less than or equal to 2768; allowed: 0 to 2,768",
    ]


def test_a_priority_class_listed_twice_is_refused(config):
    config["tenants"][0]["priority_classes"] = ["inference", "batch", "inference"]
    assert problems(config) == ["aion:tenants[0].priority_classes: name 'inference' is used 2 times; names must be unique"]


def test_a_pools_rack_must_stand_in_its_row_and_rack_names_are_unique_in_a_row(config):
    config["site"]["halls"][0]["rows"][0]["racks"] = [{"name": "k1", "it_power_kw": 50}, {"name": "k1", "it_power_kw": 50}]
    config["clusters"][0]["pools"][0]["rack"] = "k9"
    assert problems(config) == [
        "aion:site.halls[0].rows[0].racks: name 'k1' is used 2 times; names must be unique",
        "aion:clusters[0].pools[0].rack: 'k9' is not a rack of row 'r'; allowed: k1, k1",
    ]


def test_a_rack_needs_a_row(config):
    config["clusters"][0].pop("row")
    config["clusters"][0]["pools"][0]["rack"] = "k1"
    assert problems(config) == [
        "aion:clusters[0].pools[0].rack: 'k1' needs a row to stand in; allowed: a rack with the pool's or the cluster's row set"
    ]


def test_topology_aware_scheduling_refuses_autoscaling_pools(config):
    """Kueue's TAS places work on nodes that exist: an autoscaling pool would never be asked to grow."""
    config["clusters"][0]["kueue"] = {"topology_aware_scheduling": True}
    assert spec_from_config(config).clusters[0].kueue.topology_aware_scheduling
    config["clusters"][0]["pools"][0].update(autoscaling=True, max_size=6)
    assert problems(config) == [
        "aion:clusters[0].kueue.topology_aware_scheduling: Kueue's Topology Aware Scheduling admits work only onto nodes "
        "that exist, so autoscaling pools h100 would never grow; allowed: true with GPU pools of fixed size, else false"
    ]
