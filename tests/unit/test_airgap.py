"""The sovereign, air-gapped path (docs/AIRGAP.md): the Scaleway provider plugin from the operator's
mirror at a pinned version and checksum, and the toolchain's bill of materials. The scripts run
for real, against a stub `pulumi` and a mirror on this machine (a folder, or HTTP on 127.0.0.1)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.metadata
import json
import os
import platform
import ssl
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from aion_factory.platform.images import MIRRORED
from support import ROOT

INSTALL = ROOT / "scripts/install-plugins.sh"
BOM = ROOT / "scripts/bom.sh"
ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]


def versions_env() -> dict[str, str]:
    lines = (ROOT / "scripts/versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line[:1].isupper() and "=" in line)


VERSION = versions_env()["PULUMIVERSE_SCALEWAY_VERSION"]
ARCHIVE = f"pulumi-resource-scaleway-v{VERSION}-{platform.system().lower()}-{ARCH}.tar.gz"


def test_the_mirrored_plugin_is_the_version_the_python_sdk_asks_for():
    # The SDK asks Pulumi for its own version of the plugin, from its `server`: the pins must agree.
    plugin = json.loads(
        (
            Path(importlib.metadata.distribution("pulumiverse-scaleway").locate_file("pulumiverse_scaleway")) / "pulumi-plugin.json"
        ).read_text()
    )
    assert (plugin["name"], plugin["version"]) == ("scaleway", VERSION)
    assert f"resource scaleway $PULUMIVERSE_SCALEWAY_VERSION {plugin['server']}" in INSTALL.read_text()
    pins = [Requirement(line) for line in (ROOT / "constraints.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert f"pulumiverse-scaleway=={VERSION}" in [str(p) for p in pins]


@pytest.fixture
def mirror(tmp_path: Path) -> dict[str, Path]:
    """A mirror folder holding the plugin's release archive, a checksums file, and a stub pulumi."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    binary = tmp_path / "pulumi-resource-scaleway"
    binary.write_text("#!/bin/sh\necho stub provider\n")
    with tarfile.open(folder / ARCHIVE, "w:gz") as archive:
        archive.add(binary, arcname="pulumi-resource-scaleway")
    checksums = tmp_path / "checksums.sha256"
    digest = hashlib.sha256((folder / ARCHIVE).read_bytes()).hexdigest()
    checksums.write_text(f"# pinned\n{digest}  {ARCHIVE}\n")
    calls = tmp_path / "pulumi-calls"
    stub = tmp_path / "pulumi"
    stub.write_text(f'#!/bin/sh\necho "PULUMI_HOME=$PULUMI_HOME $*" >> {calls}\n')
    stub.chmod(0o755)
    return {"folder": folder, "checksums": checksums, "stub": stub, "calls": calls, "home": tmp_path / "pulumi-home"}


def install(mirror: dict[str, Path], source: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **extra,
        "AION_PLUGIN_MIRROR": source,
        "AION_PLUGIN_CHECKSUMS": str(mirror["checksums"]),
        "AION_PULUMI": str(mirror["stub"]),
        "AION_PULUMI_HOME": str(mirror["home"]),
    }
    return subprocess.run([str(INSTALL)], env=env, capture_output=True, text=True, timeout=60)


def test_a_plugin_from_a_mirror_folder_is_installed_once_its_checksum_matches(mirror: dict[str, Path]):
    result = install(mirror, str(mirror["folder"]))
    assert result.returncode == 0, result.stderr
    [call] = mirror["calls"].read_text().splitlines()
    assert call.startswith(f"PULUMI_HOME={mirror['home']} plugin install resource scaleway v{VERSION} --file ")
    assert call.endswith(f"/{ARCHIVE}")
    assert result.stdout == ""  # a folder is no download source for Pulumi: no override


def test_an_archive_that_differs_from_its_pin_is_refused_and_nothing_is_installed(mirror: dict[str, Path]):
    with tarfile.open(mirror["folder"] / ARCHIVE, "w:gz") as archive:  # swapped on the mirror
        archive.add(mirror["stub"], arcname="pulumi-resource-scaleway")
    result = install(mirror, str(mirror["folder"]))
    assert result.returncode == 1
    assert f"{ARCHIVE}: sha256 " in result.stderr and "differs from the pinned" in result.stderr and "not installed" in result.stderr
    assert not mirror["calls"].exists()


