"""`aion queues STACK_FILE [--cluster NAME] [--kubeconfig PATH]`: what Kueue has admitted on a
deployed cluster, per tenant and flavor, and the power it draws; why waiting work waits, in kW."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import Any

from ..admission import format_queue_power, queue_power
from ..errors import ConfigError, Problem, shown
from ..planner import make_plan
from ..planner.derate import under
from ..power_event import derates_beside
from ..programme_stack import current_phase
from ..site import load_stack
from ..target import kubeconfig_of
from ..view import UnknownCluster, cluster_view
from .exits import EXIT_FITS, bad_input

KUEUE = ("kueue.x-k8s.io", "v1beta2")


def add_parser(commands: Any) -> None:
    queues = commands.add_parser("queues", help="what Kueue admitted on a deployed cluster, and the power it draws")
    queues.add_argument("stack_file", help="the cluster's stack file (Pulumi.<stack>.yaml)")
    queues.add_argument("--cluster", help="the stack's cluster (default: its only one)")
    queues.add_argument("--kubeconfig", help="default: the stack's aion:kubeconfig, then the local stack's, for a local cluster")
    queues.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        stack = load_stack(args.stack_file)
        name = args.cluster or _only(stack.clusters)
        # What the cluster was given: its site in the phase deployed today, a programme's tenants included.
        current = current_phase(stack, datetime.date.today())[1]
        if current is None:
            raise ConfigError([Problem(str(args.stack_file), "deploys nothing yet: no phase of its site has come")])
        if name in stack.clusters and name not in {c.name for c in current.view.spec.clusters}:
            why = f"deploys nothing yet: cluster {name} does not exist in {current.view.label}"
            raise ConfigError([Problem(str(args.stack_file), why)])
        _, derates = derates_beside(stack.site_file or Path(args.stack_file), stack.spec)
        plan = make_plan(current.view.spec, derates=derates)
        view = cluster_view(current.view.spec, plan, name)
        kubeconfig = args.kubeconfig or kubeconfig_of(view.target, stack.kubeconfig)
        queues = _cluster_queues(kubeconfig)
    except UnknownCluster as error:
        return bad_input(ConfigError([Problem("--cluster", str(error))]))
    except ConfigError as error:
        return bad_input(error)
    rows, flavors = queue_power(view, queues)
    levels = [p.level for p in plan.pools_of(name)]
    # The events on a level this cluster draws from: its own, an ancestor's, or a row one of its pools sits in.
    affecting = tuple(d for d in (plan.derate.levels if plan.derate else ()) if any(under(level, d.level) for level in levels))
    print(format_queue_power(view, rows, flavors, affecting), end="")
    return EXIT_FITS


def _only(clusters: tuple[str, ...]) -> str:
    if len(clusters) != 1:
        raise ConfigError([Problem("--cluster", f"the stack deploys {len(clusters)} clusters: name one of {', '.join(clusters)}")])
    return clusters[0]


def _cluster_queues(kubeconfig: str | None) -> list[dict[str, Any]]:
    """The cluster's ClusterQueues, as the API server holds them."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError

    try:
        api = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        listed = client.CustomObjectsApi(api).list_cluster_custom_object(*KUEUE, "clusterqueues", _request_timeout=30)
    except (ConfigException, OSError, HTTPError) as error:
        raise ConfigError([Problem("--kubeconfig", f"{shown(kubeconfig or '~/.kube/config')} does not reach a cluster: {error}")]) from None
    except client.ApiException as error:
        raise ConfigError(
            [Problem("--kubeconfig", f"the cluster refused to list Kueue's ClusterQueues: {error.status} {error.reason}")]
        ) from None
    items: list[dict[str, Any]] = listed["items"]  # type: ignore[index]
    return items
