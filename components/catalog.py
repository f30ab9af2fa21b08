"""The hardware catalog: Scaleway node types, GPU models, control planes, an Organization's quotas.

Loaded from data/catalog.yaml and validated by the models below, so a typo in
the catalog fails as loudly as a typo in a stack config.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

# Which figure a node's power is: the server's maximum at the wall (AC), an estimate at the DC bus
# (no PSU losses), or a typical draw. The planner counts the figure whatever its basis.
PowerBasis = Literal["wall_max", "dc_bus_estimate", "typical"]


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GpuModel(_Entry):
    flavor: str = Field(pattern=r"^[a-z0-9-]+$")
    max_power_w: PositiveFloat  # also the highest power cap the driver takes
    min_power_limit_w: PositiveFloat  # the lowest power cap the driver takes (nvidia-smi -pl)
    power_limit_source: str
    # None where the GPU has no tensor support for that precision.
    dense_bf16_tflops: PositiveFloat | None
    dense_fp8_tflops: PositiveFloat | None
    source: str


class GpuNodeType(_Entry):
    gpu_model: str
    gpus: PositiveInt
    gpu_memory_gb: PositiveInt
    vcpus: PositiveInt
    ram_gib: PositiveInt
    zones: tuple[str, ...]
    price_eur_per_hour: PositiveFloat
    node_max_power_w: PositiveFloat
    source: str
    power_source: str
    power_basis: PowerBasis
    wall_max_power_w: PositiveFloat | None = None  # the wall maximum, where node_max_power_w has another basis


class CpuNodeType(_Entry):
    vcpus: PositiveInt
    ram_gib: PositiveInt
    zones: tuple[str, ...]
    node_max_power_w: PositiveFloat
    source: str
    power_source: str
    power_basis: PowerBasis


class ControlPlane(_Entry):
    max_nodes: PositiveInt
    targets: tuple[Literal["scaleway", "local"], ...]
    source: str
    account_quota: str | None = None  # the Organization quota a cluster with this plane counts against too


class AccountQuota(_Entry):
    """Scaleway's published default of one Organization quota: (payment method validated, identity validated)."""

    defaults: tuple[NonNegativeInt, NonNegativeInt]
    source: str

    def default(self, identity_validated: bool) -> int:
        return self.defaults[1 if identity_validated else 0]


class Catalog(_Entry):
    sources: dict[str, str]
    gpu_models: dict[str, GpuModel]
    h100_reference: str
    gpu_node_types: dict[str, GpuNodeType]
    cpu_node_types: dict[str, CpuNodeType]
    control_planes: dict[str, ControlPlane]
    kubernetes_versions: tuple[str, ...]
    cnis: tuple[str, ...]
    network_policy_cnis: tuple[str, ...]  # the CNIs that enforce NetworkPolicy
    account_quotas: dict[str, AccountQuota]  # an Organization's quotas, by the name `account.quotas` gives them
    instance_quotas: dict[str, AccountQuota]  # Instances per node type

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalog:
        cited = [s for m in self.gpu_models.values() for s in (m.source, m.power_limit_source)]
        cited += [c.source for c in self.control_planes.values()]
        cited += [q.source for q in (*self.account_quotas.values(), *self.instance_quotas.values())]
        nodes: list[GpuNodeType | CpuNodeType] = [*self.gpu_node_types.values(), *self.cpu_node_types.values()]
        for node in nodes:
            cited += [node.source, node.power_source]
        missing = sorted(set(cited) - set(self.sources))
        if missing:
            raise ValueError(f"sources cited but not defined: {missing}")
        if set(self.network_policy_cnis) - set(self.cnis):
            raise ValueError(f"network_policy_cnis not in cnis: {sorted(set(self.network_policy_cnis) - set(self.cnis))}")
        unknown_quotas = {c.account_quota for c in self.control_planes.values() if c.account_quota} - set(self.account_quotas)
        node_types = {*self.gpu_node_types, *self.cpu_node_types}
        unknown_quotas |= set(self.instance_quotas) ^ node_types
        if unknown_quotas:
            raise ValueError(f"quotas of nothing the catalog has, or node types without a quota: {sorted(unknown_quotas)}")
        unknown_models = {n.gpu_model for n in self.gpu_node_types.values()} - set(self.gpu_models)
        if unknown_models or self.h100_reference not in self.gpu_models:
            raise ValueError(f"unknown GPU models: {sorted(unknown_models) or self.h100_reference}")
        return self

    @property
    def reference_gpu(self) -> GpuModel:
        return self.gpu_models[self.h100_reference]

    def is_estimate(self, source: str) -> bool:
        return self.sources[source].startswith("estimate")

    def gpu_model_of(self, node_type: str) -> GpuModel:
        return self.gpu_models[self.gpu_node_types[node_type].gpu_model]

    def node_max_power_w(self, node_type: str) -> float:
        if node_type in self.gpu_node_types:
            return self.gpu_node_types[node_type].node_max_power_w
        return self.cpu_node_types[node_type].node_max_power_w

    def zones_of(self, node_type: str) -> tuple[str, ...]:
        if node_type in self.gpu_node_types:
            return self.gpu_node_types[node_type].zones
        return self.cpu_node_types[node_type].zones

    def control_planes_for(self, target: str) -> list[tuple[str, ControlPlane]]:
        """Control planes a target may use, in catalog order (smallest first)."""
        return [(name, cp) for name, cp in self.control_planes.items() if target in cp.targets]


@cache
def load_catalog() -> Catalog:
    text = resources.files("aion_factory").joinpath("data/catalog.yaml").read_text()
    return Catalog.model_validate(yaml.safe_load(text))
