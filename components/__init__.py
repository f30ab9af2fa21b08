"""aion_factory: declare AI factory GPU clusters as code, checked against their power budget.

This top level is pure (spec, catalog, planner): it never imports Pulumi. The
Pulumi components live in `aion_factory.scaleway`, `aion_factory.platform` and
`aion_factory.local`.
"""

from .catalog import Catalog, load_catalog
from .config import spec_from_config
from .errors import AionError, ConfigError, Problem
from .planner import Plan, make_plan, split_fleet
from .site import SiteStack, load_site, load_stack, load_stack_file
from .spec import FactorySpec

# The one place the version is written: pyproject.toml reads it, so do the wheel and `aion --version`.
__version__ = "0.1.0"

__all__ = [
    "AionError",
    "Catalog",
    "ConfigError",
    "FactorySpec",
    "Plan",
    "Problem",
    "SiteStack",
    "__version__",
    "load_catalog",
    "load_site",
    "load_stack",
    "load_stack_file",
    "make_plan",
    "spec_from_config",
    "split_fleet",
]
