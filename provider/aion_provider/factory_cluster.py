"""FactoryCluster for stacks in any language: the library's component, taking its spec as plain data.

A thin adapter, as pulumi-eks's plugin is over its `Cluster`: parse the args, check
them with `deployable_clusters`, and build the library's FactoryCluster (same type
token, same outputs). No `from __future__ import annotations` here: the schema is
inferred from these annotations at run time, and they must be real types, not strings.
"""

from typing import Any, NotRequired, TypedDict

import pulumi

from aion_factory import AionError, ConfigError, spec_from_config
from aion_factory import factory as library
from aion_factory.target import LocalSettings

from .errors import refused

SPEC_KEYS = ("site", "clusters", "tenants")


class FactoryClusterArgs(TypedDict):
    """The spec, as a stack's `aion:` config writes it (shape: stacks/aion-site.schema.json), and the cluster to deploy."""

    site: dict[str, Any]
    """The site and its power tree (aion:site)."""
    clusters: list[dict[str, Any]]
    """Every cluster of the stack (aion:clusters); the plan counts all of them."""
    tenants: NotRequired[list[dict[str, Any]]]
    """Tenants and their power allotments (aion:tenants)."""
    cluster: str
    """The cluster of `clusters` this component deploys."""
    kubeconfig: NotRequired[str]
    """Local target: path of the local cluster's kubeconfig (default: $AION_LOCAL_KUBECONFIG)."""


class FactoryCluster(library.FactoryCluster):
    """A GPU cluster of the factory and its in-cluster platform, refused before any resource when
    the spec is invalid, its plan exceeds a power budget, or its target would refuse it."""

    def __init__(self, name: str, args: FactoryClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        try:
            spec = spec_from_config({key: value for key, value in args.items() if key in SPEC_KEYS})
        except ConfigError as error:
            raise refused("invalid spec", str(error)) from None
        local = LocalSettings(kubeconfig_path=args.get("kubeconfig"))
        try:
            [deployment] = library.deployable_clusters(spec, clusters=[args["cluster"]], local=local)
        except AionError as error:
            raise refused("cannot deploy the cluster", str(error)) from None
        super().__init__(name, deployment, opts)
