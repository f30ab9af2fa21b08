"""One cluster stack's program under mocks, in a process of its own (mocked runs in one process can hang,
pulumi/pulumi#7663): `python fleet_stack.py STACK_FILE` prints what it registered as JSON."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pulumi
import yaml


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[dict[str, Any]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.registered.append({"type": args.typ, "name": args.name, "inputs": dict(args.inputs)})
        outputs = dict(args.inputs)
        if args.typ == "scaleway:kubernetes/cluster:Cluster":
            outputs["kubeconfigs"] = [{"configFile": "apiVersion: v1\nkind: Config\n"}]
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def main(stack_file: Path) -> None:
    config = yaml.safe_load(stack_file.read_text())["config"]
    # As `aion fleet` does: the program resolves aion:site_file from the folder of the stack file selected.
    os.environ["AION_STACK_DIR"] = str(stack_file.parent)
    os.environ["PULUMI_CONFIG"] = json.dumps({key: json.dumps(value) for key, value in config.items()})
    for name in ("SCW_ACCESS_KEY", "SCW_SECRET_KEY", "SCW_DEFAULT_PROJECT_ID"):
        os.environ[name] = "mock"
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="aion-factory", stack=stack_file.stem.removeprefix("Pulumi."), preview=False)
    from aion_factory import program

    pulumi.runtime.test(program.run)()
    print(json.dumps(recorder.registered))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
