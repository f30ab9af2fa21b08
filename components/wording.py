"""Counts in words: `1 cluster`, `2 clusters`, `1,000 nodes`, the one way every message says them."""

from __future__ import annotations


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`number` and `noun`, the noun in the plural unless the number is exactly one."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
