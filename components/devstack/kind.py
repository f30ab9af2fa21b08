"""The kind path, for users with Docker: a kind config rendered from the spec.

`python -m aion_factory.devstack.kind STACK_FILE [CLUSTER]` prints it; `make kind-up`
uses it. The GPU pools stay simulated nodes (KWOK runs in the kind cluster).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import yaml

from ..errors import ConfigError
from ..rendering import TemplateError, render
from ..site import load_stack_file
from ..spec import FactorySpec

# kind publishes one node image per Kubernetes minor; pin the digest from kind's release notes.
DEFAULT_NODE_IMAGE = "kindest/node:v1.35.0"


def kind_config(spec: FactorySpec, cluster_name: str, node_image: str = DEFAULT_NODE_IMAGE) -> str:
    cluster = spec.cluster(cluster_name)
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
    args = parser.parse_args(argv)
    try:
        spec = load_stack_file(args.stack_file)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    local = [c.name for c in spec.clusters if c.target == "local"]
    name = args.cluster or (local[0] if local else None)
    if name not in local:
        print(f"error: no local cluster {name!r} in {args.stack_file}; local clusters: {', '.join(local) or 'none'}", file=sys.stderr)
        return 2
    print(kind_config(spec, name, os.environ.get("KIND_NODE_IMAGE", DEFAULT_NODE_IMAGE)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
