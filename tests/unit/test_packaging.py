"""Other stacks install the library as a wheel: everything it needs must be inside."""

import subprocess
import sys
import zipfile

from support import ROOT


def test_wheel_holds_every_subpackage_the_catalog_and_the_templates(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    [wheel] = tmp_path.glob("aion_factory-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("", "planner/", "local/", "platform/", "scaleway/", "templates/", "data/"):
        assert any(n.startswith(f"aion_factory/{package}") for n in names), package
    assert "aion_factory/data/catalog.yaml" in names
    templates = {p.name for p in (ROOT / "templates").glob("*.j2")}
    assert {n.removeprefix("aion_factory/templates/") for n in names if n.endswith(".j2")} == templates
    assert not [n for n in names if n.startswith("components/")]  # never a bare `components`
