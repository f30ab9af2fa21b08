"""What pulumi-policy receives from the engine but does not pass on to policies.

pulumi-policy 1.21 drops two things this pack needs: the stack's config (sent
with ConfigureStack) and secret markers (stripped before stack policies run).
We wrap those two gRPC handlers of its analyzer servicer to keep a copy; the
policies then read it through `engine_view()`. The handlers are the analyzer
protocol's own method names, and tests/unit/test_policy_pack.py pins them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi.runtime
from google.protobuf import json_format  # type: ignore[import-untyped]
from pulumi_policy import policy as _policy

from .view import Seen, from_wire

HANDLERS = ("ConfigureStack", "AnalyzeStack")


@dataclass
class EngineView:
    config: dict[str, str] = field(default_factory=dict)  # `namespace:key` -> value (objects as JSON)
    resources: list[Seen] = field(default_factory=list)


_VIEW = EngineView()


def engine_view() -> EngineView:
    """The stack's config and resources, as the engine last sent them to this analyzer."""
    if not _VIEW.config:
        # CLIs that run the pack through the old shim pass the config in the environment instead.
        _VIEW.config = {key: str(value) for key, value in pulumi.runtime.get_config_env().items()}
    return _VIEW


def install() -> None:
    servicer: Any = _policy._PolicyAnalyzerServicer
    if getattr(servicer, "_aion_hooked", False):
        return
    configure, analyze = servicer.ConfigureStack, servicer.AnalyzeStack
    servicer.ConfigureStack = _before(configure, _keep_config)
    servicer.AnalyzeStack = _before(analyze, _keep_resources)
    servicer._aion_hooked = True


def _keep_config(request: Any) -> None:
    _VIEW.config = dict(request.config)


def _keep_resources(request: Any) -> None:
    _VIEW.resources = [from_wire(json_format.MessageToDict(resource)) for resource in request.resources]


def _before(handler: Callable[..., Any], keep: Callable[[Any], None]) -> Callable[..., Any]:
    def wrapped(self: Any, request: Any, context: Any) -> Any:
        keep(request)
        return handler(self, request, context)

    return wrapped
