from aion_factory import load_catalog

EXPECTED_GPU_TYPES = {
    *(f"B300-SXM-{n}-288G" for n in (2, 4, 8)),
    *(f"H100-SXM-{n}-80G" for n in (2, 4, 8)),
    "H100-1-80G",
    "H100-2-80G",
    *(f"L40S-{n}-48G" for n in (1, 2, 4, 8)),
    *(f"L4-{n}-24G" for n in (1, 2, 4, 8)),
    "RENDER-S",
}


def test_catalog_lists_every_scaleway_gpu_type_and_no_retired_one():
    catalog = load_catalog()
    assert set(catalog.gpu_node_types) == EXPECTED_GPU_TYPES
    assert "GPU-3070-S" not in catalog.gpu_node_types


def test_figures_match_the_domain_sources():
    catalog = load_catalog()
    h100 = catalog.gpu_node_types["H100-SXM-8-80G"]
    assert (h100.gpus, h100.vcpus, h100.ram_gib, h100.price_eur_per_hour, h100.node_max_power_w) == (8, 128, 960, 25.33, 10200)
    assert catalog.gpu_node_types["B300-SXM-8-288G"].node_max_power_w == 14500
    assert catalog.gpu_models["H100-SXM"].max_power_w == 700
    assert catalog.gpu_models["P100"].dense_fp8_tflops is None
    assert {name: cp.max_nodes for name, cp in catalog.control_planes.items() if "scaleway" in cp.targets} == {
        "kapsule": 150,
        "kapsule-dedicated-4": 250,
        "kapsule-dedicated-8": 500,
        "kapsule-dedicated-16": 500,
    }


def test_no_gpu_type_in_amsterdam():
    catalog = load_catalog()
    assert not any(z.startswith("nl-ams") for n in catalog.gpu_node_types.values() for z in n.zones)


def test_estimated_power_follows_its_stated_formula():
    """estimate-pcie: GPU max power + 3.1 W per vCPU + 0.375 W per GiB."""
    catalog = load_catalog()
    for name, node in catalog.gpu_node_types.items():
        if node.power_source == "estimate-pcie":
            gpu_w = catalog.gpu_models[node.gpu_model].max_power_w
            expected = node.gpus * gpu_w + 3.1 * node.vcpus + 0.375 * node.ram_gib
            assert abs(node.node_max_power_w - expected) < 0.05, name
        if node.power_source == "estimate-slice":
            whole = catalog.gpu_node_types[name.replace(f"-{node.gpus}-", "-8-")]
            assert node.node_max_power_w == whole.node_max_power_w * node.gpus / 8, name


def test_gpu_zones_follow_scaleways_availability_page():
    """products-availability (validated 2025-12-04): L4 in PAR2 and WAW2, not PAR1; RENDER-S in PAR1 only."""
    zones = {name: node.zones for name, node in load_catalog().gpu_node_types.items()}
    expected = {"B300-SXM": ("fr-par-2",), "H100-SXM": ("fr-par-2",), "H100-": ("fr-par-2", "pl-waw-2")}
    expected |= {"L40S-": ("fr-par-2", "pl-waw-2"), "L4-": ("fr-par-2", "pl-waw-2"), "RENDER-S": ("fr-par-1",)}
    for name, node_zones in zones.items():
        prefix = max((p for p in expected if name.startswith(p)), key=len)
        assert node_zones == expected[prefix], name


def test_every_power_figure_says_its_basis():
    catalog = load_catalog()
    bases = {name: node.power_basis for name, node in catalog.gpu_node_types.items()}
    assert bases["H100-SXM-8-80G"] == "wall_max"  # DGX H100: 10.2 kW max
    assert bases["B300-SXM-8-288G"] == "dc_bus_estimate"  # DGX B300: about 14.5 kW, about 15 kW at the wall
    assert catalog.gpu_node_types["B300-SXM-8-288G"].wall_max_power_w == 15000
    estimated = [n for n, node in catalog.gpu_node_types.items() if node.power_source == "estimate-pcie"]
    assert estimated and all(bases[n] == "dc_bus_estimate" for n in estimated)  # GPU + host share, no PSU losses
    assert {node.power_basis for node in catalog.cpu_node_types.values()} == {"dc_bus_estimate"}


def test_power_limit_ranges_are_sourced():
    catalog = load_catalog()
    h100 = catalog.gpu_models["H100-SXM"]
    assert (h100.min_power_limit_w, h100.max_power_w, h100.power_limit_source) == (200, 700, "nvidia-dgx-h100-power-capping")
    for name, model in catalog.gpu_models.items():
        assert 0 < model.min_power_limit_w < model.max_power_w, name
        if model.power_limit_source != "nvidia-dgx-h100-power-capping":
            assert catalog.is_estimate(model.power_limit_source), name
