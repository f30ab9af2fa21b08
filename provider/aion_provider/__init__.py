"""aion-factory's components for stacks in any language, served by `component_provider_host`.

Their args are plain serializable types (TypedDicts of str, numbers, lists and
maps) so that the schema can be inferred from the type hints; inside, they call
the same library components a Python stack imports from `aion_factory`.
"""

from pulumi.provider.experimental import component_provider_host

from aion_factory import __version__

from .factory_cluster import FactoryCluster, FactoryClusterArgs
from .power_plan import PowerPlan, PowerPlanArgs
from .tokens import PACKAGE

COMPONENTS: list[type] = [FactoryCluster, PowerPlan]
VERSION = __version__  # the plugin package is versioned with the library it serves

__all__ = ["COMPONENTS", "PACKAGE", "VERSION", "FactoryCluster", "FactoryClusterArgs", "PowerPlan", "PowerPlanArgs", "serve"]


def serve() -> None:
    """Serve the components (blocks): the engine talks to this process over gRPC."""
    component_provider_host([FactoryCluster, PowerPlan], name=PACKAGE, namespace="aion-factory", version=VERSION)
