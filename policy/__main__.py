"""Entry point the Pulumi CLI runs for `--policy-pack policy`: serves the analyzer over gRPC."""

from aion_policy.pack import run

run()
