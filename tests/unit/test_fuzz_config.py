"""The fuzz rung: over a thousand bad configs per run, made by breaking the shipped ones, and each
must be refused cleanly by `aion plan` (in-process, so coverage sees it).

A case takes a valid config (the stack files and site documents of stacks/ and examples/) and
breaks one key of it against what the committed JSON Schema (stacks/aion-site.schema.json, generated
from the spec) documents there, or the uniqueness of names: a number past its bound, infinite,
NaN, a boolean or a word; a string past its length or outside its enum; a boolean that is a number;
an unknown key, a missing required key, a list entry repeated, a value of the wrong shape, a value
nested 40 levels deep. So every case is nonsense by the documentation, and is counted:

- a traceback: an exception out of the CLI, an exit code other than 0, 1 or 2, or a case over its
  time or memory bound;
- nonsense accepted: any exit but 2 (0 "fits" or 1 "violated" both mean it was planned);
- a message without its key: no line names the broken key path;
- a value not cut: a line longer than a message with a cut value can be.

Seeded (hypothesis, derandomized): the same cases on every run.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import random
import re
import resource
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from aion_factory import cli
from aion_factory.keys import key_path
from support import ROOT

CASES = 1_000
SECONDS_PER_CASE = 20  # a bound, not a performance assertion: a hang or a bomb stops here
MEMORY_PER_CASE = 1024**3  # address space the process may grow by while the cases run
LONGEST_LINE = 1_200  # a path, a value cut to 60 characters, and the longest list of what is allowed

SCHEMA = json.loads((ROOT / "stacks/aion-site.schema.json").read_text())  # the spec: a site document, the aion: keys of a stack
SEED_FILES = [
    "stacks/Pulumi.local.yaml",
    "stacks/Pulumi.dc5-train-1.yaml",
    "examples/aion-200mw.yaml",
    "examples/aion-200mw/site.yaml",
    "examples/aion-1gw/sites/site-c.yaml",  # phases, and budgets and clusters from a phase on
]
PROGRAMME_SCHEMA = json.loads((ROOT / "stacks/aion-programme.schema.json").read_text())
PROGRAMME_CASES = 300
NAMESPACE = "aion:"


def seed_values(path: str) -> dict[str, Any]:
    """A shipped config's `aion:` values, keyed without namespace (a site document's top level as it is)."""
    document = yaml.safe_load((ROOT / path).read_text())
    if "config" in document:
        return {k.removeprefix(NAMESPACE): v for k, v in document["config"].items() if k.startswith(NAMESPACE)}
    return document


def resolve(node: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A schema node with its $ref followed, and whether null is allowed (`X | None`)."""
    nullable = False
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if b.get("type") != "null"]
        nullable = len(branches) < len(node["anyOf"])
        node = {**branches[0], **{k: v for k, v in node.items() if k != "anyOf"}}
    if "$ref" in node:
        node = {**DEFS[node["$ref"].split("/")[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    return node, nullable


# The site document's definitions and the programme document's, by name (a programme's tenant is a site's, its clusters SITE/CLUSTER).
DEFS = {**SCHEMA["$defs"], **PROGRAMME_SCHEMA["$defs"]}


@dataclass(frozen=True)
class Location:
    path: tuple[str | int, ...]
    schema: dict[str, Any]


ROOT_SCHEMA = {
    "type": "object",
    "properties": {k.removeprefix(NAMESPACE): v for k, v in SCHEMA["properties"].items()},
    "required": [k.removeprefix(NAMESPACE) for k in SCHEMA["required"]],
    "additionalProperties": False,
}


def locations(value: Any, schema: dict[str, Any], path: tuple[str | int, ...] = ()) -> list[Location]:
    """Every key and list entry of a config, with its schema."""
    schema, _ = resolve(schema)
    found = [Location(path, schema)] if path else []
    if isinstance(value, dict) and schema.get("type") == "object":
        for key, item in value.items():
            child = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
            if isinstance(child, dict):
                found += locations(item, child, (*path, key))
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += locations(item, schema["items"], (*path, index))
    return found


SEEDS = [(name, seed_values(name)) for name in SEED_FILES]
SITES = [(name, values, locations(values, ROOT_SCHEMA)) for name, values in SEEDS]

WRONG_SHAPES = [["a", "list"], {"a": "mapping"}, "a-word", 7, 2.5, True]
HUGE = 100_000  # characters: past every bound of the spec; over the reader's scalar bound too below
HUGE_SCALAR = 70_000


@st.composite
def breakage(draw: st.DrawFn, schema: dict[str, Any], value: Any) -> tuple[str, Any]:
    """(what, the bad value) for one location; the value is bad by the schema."""
    kind = schema.get("type")
    choices: list[tuple[str, Any]] = [("nested 40 deep", _nested(40))]
    choices += [(f"a {type(w).__name__}", w) for w in WRONG_SHAPES if not _fits_type(w, kind)]
    if kind in ("number", "integer"):
        choices += [("inf", math.inf), ("-inf", -math.inf), ("nan", math.nan), ("true", True), ("false", False)]
        choices += [("a word", draw(st.sampled_from(["four", "", "1.2.3", "ten kW"])))]
        if "maximum" in schema:
            over = draw(st.integers(1, 10**12)) if kind == "integer" else draw(st.floats(1e-3, 1e30))
            choices.append((f"over its maximum {schema['maximum']}", schema["maximum"] + over))
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        if low is not None:
            under = draw(st.integers(1, 10**9)) if kind == "integer" else draw(st.floats(1e-3, 1e9))
            choices.append((f"under its minimum {low}", low - under))
        if "exclusiveMinimum" in schema:
            choices.append(("at its exclusive minimum", schema["exclusiveMinimum"]))
        if kind == "integer":
            choices += [("a fraction", draw(st.integers(0, 100)) + 0.5), ("a 300-digit integer", 10**300)]
    elif kind == "string":
        length = draw(st.sampled_from([schema.get("maxLength", 317) + 1, HUGE_SCALAR, HUGE]))
        choices.append((f"{length:,} characters", "x" * length))
        if "enum" in schema:
            choices.append(("outside its enum", f"not-{schema['enum'][0]}"))
        if "pattern" in schema:
            choices.append(("against its pattern", "Not_A_Label"))
    elif kind == "boolean":
        choices += [("1", 1), ("yes", "yes"), ("0", 0)]
    elif kind == "object" and schema.get("additionalProperties") is False:
        choices.append(("an unknown key", "unknown-key"))
        missing = [key for key in schema.get("required", []) if isinstance(value, dict) and key in value]
        if missing:
            choices.append(("a required key missing", ("missing", draw(st.sampled_from(missing)))))
    elif kind == "object":
        choices.append(("a non-string entry", "non-string-entry"))
    elif kind == "array":
        if schema.get("minItems"):
            choices.append(("empty", []))
        if isinstance(value, list) and value and _named(schema):
            choices.append(("an entry repeated", "repeat"))
    # Uniform among the breakages (sampled_from leans to the first), seeded by what hypothesis draws.
    what, bad = random.Random(draw(st.integers(0, 2**64))).choice(choices)
    return what, bad


def _fits_type(value: Any, kind: str | None) -> bool:
    if isinstance(value, bool):
        return kind == "boolean"
    if isinstance(value, int):
        return kind in ("integer", "number")
    if isinstance(value, float):
        return kind == "number"
    return {"string": str, "array": list, "object": dict}.get(kind or "", type(None)) is type(value)


def _named(schema: dict[str, Any]) -> bool:
    """Lists whose entries must be unique: named entries (halls, rows, clusters, pools, tenants) and a tenant's clusters."""
    items, _ = resolve(schema["items"])
    return "name" in items.get("properties", {}) or items.get("type") == "string"


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@dataclass
class Broken:
    values: dict[str, Any]
    key: tuple[str | int, ...]  # the key path a message must name
    what: str


def break_config(values: dict[str, Any], location: Location, what: str, bad: Any) -> Broken:
    values = copy.deepcopy(values)
    *parent_path, last = location.path
    parent: Any = values
    for part in parent_path:
        parent = parent[part]
    here = parent[last]
    if bad == "unknown-key":
        here["gpu_count"] = 8
        return Broken(values, (*location.path, "gpu_count"), what)
    if bad == "non-string-entry":
        here["entry"] = [1]
        return Broken(values, (*location.path, "entry"), what)
    if isinstance(bad, tuple) and bad[0] == "missing":
        del here[bad[1]]
        return Broken(values, (*location.path, bad[1]), what)
    if bad == "repeat":
        here.append(copy.deepcopy(here[0]))
        return Broken(values, location.path, what)
    parent[last] = bad
    return Broken(values, location.path, what)


@dataclass
class Tally:
    cases: int = 0
    tracebacks: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    without_key: list[str] = field(default_factory=list)
    not_cut: list[str] = field(default_factory=list)
    distinct: set[str] = field(default_factory=set)


class CaseOverTime(Exception):
    pass


def run_case(stack_file: Path, broken: Broken, tally: Tally) -> None:
    stack_file.write_text(yaml.dump({"config": {NAMESPACE + k: v for k, v in broken.values.items()}}, Dumper=_DUMPER))
    out, err = io.StringIO(), io.StringIO()
    label = f"{broken.what} at {key_path(broken.key)}"
    tally.cases += 1
    tally.distinct.add(label)
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_CASE)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["plan", str(stack_file)])
    except BaseException as error:  # a crash, a hang past the bound, memory past the bound
        tally.tracebacks.append(f"{label}: {type(error).__name__}: {str(error)[:200]}")
        return
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    stderr = err.getvalue()
    if code not in (0, 1, 2) or "Traceback" in stderr:
        tally.tracebacks.append(f"{label}: exit {code}")
    elif code != 2:
        tally.accepted.append(f"{label}: exit {code}")
    elif not _names(stderr, key_path(broken.key)):
        tally.without_key.append(f"{label}: {stderr[:300]}")
    if any(len(line) > LONGEST_LINE for line in stderr.splitlines()):
        tally.not_cut.append(f"{label}: a line of {max(len(line) for line in stderr.splitlines()):,} characters")


def _names(stderr: str, path: str) -> bool:
    """A line names `path`: the key itself, or a key inside it."""
    return re.search(re.escape(path) + r"($|[:.\[ ])", stderr, re.MULTILINE) is not None


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _over_time(signum: int, frame: Any) -> None:
    raise CaseOverTime(f"over {SECONDS_PER_CASE} s")


def _address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def test_a_thousand_broken_configs_are_each_refused_cleanly_naming_their_key(tmp_path):
    tally = Tally()
    stack_file = tmp_path / "Pulumi.fuzz.yaml"

    @settings(
        max_examples=CASES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def one_case(data: st.DataObject) -> None:
        pick = random.Random(data.draw(st.integers(0, 2**64)))
        _, values, where = pick.choice(SITES)
        location = pick.choice(where)
        value = _at(values, location.path)
        what, bad = data.draw(breakage(location.schema, value))
        run_case(stack_file, break_config(values, location, what, bad), tally)

    previous_handler = signal.signal(signal.SIGALRM, _over_time)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + MEMORY_PER_CASE, hard))
    try:
        one_case()
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, previous_handler)

    counts = {
        "tracebacks": len(tally.tracebacks),
        "nonsense accepted": len(tally.accepted),
        "messages without their key": len(tally.without_key),
        "values not cut": len(tally.not_cut),
    }
    found = ", ".join(f"{k}: {v}" for k, v in counts.items())
    print(f"\nfuzz rung: {tally.cases} broken configs ({len(tally.distinct)} distinct breakages by key); {found}")
    assert tally.cases >= CASES
    assert counts == dict.fromkeys(counts, 0), "\n".join(tally.tracebacks + tally.accepted + tally.without_key + tally.not_cut)


