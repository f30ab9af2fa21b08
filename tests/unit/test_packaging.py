"""Other stacks install the library as a wheel: everything it needs must be inside."""

import shutil
import subprocess
import sys
import zipfile

from support import ROOT


def test_wheel_holds_every_subpackage_the_catalog_and_the_templates(tmp_path):
    # From a copy of the sources: setuptools would also pack whatever a stale build/lib holds.
    source = tmp_path / "source"
    for name in ("components", "templates"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    [wheel] = tmp_path.glob("aion_factory-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # Every package of the source tree, found on disk: a new one missing from pyproject.toml fails here.
    packages = [p.parent.relative_to(ROOT / "components") for p in (ROOT / "components").rglob("__init__.py")]
    for package in [*(f"{p}/" if str(p) != "." else "" for p in packages), "templates/", "data/"]:
        assert any(n.startswith(f"aion_factory/{package}") for n in names), package
    assert "aion_factory/cli/__main__.py" in names
    assert "aion_factory/data/catalog.yaml" in names
    templates = {p.name for p in (ROOT / "templates").glob("*.j2")}
    assert {n.removeprefix("aion_factory/templates/") for n in names if n.endswith(".j2")} == templates
    assert not [n for n in names if n.startswith("components/")]  # never a bare `components`
