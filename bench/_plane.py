"""The local control plane the benchmarks start, with KWOK's stages in any case.

KWOK 0.8 exits with "no stages found" unless its config names the stages that
make a node Ready (kwokctl passes its defaults; the bare `kwok` binary has none).
The library passes the files named in AION_KWOK_STAGES (the bootstrap sets it);
where that is unset, or the library is older and passes none, the benchmarks
pass kwokctl's defaults: node-initialize, node-heartbeat-with-lease (40 s
leases), pod-fast, from kwok's module in the toolchain cache.
"""

from __future__ import annotations

import os
from pathlib import Path

from aion_factory.devstack.controlplane import LocalControlPlane, Pki

KWOK_STAGES_ENV = "AION_KWOK_STAGES"
NODE_LEASE_DURATION_S = 40  # kwokctl's default
STAGE_FILES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)


def kwok_module() -> Path:
    """KWOK's module folder in the toolchain's Go module cache (the bootstrap built kwok from it)."""
    cache = Path(os.environ.get("AION_TOOLCHAIN_CACHE", Path.home() / ".cache/aion-factory/toolchain"))
    found = sorted((cache / "go/mod/sigs.k8s.io").glob("kwok@v*"))
    if not found:
        raise FileNotFoundError(f"no kwok module under {cache}/go/mod/sigs.k8s.io: run scripts/bootstrap-toolchain.sh")
    return found[-1]


def ensure_kwok_stages() -> None:
    if not os.environ.get(KWOK_STAGES_ENV):
        os.environ[KWOK_STAGES_ENV] = os.pathsep.join(str(kwok_module() / f) for f in STAGE_FILES)


class BenchControlPlane(LocalControlPlane):
    def start(self, timeout_s: float = 180) -> None:
        ensure_kwok_stages()
        super().start(timeout_s)

    def _flags(self, program: str, pki: Pki, ports: dict[str, int]) -> list[str]:
        flags = super()._flags(program, pki, ports)
        if program != "kwok" or any(f.startswith("--config") for f in flags):
            return flags  # the library already configures KWOK: use its choice
        module = kwok_module()
        config = self.root / "kwok-stages.yaml"
        config.write_text("\n---\n".join((module / f).read_text().strip() for f in STAGE_FILES) + "\n")
        return [*flags, f"--config={config}", f"--node-lease-duration-seconds={NODE_LEASE_DURATION_S}"]
