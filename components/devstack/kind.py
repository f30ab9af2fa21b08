"""The kind path, for users with Docker: a kind config rendered from the spec.

`python -m aion_factory.devstack.kind STACK_FILE [CLUSTER]` prints it, with `--kueue-values`
the Kueue chart's values from the same spec; `make kind-up` uses both. The GPU pools stay simulated nodes (KWOK runs in the kind cluster).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import yaml

from ..errors import ConfigError
from ..platform.install import helm_values
from ..rendering import TemplateError, render
from ..spec import Cluster
from .local_stack import local_cluster

# kind publishes one node image per Kubernetes minor; pin the digest from kind's release notes.
DEFAULT_NODE_IMAGE = "kindest/node:v1.35.0"


def kind_config(cluster: Cluster, node_image: str = DEFAULT_NODE_IMAGE) -> str:
    text = render("kind-config.yaml.j2", cluster=cluster, node_image=node_image)
    _check(yaml.safe_load(text))
    return text


def _check(config: Any) -> None:
    if not isinstance(config, dict) or config.get("apiVersion") != "kind.x-k8s.io/v1alpha4" or config.get("kind") != "Cluster":
        raise TemplateError("kind-config.yaml.j2 did not render a kind Cluster config")
    if [n["role"] for n in config["nodes"]][:1] != ["control-plane"]:
        raise TemplateError("kind-config.yaml.j2 must start with the control-plane node")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aion_factory.devstack.kind")
    parser.add_argument("stack_file")
    parser.add_argument("cluster", nargs="?", help="a local cluster of the stack (default: the first)")
    parser.add_argument("--kueue-values", action="store_true", help="print Kueue's Helm values for the cluster instead")
    args = parser.parse_args(argv)
    try:
        cluster = local_cluster(args.stack_file, args.cluster)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.kueue_values:
        print(yaml.safe_dump(helm_values(cluster.kueue), sort_keys=False), end="")
    else:
        print(kind_config(cluster, os.environ.get("KIND_NODE_IMAGE", DEFAULT_NODE_IMAGE)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
