"""Validate `aion:` config values into a FactorySpec, or say every problem (files are read in `site.py`)."""

from __future__ import annotations

import copy
import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from .catalog import Catalog, load_catalog
from .checks import check_spec
from .errors import SHOWN_CHARS, ConfigError, Problem, shown
from .keys import key_path
from .spec import FactorySpec, bounds_of

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
        problems = [_problem(e) for e in deepest]
        raise ConfigError(problems + _cross_checks_without(values, [tuple(e["loc"]) for e in deepest], problems, catalog)) from None
    problems = check_spec(spec, catalog)
    if problems:
        raise ConfigError(problems)
    return spec


def _cross_checks_without(values: Mapping[str, Any], bad: list[tuple[Any, ...]], found: list[Problem], catalog: Catalog) -> list[Problem]:
    """Every problem at once: the cross-checks too, on the config without its bad keys (each left to
    its default), when that much still makes a spec; none where a bad key has no default."""
    trimmed = copy.deepcopy(dict(values))
    for loc in bad:
        *parents, key = loc
        holder: Any = trimmed
        for part in parents:
            holder = holder[part] if isinstance(holder, dict | list) else None
        if not isinstance(holder, dict) or key not in holder:
            return []  # a list entry or a value that is not a mapping: nothing sensible to leave out
        del holder[key]
    try:
        spec = FactorySpec.model_validate(trimmed)
    except ValidationError:
        return []
    said = {p.path for p in found}
    return [p for p in check_spec(spec, catalog) if p.path not in said]


def _problem(error: Any) -> Problem:
    loc = tuple(_readable(part) for part in error["loc"])
    kind = error["type"]
    if loc[-1:] == ("[key]",):  # a mapping's key is wrong, not its value: name the mapping
        return Problem(key_path(loc[:-2]), f"key {shown(error['input'])} is not allowed: {error['msg']}")
    path = key_path(loc)
    if kind == "missing":
        return Problem(path, "required key is missing")
    if kind == "extra_forbidden":
        fields = _fields_at(loc[:-1])
        return Problem(path, f"unknown key{did_you_mean(loc[-1], fields)}; allowed: {', '.join(fields) or 'none'}")
    message = error["msg"]
    if kind == "string_pattern_mismatch" and "a-z0-9" in str(error.get("ctx", {}).get("pattern", "")):
        message = f"allowed: {NAME_PATTERN_HELP}"
    elif kind == "bool_type":
        message = "allowed: true or false"
    elif kind in _NUMBER_ERRORS and (field := _field_at(loc)) is not None and (bounds := bounds_of(field)):
        message = f"{message}; allowed: {bounds}"
    return Problem(path, f"{shown(error['input'])} is not allowed: {message}")


def did_you_mean(key: object, allowed: list[str]) -> str:
    """` (did you mean 'tenants'?)` for a misspelt key, or nothing when no allowed key is close."""
    close = difflib.get_close_matches(key, allowed, n=1) if isinstance(key, str) else []
    return f" (did you mean {close[0]!r}?)" if close else ""


# Errors of a number field: their messages say what is wrong, the field's bounds what is allowed.
_NUMBER_ERRORS = (
    "bool_as_number", "finite_number", "float_parsing", "float_type", "int_parsing", "int_type", "int_from_float",
    "int_parsing_size", "greater_than", "greater_than_equal", "less_than", "less_than_equal",
)  # fmt: skip


def _readable(part: Any) -> Any:
    """A location part as a key path shows it: a mapping key of any length would flood the message."""
    return shown(part) if isinstance(part, str) and len(part) > SHOWN_CHARS else part


def _field_at(loc: tuple[Any, ...]) -> FieldInfo | None:
    """The spec field at a location (list indices skipped), for its bounds."""
    model: Any = FactorySpec
    field = None
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        field = model.model_fields[part]
        model = _model_in(field.annotation)
    return field


def _fields_at(loc: tuple[Any, ...], root: type[BaseModel] = FactorySpec) -> list[str]:
    """The keys the model at a location accepts, for 'unknown key' messages."""
    model: Any = root
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


fields_at = _fields_at  # for other documents' messages (a programme's): `fields_at(loc, ProgrammeSpec)`
