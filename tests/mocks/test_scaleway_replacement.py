"""Rung 2: a preview warns, naming the pool, when a live GPU pool would be replaced."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pulumi
import pytest

from aion_factory import make_plan, spec_from_config
from aion_factory.scaleway.replacement import GET_POOL
from aion_factory.scaleway.stack import KapsuleClusterStack
from aion_factory.view import cluster_view
from support import MINIMAL

LIVE_H100 = {
    "name": "h100",
    "nodeType": "H100-SXM-8-80G",
    "zone": "fr-par-2",
    "rootVolumeType": "sbs_5k",
    "rootVolumeSizeInGb": 100,
    "publicIpDisabled": True,
}


class LivePools(pulumi.runtime.Mocks):
    """Mocks whose Scaleway API knows the given pools of cluster `c`; any other is not found."""

    def __init__(self, live: dict[str, dict[str, Any]], refusal: str = "") -> None:
        self.live, self.refusal = live, refusal
        self.lookups: list[dict[str, Any]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "scaleway:kubernetes/cluster:Cluster":
            outputs["kubeconfigs"] = [{"configFile": "apiVersion: v1\nkind: Config\n"}]
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        assert args.token == GET_POOL
        self.lookups.append(dict(args.args))
        if self.refusal:
            return {}, [("clusterId", self.refusal)]
        pool = self.live.get(args.args["name"])
        return pool if pool else ({}, [("name", f"no pool found with the name {args.args['name']}")])


def preview(live: dict[str, dict[str, Any]], *, dry_run: bool = True, refusal: str = "") -> LivePools:
    config = copy.deepcopy(MINIMAL)
    spec = spec_from_config(config)
    plan = make_plan(spec)
    mocks = LivePools(live, refusal)
    pulumi.runtime.set_mocks(mocks, project="aion-factory", stack="test", preview=dry_run)
    pulumi.runtime.test(lambda: KapsuleClusterStack("c", cluster_view(spec, plan, "c")))()
    return mocks


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_new_node_type_on_a_live_pool_warns_and_names_the_pool(caplog):
    with caplog.at_level(logging.WARNING):
        mocks = preview({"h100": LIVE_H100 | {"nodeType": "L40S-8-48G"}})

    [warning] = warnings_of(caplog)
    assert "GPU pool 'h100' will be REPLACED (node type L40S-8-48G -> H100-SXM-8-80G)" in warning
    assert "add a pool under a new name" in warning
    # Looked up by the Scaleway name, in the cluster's region, once the cluster's ID is known.
    assert {(call["name"], call["clusterId"], call["region"]) for call in mocks.lookups} == {
        ("h100", "c-cluster-id", "fr-par"),
        ("l4", "c-cluster-id", "fr-par"),
    }


def test_an_unchanged_live_pool_and_a_new_pool_do_not_warn(caplog):
    with caplog.at_level(logging.WARNING):
        preview({"h100": LIVE_H100})  # l4 is not found: a new pool

    assert warnings_of(caplog) == []


def test_no_lookup_outside_a_preview(caplog):
    with caplog.at_level(logging.WARNING):
        mocks = preview({"h100": LIVE_H100 | {"nodeType": "L40S-8-48G"}}, dry_run=False)

    assert mocks.lookups == []
    assert warnings_of(caplog) == []


def test_a_read_that_fails_otherwise_warns_that_the_check_could_not_run(caplog):
    """Credentials refused, an API down: the preview says it cannot tell, never stays silent."""
    refused = "scaleway-sdk-go: http error 403 Forbidden: insufficient permissions"
    with caplog.at_level(logging.WARNING):
        preview({"h100": LIVE_H100 | {"nodeType": "L40S-8-48G"}}, refusal=refused)

    warnings = warnings_of(caplog)
    assert len(warnings) == 2  # one per GPU pool of the spec: h100 and l4
    for pool, warning in zip(("h100", "l4"), sorted(warnings), strict=True):
        assert warning.startswith(f"could not check whether GPU pool {pool!r} would be REPLACED")
        assert refused in warning and "compare them with the live pool before `pulumi up`" in warning
