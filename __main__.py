"""Thin on purpose: everything lives in the aion_factory library (components/)."""

from aion_factory.program import run

run()
