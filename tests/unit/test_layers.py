"""Every module of the library sits in a layer of the import contract (pyproject.toml), so
import-linter checks what each may import: a new module outside the layers would be unconstrained."""

import re
import tomllib

from support import ROOT


def test_every_module_of_the_library_is_in_a_layer():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    [layers] = [c["layers"] for c in contracts if c["type"] == "layers"]
    named = {name.strip().removeprefix("aion_factory.") for layer in layers for name in re.split(r"[|:]", layer) if name.strip()}
    components = ROOT / "components"
    modules = {p.stem for p in components.glob("*.py") if p.stem != "__init__"}
    packages = {p.parent.name for p in components.glob("*/__init__.py")}
    assert modules | packages == named, "add the module to a layer in pyproject.toml (docs/ARCHITECTURE.md draws them)"


def test_no_two_test_modules_share_a_name():
    # pytest imports test modules by their base name (rootdir mode, no packages): two of one name in
    # two rungs fail the whole run's collection, which a rung run alone never shows.
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
