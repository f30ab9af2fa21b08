"""`aion plan PATH --diff BASE_REF`: what a change does to nodes, kW per level and each tenant's quotas,
against the same path at a git revision (a real repository in tmp_path)."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support import ROOT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

DC5 = ROOT / "stacks/Pulumi.dc5-train-1.yaml"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=ci@example.org", "-c", "user.name=ci", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "stacks").mkdir()
    shutil.copy(DC5, tmp_path / "stacks/Pulumi.dc5-train-1.yaml")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def edit(stack: Path, old: str, new: str) -> None:
    text = stack.read_text()
    assert old in text
    stack.write_text(text.replace(old, new, 1))


def test_a_bigger_pool_and_a_smaller_allotment_show_their_nodes_kw_and_quotas(aion, repo, tmp_path):
    stack = repo / "stacks/Pulumi.dc5-train-1.yaml"
    edit(stack, "size: 48", "size: 56")  # the b300 pool of row-b: 8 nodes of 13.7 kW (its GPU power cap) more
    edit(stack, "power_kw: 550", "power_kw: 450")  # hf-research
    result = aion("plan", str(stack), "--diff", "HEAD", "--report", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "site dc5 against HEAD: rated IT 1,555.3 -> 1,664.9 (+109.6) kW, GPUs 1,088 -> 1,152 (+64), "
        "H100-eq FP8 1,577 -> 1,723 (+146); plan fits -> fits"
    )
    assert "  dc5/hall-1/row-b  657.6 -> 767.2 (+109.6)      1,000.0    1,000.0   yes" in lines
    assert not any(line.startswith("  dc5/hall-1/row-a ") for line in lines)  # unchanged: not listed
    assert "  train-1/b300  B300-SXM-8-288G  48 -> 56 (+8)" in lines
    assert not any("train-1/h100" in line for line in lines)
    quota = next(line for line in lines if line.startswith("  hf-research  train-1  b300"))
    assert "135 -> " in quota and "(-" in quota  # less power: a smaller quota
    markdown = (tmp_path / "out/diff.md").read_text()
    assert "| train-1/b300 | B300-SXM-8-288G | 48 → 56 (+8) |" in markdown
    assert markdown.startswith("### What this change does to site dc5 (against `HEAD`)")


def test_a_stack_of_a_site_document_reads_the_document_at_the_revision(aion, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples/aion-200mw", repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    edit(repo / "site.yaml", "    size: 429\n", "    size: 400\n")  # h1-c01's b300 pool, in the site document
    result = aion("plan", str(repo / "stacks/Pulumi.h1-c01.yaml"), "--diff", "HEAD")
    assert result.returncode == 0, result.stderr
    assert "  h1-c01/b300  B300-SXM-8-288G  429 -> 400 (-29)" in result.stdout.splitlines()
    assert "aion/hall-1  43,471.3 -> 43,050.8 (-420.5)" in result.stdout  # 29 x 14.5 kW


def test_no_change_says_so_and_a_new_file_is_all_new(aion, repo):
    stack = repo / "stacks/Pulumi.dc5-train-1.yaml"
    assert aion("plan", str(stack), "--diff", "HEAD").stdout == "site dc5 against HEAD: no change to nodes, power or quotas\n"
    new = repo / "stacks/Pulumi.lab.yaml"
    shutil.copy(ROOT / "stacks/Pulumi.local.yaml", new)
    result = aion("plan", str(new), "--diff", "HEAD")
    assert result.stdout.startswith("site lab against HEAD: rated IT 0.0 -> 31.5 (+31.5) kW") and "plan new -> fits" in result.stdout


@pytest.mark.parametrize(
    ("revision", "message"),
    [
        ("--output=/tmp/x", "error: --diff: '--output=/tmp/x' is not a revision; allowed: a commit, branch or tag"),
        ("no-such-branch", "error: --diff: 'no-such-branch' is not a revision of "),
    ],
)
def test_a_revision_git_would_read_as_an_option_or_cannot_find_is_bad_input(aion, repo, revision, message):
    result = aion("plan", str(repo / "stacks/Pulumi.dc5-train-1.yaml"), f"--diff={revision}")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(message) and "Traceback" not in result.stderr


def test_a_base_whose_stack_file_was_wrong_names_the_revision_and_the_file_as_in_the_repository(aion, repo):
    stack = repo / "stacks/Pulumi.dc5-train-1.yaml"
    good = stack.read_text()
    edit(stack, "pue: 1.15", "pue: 9")
    git(repo, "commit", "-qam", "bad")
    stack.write_text(good)
    result = aion("plan", str(stack), "--diff", "HEAD")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --diff HEAD: aion:site.pue: 9 is not allowed") and "/tmp" not in result.stderr.split(";")[0]


def test_diff_and_json_together_are_refused(aion, repo):
    result = aion("plan", str(repo / "stacks/Pulumi.dc5-train-1.yaml"), "--diff", "HEAD", "--json")
    assert result.returncode == 2 and result.stderr.startswith("error: --diff: prints text")


def test_a_programme_diff_shows_what_a_change_does_in_each_phase(aion, tmp_path):
    """A delivery in p2 (pool g of site a: 10 -> 15 nodes from p2) changes p2 only; site b is untouched."""
    repo = tmp_path / "repo"
    repo.mkdir()
    phases = [{"name": "p1", "date": "2027-06"}, {"name": "p2", "date": "2028-06"}]

    def site(name: str, pool: dict) -> dict:
        cluster = {"name": "c1", "target": "scaleway", "hall": "h", "pools": [pool]}
        hall = {"name": "h", "it_power_kw": 500}
        return {"site": {"name": name, "facility_power_mw": 1, "pue": 1.0, "halls": [hall]}, "phases": phases, "clusters": [cluster]}

    pool = {"name": "g", "node_type": "H100-SXM-8-80G", "size": 10}
    (repo / "a.yaml").write_text(yaml.safe_dump(site("a", pool)))
    (repo / "b.yaml").write_text(yaml.safe_dump(site("b", pool)))
    (repo / "programme.yaml").write_text(yaml.safe_dump({"programme": "p", "sites": [{"file": "a.yaml"}, {"file": "b.yaml"}]}))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    (repo / "a.yaml").write_text(yaml.safe_dump(site("a", {**pool, "by_phase": {"p2": 15}})))

    result = aion("plan", str(repo / "programme.yaml"), "--diff", "HEAD")
    assert result.returncode == 0, result.stderr
    p1, p2 = result.stdout.split("== phase p2 (2028-06)")
    assert "site a against HEAD: no change" in p1 and "site b against HEAD: no change" in p1
    # p2: 5 more nodes of 10.2 kW: 102.0368 -> 153.0368 kW, 80 -> 120 GPUs.
    assert "site a against HEAD: rated IT 102.0 -> 153.0 (+51.0) kW, GPUs 80 -> 120 (+40)" in p2
    assert "c1/g" in p2 and "10 -> 15 (+5)" in p2 and "site b against HEAD: no change" in p2
