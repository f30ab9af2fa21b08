"""Reading a YAML file that anyone may have written: bounded, and refusing what YAML would silently accept.

Every file the toolkit reads (stack files, site documents, Pulumi.yaml) comes through
`read_yaml`. Before a value is built, the parsed document is checked once: its size on
disk, UTF-8, nesting depth, the number of values once aliases are expanded (a "billion
laughs" file is a few lines that expand to billions), scalar lengths, and duplicate keys
(YAML keeps the last one without a word). Each refusal is a ConfigError naming the file,
the key path where there is one, and what is allowed. libyaml parses when PyYAML has it:
a 1 GW site document parses about 5x faster than with the pure-Python parser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, Problem, shown

MAX_FILE_BYTES = 4 * 1024 * 1024  # a generated 1 GW site document (bench/sites.py) is 437 KiB
MAX_DEPTH = 32  # the deepest config key (config, aion:clusters, [i], pools, [j], sharing, key) is 7 levels down
MAX_VALUES = 1_000_000  # values once aliases are expanded; the 1 GW site document holds 51,000
MAX_SCALAR_CHARS = 65_536  # room for a Pulumi secret's ciphertext in a stack file; the spec bounds its own strings
MAX_NUMBER_CHARS = 40  # no figure of a config needs more digits; Python refuses ints past 4,300 digits

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_MERGE_KEY = "tag:yaml.org,2002:merge"


def read_yaml(path: Path, what: str) -> Any:
    """A YAML document, or a ConfigError naming the file (and the key) and why it cannot be read."""
    text = _text(path, what)
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _Checker(str(path)).size_of(node, [], 0)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        if "maximum nesting depth" in str(error):  # libyaml's own bound (1,000 levels), met before ours
            raise ConfigError(
                [Problem(str(path), f"is nested too deeply ({_cut(str(error))}); allowed: at most {MAX_DEPTH} levels")]
            ) from None
        raise ConfigError([Problem(str(path), f"is not valid YAML: {_cut(str(error))}")]) from None
    except RecursionError:  # the pure-Python parser, where libyaml is missing, recurses per level
        raise ConfigError([Problem(str(path), f"is nested too deeply; allowed: at most {MAX_DEPTH} levels")]) from None
    finally:
        loader.dispose()


def _text(path: Path, what: str) -> str:
    chunks, size = [], 0
    try:
        with path.open("rb") as file:
            # In chunks, never past the bound, whatever the file is (/dev/zero, a pipe); one read of
            # the bound would allocate all of it for a file of a few lines.
            while size <= MAX_FILE_BYTES and (chunk := file.read(64 * 1024)):
                chunks.append(chunk)
                size += len(chunk)
    except OSError as error:
        raise ConfigError([Problem(str(path), f"cannot read the {what}: {error.strerror}")]) from None
    data = b"".join(chunks)
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError([Problem(str(path), f"the {what} is over {MAX_FILE_BYTES // 1024**2} MiB; allowed: at most that")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = data.count(b"\n", 0, error.start) + 1, error.start - data.rfind(b"\n", 0, error.start)
        raise ConfigError(
            [Problem(str(path), f"the {what} is not UTF-8 text (line {line}, column {column}); allowed: a UTF-8 YAML file")]
        ) from None


class _Checker:
    """One walk over the parsed nodes. An alias is the very node it names, so each node is checked
    once and its expanded size remembered: the walk costs the file's size, not its expansion's."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def size_of(self, node: yaml.Node, path: list[str | int], depth: int) -> int:
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in self.open:
            self._refuse(path, "is an alias of a value that contains it; allowed: aliases of other values")
        if depth > MAX_DEPTH:
            self._refuse(path, f"is nested {MAX_DEPTH} levels deep already; allowed: at most {MAX_DEPTH} levels")
        self.open.add(id(node))
        size = 1
        if isinstance(node, yaml.ScalarNode):
            self._check_scalar(node, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                size += self.size_of(item, [*path, index], depth + 1)
        elif isinstance(node, yaml.MappingNode):
            size += self._mapping_size(node, path, depth)
        self.open.discard(id(node))
        if size > MAX_VALUES:
            self._refuse(path, f"expands to more than {MAX_VALUES:,} values (aliases included); allowed: at most that many")
        self.sizes[id(node)] = size
        return size

    def _mapping_size(self, node: yaml.MappingNode, path: list[str | int], depth: int) -> int:
        size = 0
        lines: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_KEY:
                line, first = key.start_mark.line + 1, lines.get((key.tag, key.value))
                if first is not None:
                    self._refuse(
                        [*path, name],
                        f"is set twice (lines {first} and {line}), and YAML would keep the last silently; allowed: each key once",
                    )
                lines[key.tag, key.value] = line
            size += self.size_of(key, [*path, name], depth + 1) + self.size_of(value, [*path, name], depth + 1)
        return size

    def _check_scalar(self, node: yaml.ScalarNode, path: list[str | int]) -> None:
        if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
            self._refuse(path, f"{shown(node.value)} is a number of {len(node.value):,} characters; allowed: at most {MAX_NUMBER_CHARS}")
        if len(node.value) > MAX_SCALAR_CHARS:
            self._refuse(path, f"{shown(node.value)} is too long; allowed: at most {MAX_SCALAR_CHARS:,} characters")

    def _refuse(self, path: list[str | int], message: str) -> None:
        raise ConfigError([Problem(f"{self.file}: {document_path(path)}", message)])


def document_path(parts: list[str | int]) -> str:
    """`config`, `aion:clusters`, 0, `name` -> `aion:clusters[0].name`: a stack file's keys as
    the spec names them; a site document's keys as they are."""
    if len(parts) > 1 and parts[0] == "config":
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = str(part) if len(str(part)) <= 60 else shown(str(part))
            text += f".{name}" if text else name
    return text or "(the document)"


def _cut(message: str, limit: int = 300) -> str:
    """A parser's message on one line, where it is in the file and no more of it than is readable."""
    message = " ".join(message.replace('in "<unicode string>", ', "at ").split())
    return message if len(message) <= limit else message[:limit] + "..."
