"""Quantities written the way the API server writes them back.

Kubernetes stores a quantity in its canonical form (2048Gi is stored as 2Ti), and Kueue's webhook
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