def test_an_archive_without_a_pinned_checksum_is_refused(mirror: dict[str, Path]):
    mirror["checksums"].write_text("# nothing pinned\n")
    result = install(mirror, str(mirror["folder"]))
    assert result.returncode == 1
    assert f"no pinned sha256 for {ARCHIVE}" in result.stderr
    assert not mirror["calls"].exists()


def test_the_committed_checksums_file_pins_only_well_formed_lines():
    for line in (ROOT / "scripts/plugin-checksums.sha256").read_text().splitlines():
        if line and not line.startswith("#"):
            digest, name = line.split("  ")
            assert len(digest) == 64 and name.startswith(("pulumi-resource-scaleway-v", "pulumi-resource-kubernetes-v"))


@pytest.fixture
def https_mirror(mirror: dict[str, Path], tmp_path: Path) -> Iterator[str]:
    """The mirror folder served over TLS on 127.0.0.1, with a certificate of a throwaway CA that curl trusts."""
    from aion_factory.devstack.certs import ensure_pki

    pki = ensure_pki(tmp_path / "pki")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(mirror["folder"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.serving_cert, pki.serving_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    mirror["ca"] = pki.ca_cert
    yield f"https://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()


def test_a_mirror_url_installs_and_sends_pulumis_own_downloads_there(mirror: dict[str, Path], https_mirror: str):
    result = install(mirror, https_mirror, CURL_CA_BUNDLE=str(mirror["ca"]))
    assert result.returncode == 0, result.stderr
    assert len(mirror["calls"].read_text().splitlines()) == 1
    # PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES: the SDK's GitHub source, redirected to the mirror.
    assert result.stdout == f"^github://api\\.github\\.com/pulumiverse={https_mirror.rstrip('/')}\n"


@pytest.mark.parametrize("source", ["http://127.0.0.1:9/", "ftp://mirror.example.eu/plugins", "file:///srv/plugins"])
def test_a_mirror_url_that_is_not_https_is_refused_before_any_download(mirror: dict[str, Path], source: str):
    result = install(mirror, source)
    assert result.returncode == 1
    assert result.stderr.strip() == f"install-plugins: mirror {source}: only https:// URLs (or a folder) are allowed"
    assert not mirror["calls"].exists()


def test_an_installed_copy_is_replaced_by_the_checked_archive_never_trusted(mirror: dict[str, Path]):
    cached = mirror["home"] / "plugins" / f"resource-scaleway-v{VERSION}"
    cached.mkdir(parents=True)
    (cached / "pulumi-resource-scaleway").write_text("#!/bin/sh\necho swapped\n")  # restored from a poisoned cache
    result = install(mirror, str(mirror["folder"]))
    assert result.returncode == 0, result.stderr
    assert not cached.exists()  # removed before `pulumi plugin install --file` puts the checked one there
    assert "plugin install resource scaleway" in mirror["calls"].read_text()


def test_with_every_plugin_asked_for_one_unpinned_archive_installs_none(mirror: dict[str, Path]):
    # kubernetes has no pin in the mirror's checksums: the scaleway archive, pinned and present, is not installed either.
    result = install(mirror, str(mirror["folder"]), AION_PLUGINS="all")
    assert result.returncode == 1
    assert f"no pinned sha256 for pulumi-resource-kubernetes-v{versions_env()['PULUMI_KUBERNETES_VERSION']}" in result.stderr
    assert not mirror["calls"].exists()


# --- The bill of materials ----------------------------------------------------------------


def fake_toolchain(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    cache = tmp_path / "toolchain"
    tools = {
        "AION_PULUMI": "echo v3.274.1",
        "AION_PULUMI_LANGUAGE_PYTHON": "exit 2",
        "AION_PULUMI_LANGUAGE_YAML": "exit 2",
        "AION_ETCD": "echo 'etcd Version: 3.6.16'",
        "AION_KUBE_APISERVER": "echo 'Kubernetes v1.35.4'",
        "AION_KUBE_CONTROLLER_MANAGER": "echo 'Kubernetes v1.35.4'",
        "AION_KUBE_SCHEDULER": "echo 'Kubernetes v1.35.4'",
        "AION_KUBECTL": "echo 'Client Version: v1.35.4'",
        "AION_KWOK": "echo 'kwok version v0.8.0'",
        "AION_KWOKCTL": "echo 'kwokctl version v0.8.0'",
        "AION_KUEUE": "exit 2",
    }
    paths = {}
    for variable, body in tools.items():
        path = cache / variable.lower() / "bin" / variable.lower()
        path.parent.mkdir(parents=True)
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
        paths[variable] = path
    home = tmp_path / "pulumi-home"
    for plugin, version in (("kubernetes", "4.25.0"), ("scaleway", VERSION)):
        binary = home / "plugins" / f"resource-{plugin}-v{version}" / f"pulumi-resource-{plugin}"
        binary.parent.mkdir(parents=True)
        binary.write_text(f"{plugin} provider\n")
        paths[plugin] = binary
    (home / "plugins" / "resource-kubernetes-v4.25.0.lock").write_text("")
    env = tmp_path / "env.sh"
    lines = [f"export AION_TOOLCHAIN_CACHE='{cache}'", f"export AION_PULUMI_HOME='{home}'"]
    env.write_text("\n".join([*lines, *(f"export {k}='{v}'" for k, v in paths.items() if k.startswith("AION_"))]) + "\n")
    return env, paths


def bom_lines(env_file: Path) -> dict[str, list[str]]:
    result = subprocess.run(
        [str(BOM), str(env_file)], capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": os.environ["PATH"]}
    )
    assert result.returncode == 0, result.stderr
    entries = [line.split(" ", 3) for line in result.stdout.splitlines() if not line.startswith("#")]
    return {name: rest for name, *rest in entries}


def test_the_bill_of_materials_names_every_tool_and_plugin_with_its_version_and_sha256(tmp_path: Path):
    env, paths = fake_toolchain(tmp_path)
    bom = bom_lines(env)
    pinned = versions_env()
    expected = {
        "pulumi": ("3.274.1", paths["AION_PULUMI"]),
        "pulumi-language-python": (pinned["PULUMI_LANGUAGE_PYTHON_VERSION"], paths["AION_PULUMI_LANGUAGE_PYTHON"]),
        "pulumi-language-yaml": (pinned["PULUMI_YAML_VERSION"], paths["AION_PULUMI_LANGUAGE_YAML"]),
        "etcd": ("3.6.16", paths["AION_ETCD"]),
        "kube-apiserver": ("1.35.4", paths["AION_KUBE_APISERVER"]),
        "kube-controller-manager": ("1.35.4", paths["AION_KUBE_CONTROLLER_MANAGER"]),
        "kube-scheduler": ("1.35.4", paths["AION_KUBE_SCHEDULER"]),
        "kubectl": ("1.35.4", paths["AION_KUBECTL"]),
        "kwok": ("0.8.0", paths["AION_KWOK"]),
        "kwokctl": ("0.8.0", paths["AION_KWOKCTL"]),
        "kueue": (pinned["KUEUE_VERSION"], paths["AION_KUEUE"]),
        "pulumi-resource-kubernetes": ("4.25.0", paths["kubernetes"]),
        "pulumi-resource-scaleway": (VERSION, paths["scaleway"]),
    }
    assert bom == {
        name: [version, f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}", str(path)] for name, (version, path) in expected.items()
    }


def test_the_bootstrap_writes_the_bill_of_materials_and_takes_only_bom():
    script = (ROOT / "scripts/bootstrap-toolchain.sh").read_text()
    assert '"$ROOT/scripts/bom.sh" "$ENV_FILE" >"$CACHE/bom.txt.tmp"' in script
    assert 'if $PRINT_BOM; then cat "$CACHE/bom.txt"; fi' in script
    result = subprocess.run([str(ROOT / "scripts/bootstrap-toolchain.sh"), "--bill"], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stderr.strip()) == (2, f"usage: {ROOT / 'scripts/bootstrap-toolchain.sh'} [--bom]")


def test_the_real_toolchains_bill_of_materials_matches_its_files():
    env = Path(os.environ.get("AION_TOOLCHAIN_CACHE", Path.home() / ".cache/aion-factory/toolchain")) / "env.sh"
    if not env.is_file():
        pytest.skip("no toolchain here (make toolchain)")
    bom = bom_lines(env)
    assert {"pulumi", "etcd", "kube-apiserver", "kubectl", "kwokctl", "kueue", "pulumi-resource-kubernetes"} <= set(bom)
    for name, (version, checksum, where) in bom.items():
        assert version != "unknown", name
        if checksum.startswith("sha256:"):
            assert checksum == f"sha256:{hashlib.sha256(Path(where).read_bytes()).hexdigest()}", name


def test_the_airgap_guide_lists_every_image_to_mirror():
    guide = (ROOT / "docs/AIRGAP.md").read_text()
    for image in MIRRORED:
        assert f"`{image.reference()}`" in guide
    for needed in ("PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES", "scripts/install-plugins.sh", "--bom", "image_registry"):
        assert needed in guide