def _at(values: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        values = values[part]
    return values


def programme_seed(folder: Path) -> dict[str, Any]:
    """A programme of two phased sites, one inline and one a file, with accounts and a tenant across them."""
    site_c = seed_values("examples/aion-1gw/sites/site-c.yaml")
    small = {**site_c, "clusters": site_c["clusters"][:2], "tenants": site_c["tenants"][:3]}
    (folder / "file-site.yaml").write_text(yaml.dump({**small, "site": {**small["site"], "name": "b"}}, Dumper=_DUMPER))
    return {
        "programme": "fuzz",
        "accounts": [{"organization": "aion", "projects": ["one", "two"]}],
        "sites": [
            {"document": small, "organization": "aion", "project": "one"},
            {"file": str(folder / "file-site.yaml"), "organization": "aion", "project": "two"},
        ],
        "tenants": [
            {"name": "lab", "power_kw": 100, "by_phase": {"p3": 200}, "clusters": ["site-c/sc-h01-c01", "b/sc-h01-c02"]},
        ],
    }


def programme_locations(values: dict[str, Any]) -> list[Location]:
    """The programme's own keys; an inline site document is a site document, which the rung above breaks."""
    return [loc for loc in locations(values, PROGRAMME_SCHEMA) if "document" not in loc.path[:-1] and loc.path[-1:] != ("document",)]


def test_broken_programmes_are_each_refused_cleanly_naming_their_key(tmp_path):
    """The same breakages on a programme document's own keys (sites, files, accounts, tenants across
    sites): exit 2, the key named as the programme names it (`sites[1].file`)."""
    from aion_factory.yaml_input import document_path

    seed = programme_seed(tmp_path)
    where = programme_locations(seed)
    tally = Tally()
    programme_file = tmp_path / "programme.yaml"

    @settings(max_examples=PROGRAMME_CASES, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.data())
    def one_case(data: st.DataObject) -> None:
        location = random.Random(data.draw(st.integers(0, 2**64))).choice(where)
        what, bad = data.draw(breakage(location.schema, _at(seed, location.path)))
        broken = break_config(seed, location, what, bad)
        programme_file.write_text(yaml.dump(broken.values, Dumper=_DUMPER))
        label, key = f"{what} at {document_path(list(broken.key))}", f"{programme_file}: {document_path(list(broken.key))}"
        tally.cases += 1
        tally.distinct.add(label)
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(["plan", str(programme_file)])
        except BaseException as error:
            tally.tracebacks.append(f"{label}: {type(error).__name__}: {str(error)[:200]}")
            return
        stderr = err.getvalue()
        if code != 2:
            tally.accepted.append(f"{label}: exit {code}")
        elif not _names(stderr, key):
            tally.without_key.append(f"{label}: {stderr[:300]}")
        if any(len(line) > LONGEST_LINE for line in stderr.splitlines()):
            tally.not_cut.append(f"{label}: a line of {max(len(line) for line in stderr.splitlines()):,} characters")

    one_case()
    print(f"\nfuzz rung, programmes: {tally.cases} broken programmes ({len(tally.distinct)} distinct breakages by key)")
    assert tally.cases >= PROGRAMME_CASES
    assert not (tally.tracebacks or tally.accepted or tally.without_key or tally.not_cut), "\n".join(
        tally.tracebacks + tally.accepted + tally.without_key + tally.not_cut
    )
