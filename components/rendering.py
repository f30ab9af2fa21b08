"""Jinja2 templates from templates/, strict about undefined names and parsed after rendering."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from jinja2 import Environment, FunctionLoader, StrictUndefined, select_autoescape

from .errors import AionError


class TemplateError(AionError):
    """A rendered template is not what it must be (a template bug, not user input)."""


@cache
def _environment() -> Environment:
    root = resources.files("aion_factory.templates")
    return Environment(
        loader=FunctionLoader(lambda name: root.joinpath(name).read_text()),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["svg.j2", "html.j2"]),  # the names end in .j2: ["svg"] never matched
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context: Any) -> str:
    return _environment().get_template(name).render(**context)


def render_manifests(name: str, **context: Any) -> list[dict[str, Any]]:
    """Render a YAML template and check that every document is a Kubernetes object."""
    text = render(name, **context)
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        raise TemplateError(f"{name} rendered invalid YAML: {error}") from None
    for document in documents:
        missing = [k for k in ("apiVersion", "kind", "metadata") if not isinstance(document, dict) or k not in document]
        if missing:
            raise TemplateError(f"{name} rendered an object without {', '.join(missing)}")
    return documents
