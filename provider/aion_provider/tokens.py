"""The plugin's package name: type tokens read `aion-factory:index:<Component>` in every language."""

PACKAGE = "aion-factory"


def token(component: str) -> str:
    return f"{PACKAGE}:index:{component}"
