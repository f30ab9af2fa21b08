"""Config key paths as users write them: `aion:clusters[1].pools[0].node_type`."""

from __future__ import annotations

from collections.abc import Iterable

NAMESPACE = "aion"


def key_path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else f"{NAMESPACE}:{part}"
    return text or f"{NAMESPACE}:"
