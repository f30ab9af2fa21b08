"""Quantities written the way the API server writes them back.

Kubernetes stores a quantity in its canonical form (2048Gi is stored as 2Ti, 1000 as 1k), and Kueue's webhook
rewrites any other: an object that says `2048Gi` would show a change on every preview, and a
comparison with the live object would need to parse both sides. Every builder writes this form.
"""

from __future__ import annotations


def binary_quantity(gib: int) -> str:
    """`gib` GiB in Kubernetes' canonical form: the largest binary suffix that divides it."""
    for suffix, size in (("Pi", 1024**2), ("Ti", 1024)):
        if gib % size == 0:
            return f"{gib // size}{suffix}"
    return f"{gib}Gi"


def count_quantity(count: int) -> str:
    """A whole count in Kubernetes' canonical decimal form: 1000 is `1k`, 2000000 `2M`, 1500 `1500`."""
    for suffix in ("", "k", "M", "G", "T", "P"):
        if count % 1000 or count == 0 or suffix == "P":
            return f"{count}{suffix}"
        count //= 1000
    raise AssertionError("unreachable")
