#!/usr/bin/env bash
# Destroy the local stack's resources, check that nothing carrying the project's
# labels is left (it fails loudly if so), then stop the local control plane.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source "${AION_TOOLCHAIN_CACHE:-$HOME/.cache/aion-factory/toolchain}/env.sh"
source scripts/pulumi-env.sh
export PATH="$PWD/.venv/bin:$PATH"
if python -m aion_factory.devstack.controlplane status --root "$AION_STATE/local" | grep -q kube-apiserver; then
  status=0
  python -m aion_factory.devstack.localstack down --stack local || status=$?
  python -m aion_factory.devstack.controlplane stop --root "$AION_STATE/local"
  exit "$status"
fi
python -m aion_factory.devstack.controlplane stop --root "$AION_STATE/local"
