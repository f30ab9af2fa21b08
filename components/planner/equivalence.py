"""H100-equivalents: dense tensor throughput counted in H100 SXM GPUs, at FP8 and BF16.

A GPU without a precision (P100 has neither) counts zero at that precision.
"""

from __future__ import annotations

import math

from ..catalog import Catalog
from .capacity import largest_node_limit, split_fleet
from .model import H100Equivalents, HeadroomBuys


def per_gpu(catalog: Catalog, gpu_model: str) -> H100Equivalents:
    model, reference = catalog.gpu_models[gpu_model], catalog.reference_gpu
    assert reference.dense_fp8_tflops and reference.dense_bf16_tflops
    return H100Equivalents(
        fp8=(model.dense_fp8_tflops or 0) / reference.dense_fp8_tflops,
        bf16=(model.dense_bf16_tflops or 0) / reference.dense_bf16_tflops,
    )


def of_gpus(catalog: Catalog, gpus_by_model: dict[str, int]) -> H100Equivalents:
    ratios = {model: per_gpu(catalog, model) for model in gpus_by_model}
    return H100Equivalents(
        fp8=sum(n * ratios[m].fp8 for m, n in gpus_by_model.items()),
        bf16=sum(n * ratios[m].bf16 for m, n in gpus_by_model.items()),
    )


def fp8_per_kw(catalog: Catalog, node_type: str) -> float:
    node = catalog.gpu_node_types[node_type]
    return node.gpus * per_gpu(catalog, node.gpu_model).fp8 / (node.node_max_power_w / 1000)


def most_efficient_node_type(catalog: Catalog) -> str:
    """The node type with the most FP8 H100-equivalents per kW, among those whose
    power is a published whole-server figure: an estimate must not pick the answer."""
    published = [name for name, node in catalog.gpu_node_types.items() if not catalog.is_estimate(node.power_source)]
    return max(sorted(published), key=lambda name: fp8_per_kw(catalog, name))


def headroom_buys(
    catalog: Catalog,
    headroom_kw_by_hall: dict[str, float],
    system_nodes_per_cluster: int,
    node_type: str | None = None,
    node_power_w: float | None = None,
) -> HeadroomBuys:
    """What each hall's share of the headroom buys in `node_type` (default: the most efficient),
    in clusters of that hall under the largest Kapsule control plane, system nodes counted.
    `node_power_w` counts the node at another power figure (its wall maximum, say) than the catalog's."""
    name = node_type or most_efficient_node_type(catalog)
    node = catalog.gpu_node_types[name]
    power_w = node_power_w or node.node_max_power_w
    nodes = {hall: math.floor(max(kw, 0.0) * 1000 / power_w + 1e-9) for hall, kw in headroom_kw_by_hall.items()}
    limit = largest_node_limit(catalog, "scaleway")
    clusters = {hall: len(split_fleet(n, limit, system_nodes_per_cluster)) for hall, n in nodes.items()}
    gpus = sum(nodes.values()) * node.gpus
    ratio = per_gpu(catalog, node.gpu_model)
    return HeadroomBuys(
        node_type=name,
        nodes=sum(nodes.values()),
        gpus=gpus,
        h100_equivalents_fp8=gpus * ratio.fp8,
        h100_equivalents_bf16=gpus * ratio.bf16,
        clusters_needed=sum(clusters.values()),
        nodes_by_hall=nodes,
        clusters_by_hall=clusters,
    )
