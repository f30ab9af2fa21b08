"""What a stack policy sees of a resource: the engine's raw properties, secrets and unknowns kept.

pulumi-policy hands stack policies properties with secret markers already
stripped, so "is this output a secret?" cannot be answered from them. These
views are built from the engine's request itself (see `hooks.py`), as plain
dicts in the engine's wire encoding, and read with the helpers below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The engine's wire encoding (pulumi/sdk/go/common/resource/plugin/rpc.go).
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWNS = frozenset(
    {
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string (the one the engine sends for any unknown)
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
STACK_TYPE = "pulumi:pulumi:Stack"


class Unknown:
    """A value the engine cannot know during preview."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


@dataclass(frozen=True)
class Seen:
    """One resource as a stack policy sees it."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]  # wire encoding: secrets wrapped, unknowns as sentinels
    provider_urn: str | None = None
    parent_urn: str | None = None
    additional_secret_outputs: frozenset[str] = field(default_factory=frozenset)

    def value(self, *path: str | int) -> Any:
        """The plain value at `path` (secrets unwrapped), UNKNOWN if not known yet, None if absent."""
        return plain(raw_at(self.props, path))

    def is_secret(self, key: str) -> bool:
        """Whether a top-level property is secret: wrapped as one, or named in additionalSecretOutputs."""
        return key in self.additional_secret_outputs or contains_secret(self.props.get(key))


@dataclass(frozen=True)
class Finding:
    """A violation of a stack policy, and the resource it is about."""

    message: str
    urn: str


def from_wire(resource: Mapping[str, Any]) -> Seen:
    """A `Seen` from an AnalyzerResource message as `json_format.MessageToDict` renders it."""
    provider = resource.get("provider") or {}
    options = resource.get("options") or {}
    return Seen(
        type=resource.get("type", ""),
        name=resource.get("name", ""),
        urn=resource.get("urn", ""),
        props=dict(resource.get("properties") or {}),
        provider_urn=provider.get("urn") or None,
        parent_urn=resource.get("parent") or None,
        additional_secret_outputs=frozenset(options.get("additionalSecretOutputs") or ()),
    )


def raw_at(value: Any, path: Sequence[str | int]) -> Any:
    """Walk `path` through wire-encoded values, looking through secret wrappers."""
    for part in path:
        value = _unwrap_secret(value)
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                return None
            value = value[part]
        else:
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
    return value


def plain(value: Any) -> Any:
    """Secrets unwrapped and unknown sentinels turned into UNKNOWN, all the way down."""
    value = _unwrap_secret(value)
    if isinstance(value, str) and value in UNKNOWNS:
        return UNKNOWN
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SIG_KEY) == SECRET_SIG


def contains_secret(value: Any) -> bool:
    """True when the value, or everything that carries data inside it, is secret.

    A list of kubeconfigs whose every item is a secret counts as secret; one plain item does not.
    """
    if is_secret(value):
        return True
    if isinstance(value, list) and value:
        return all(contains_secret(item) for item in value)
    return False


def _unwrap_secret(value: Any) -> Any:
    while is_secret(value):
        value = value.get("value")
    return value
