"""docs/SECURITY.md answers each threat with a test: every test it names exists."""

import re

from support import ROOT


def test_every_test_the_threat_model_names_exists():
    named = set(re.findall(r"\b(test_[a-z0-9_]+)\b", (ROOT / "docs/SECURITY.md").read_text()))
    defined = {
        match
        for path in (ROOT / "tests").rglob("*.py")
        for match in re.findall(r"^\s*def (test_[a-z0-9_]+)\(", path.read_text(), flags=re.M)
    }
    files = {path.stem for path in (ROOT / "tests").rglob("test_*.py")}
    assert named - defined - files == set()
