"""Why a component refused to build: said before it registers anything."""

from aion_factory import AionError


class ComponentRefused(AionError):
    """The inputs cannot be deployed as given; nothing was registered."""


def refused(what: str, detail: str) -> ComponentRefused:
    return ComponentRefused(f"{what}; nothing was registered:\n{detail}")
