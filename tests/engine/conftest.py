"""Rung 3: the real Pulumi CLI against a real local control plane.

Opt-in for quick local runs (AION_ENGINE_TESTS=1), always on in CI (CI=true).
The toolchain comes from scripts/bootstrap-toolchain.sh (its env file).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_factory.devstack.controlplane import PORTS, LocalControlPlane, _port_free
from engine_support import PulumiProject, pulumi_cli_env

ENGINE_ON = os.environ.get("CI") == "true" or os.environ.get("AION_ENGINE_TESTS") == "1"
TOOLCHAIN_ENV = Path(os.environ.get("AION_TOOLCHAIN_CACHE", Path.home() / ".cache/aion-factory/toolchain")) / "env.sh"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/engine/" in str(item.fspath):
            item.add_marker(pytest.mark.engine)
            if not ENGINE_ON:
                item.add_marker(pytest.mark.skip(reason="engine tests are opt-in locally: AION_ENGINE_TESTS=1 (always on in CI)"))


@pytest.fixture(scope="session")
def toolchain() -> dict[str, str]:
    """The environment the bootstrap's env file sets (PATH with pulumi, AION_* binaries)."""
    if not TOOLCHAIN_ENV.exists():
        pytest.fail(f"no {TOOLCHAIN_ENV}: run scripts/bootstrap-toolchain.sh (make test does)")
    dumped = subprocess.run(["bash", "-c", f"source {TOOLCHAIN_ENV} && env -0"], capture_output=True, check=True).stdout
    env = dict(line.split("=", 1) for line in dumped.decode().split("\0") if "=" in line)
    os.environ.update({k: v for k, v in env.items() if k.startswith("AION_")})
    return env


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory, toolchain: dict[str, str]) -> Iterator[LocalControlPlane]:
    plane = LocalControlPlane(tmp_path_factory.mktemp("control-plane"))
    plane.start()
    yield plane
    started, ports = plane.started(), plane.state()["ports"]
    plane.stop()
    assert not [s for s in started.values() if s.process()], "a control plane process outlived stop()"
    assert all(_port_free(ports[name]) for name in PORTS), "a control plane port stayed bound"


@pytest.fixture(scope="session")
def api_client(control_plane: LocalControlPlane) -> Any:
    from kubernetes import config

    return config.new_client_from_config(config_file=str(control_plane.kubeconfig))


@pytest.fixture(scope="session")
def pulumi_env(tmp_path_factory: pytest.TempPathFactory, toolchain: dict[str, str], control_plane: LocalControlPlane) -> dict[str, str]:
    return {
        **pulumi_cli_env(tmp_path_factory.mktemp("pulumi-state"), toolchain),
        "AION_LOCAL_KUBECONFIG": str(control_plane.kubeconfig),
        # Throwaway stacks: the state is written once at the end of each operation, not after
        # every step, a large share of the engine's time (BENCHMARKS.md, section 3).
        "PULUMI_SKIP_CHECKPOINTS": "true",
    }


@pytest.fixture(scope="session")
def new_project(tmp_path_factory: pytest.TempPathFactory, pulumi_env: dict[str, str]) -> Any:
    def make(stack: str, values: dict[str, Any]) -> PulumiProject:
        project = PulumiProject(tmp_path_factory.mktemp(f"project-{stack}"), pulumi_env, stack)
        project.write_config(values)
        project.pulumi("stack", "init", "--secrets-provider", "passphrase")
        return project

    return make
