"""Other stacks install the library as a wheel: everything it needs must be inside, under a
license, typed, at one version, with dependency ranges a consumer's resolver can satisfy."""

import email
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest
import yaml
from packaging.requirements import Requirement

import aion_factory
from aion_factory.cli import main
from support import ROOT

SOURCES = ("components", "templates")
FILES = ("pyproject.toml", "README.md", "LICENSE")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    # From a copy of the sources: setuptools would also pack whatever a stale build/lib holds.
    tmp_path = tmp_path_factory.mktemp("wheel")
    source = tmp_path / "source"
    for name in SOURCES:
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in FILES:
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    [path] = tmp_path.glob("aion_factory-*.whl")
    return zipfile.ZipFile(path)


def metadata_of(wheel: zipfile.ZipFile) -> email.message.Message:
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(wheel.read(name))


def test_wheel_holds_every_subpackage_the_catalog_and_the_templates(wheel):
    names = set(wheel.namelist())
    # Every package of the source tree, found on disk: a new one missing from pyproject.toml fails here.
    packages = [p.parent.relative_to(ROOT / "components") for p in (ROOT / "components").rglob("__init__.py")]
    for package in [*(f"{p}/" if str(p) != "." else "" for p in packages), "templates/", "data/"]:
        assert any(n.startswith(f"aion_factory/{package}") for n in names), package
    assert "aion_factory/cli/__main__.py" in names
    assert "aion_factory/data/catalog.yaml" in names
    templates = {p.name for p in (ROOT / "templates").glob("*.j2")}
    assert {n.removeprefix("aion_factory/templates/") for n in names if n.endswith(".j2")} == templates
    assert not [n for n in names if n.startswith("components/")]  # never a bare `components`


def test_wheel_is_typed_for_a_consumers_type_checker(wheel):
    # PEP 561: without the marker, mypy treats every aion_factory import as Any.
    assert "aion_factory/py.typed" in wheel.namelist()


def test_wheel_carries_the_apache_license_text_and_says_so(wheel):
    [license_file] = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    text = wheel.read(license_file).decode()
    assert text == (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    metadata = metadata_of(wheel)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["License-File"] == "LICENSE"


def test_the_version_is_written_once_and_everything_reports_it(wheel, capsys):
    version = aion_factory.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert metadata_of(wheel)["Version"] == version
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "aion_factory.__version__"}
    assert importlib.metadata.version("aion-factory") == version  # the editable install, too
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"aion {version}\n"
    # The plugin package and the policy pack ship with the library: the same version.
    sys.path.insert(0, str(ROOT / "provider"))
    try:
        import aion_provider
    finally:
        sys.path.remove(str(ROOT / "provider"))
    assert version == aion_provider.VERSION
    assert yaml.safe_load((ROOT / "policy/PulumiPolicy.yaml").read_text())["version"] == version


def requirements(wheel: zipfile.ZipFile) -> dict[str, Requirement]:
    found = [Requirement(r) for r in metadata_of(wheel).get_all("Requires-Dist") or []]
    return {r.name: r for r in found if r.marker is None}


def test_consumers_get_dependency_ranges_not_exact_pins(wheel):
    runtime = requirements(wheel)
    assert set(runtime) >= {"pulumi", "pulumi-kubernetes", "pulumiverse-scaleway", "pydantic"}
    for name, requirement in runtime.items():
        assert not any(s.operator in ("==", "===") for s in requirement.specifier), f"{name} is pinned exactly: {requirement}"
    # pulumi-kubernetes: newer 4.x releases satisfy a consumer, the next major does not.
    kubernetes = runtime["pulumi-kubernetes"].specifier
    assert kubernetes.contains("4.25.0") and kubernetes.contains("4.30.1") and not kubernetes.contains("5.0.0")


def versions_env() -> dict[str, str]:
    lines = (ROOT / "scripts/versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line))


def test_the_local_toolchain_keeps_the_exact_provider_version(wheel):
    # Pulumi matches the Python package and its provider plugin by exact version: the plugin the
    # bootstrap builds (versions.env) is what constraints.txt pins, what `make venv` installs.
    plugin = versions_env()["PULUMI_KUBERNETES_VERSION"]
    pins = [Requirement(line) for line in (ROOT / "constraints.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert [str(p) for p in pins if p.name == "pulumi-kubernetes"] == [f"pulumi-kubernetes=={plugin}"]
    assert requirements(wheel)["pulumi-kubernetes"].specifier.contains(plugin)  # the range admits it
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()
    assert importlib.metadata.version("pulumi-kubernetes") == plugin
