"""Rung 2: run a Pulumi program under mocks and record every resource it registers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    provider: str | None


@dataclass
class Recorder(pulumi.runtime.Mocks):
    resources: list[Registered] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), args.provider))
        outputs = dict(args.inputs)
        if args.typ == "scaleway:kubernetes/cluster:Cluster":
            outputs["kubeconfigs"] = [
                {"configFile": "apiVersion: v1\nkind: Config\n", "host": "https://k8s.invalid", "clusterCaCertificate": "", "token": "t"}
            ]
        if args.typ == "scaleway:object/bucket:Bucket":
            outputs.setdefault("name", f"{args.name}-4f2a")  # auto-named: Pulumi adds a random suffix
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Registered:
        [match] = [r for r in self.resources if r.name == name]
        return match


@pytest.fixture
def run_program() -> Callable[[Callable[[], Any]], Recorder]:
    """Run `program` under fresh mocks; return what it registered once every RPC is done."""

    def run(program: Callable[[], Any]) -> Recorder:
        recorder = Recorder()
        pulumi.runtime.set_mocks(recorder, project="aion-factory", stack="test", preview=False)
        pulumi.runtime.test(program)()
        return recorder

    return run
