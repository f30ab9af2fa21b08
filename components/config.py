"""Validate `aion:` config values into a FactorySpec, or say every problem (files are read in `site.py`)."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from .catalog import Catalog, load_catalog
from .checks import check_spec
from .errors import ConfigError, Problem
from .keys import key_path
from .spec import FactorySpec

NAME_PATTERN_HELP = "a DNS label: lowercase letters, digits and '-', at most 40 characters"


def spec_from_config(values: Mapping[str, Any], catalog: Catalog | None = None) -> FactorySpec:
    """Validate config values keyed without namespace (`site`, `clusters`, `tenants`)."""
    catalog = catalog or load_catalog()
    try:
        spec = FactorySpec.model_validate(dict(values))
    except ValidationError as error:
        errors = error.errors()
        # A parent's error caused by its children failing (a tuple "too short"
        # after a bad item was dropped) says nothing new: keep the deepest ones.
        locs = [tuple(e["loc"]) for e in errors]
        deepest = [e for e, loc in zip(errors, locs, strict=True) if not any(o[: len(loc)] == loc and len(o) > len(loc) for o in locs)]
        raise ConfigError([_problem(e) for e in deepest]) from None
    problems = check_spec(spec, catalog)
    if problems:
        raise ConfigError(problems)
    return spec


def _problem(error: Any) -> Problem:
    loc = tuple(error["loc"])
    path = key_path(loc)
    kind = error["type"]
    if kind == "missing":
        return Problem(path, "required key is missing")
    if kind == "extra_forbidden":
        allowed = ", ".join(_fields_at(loc[:-1])) or "none"
        return Problem(path, f"unknown key; allowed: {allowed}")
    message = error["msg"]
    if kind == "string_pattern_mismatch" and "a-z0-9" in str(error.get("ctx", {}).get("pattern", "")):
        message = f"allowed: {NAME_PATTERN_HELP}"
    return Problem(path, f"{error['input']!r} is not allowed: {message}")


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at a location accepts, for 'unknown key' messages."""
    model: Any = FactorySpec
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return []
        model = _model_in(model.model_fields[part].annotation)
    return list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _model_in(annotation: Any) -> Any:
    """The BaseModel inside `X`, `tuple[X, ...]`, `X | None` or `Annotated[...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (tuple, list, types.UnionType, typing.Union, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
