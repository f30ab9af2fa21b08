#!/usr/bin/env bash
# Destroy the local stack's resources, then stop the local control plane.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source "${AION_TOOLCHAIN_CACHE:-$HOME/.cache/aion-factory/toolchain}/env.sh"
source scripts/pulumi-env.sh
export PATH="$PWD/.venv/bin:$PATH"
if python -m aion_factory.devstack.controlplane status --root "$AION_STATE/local" | grep -q kube-apiserver; then
  pulumi destroy --stack local --yes --skip-preview
fi
python -m aion_factory.devstack.controlplane stop --root "$AION_STATE/local"
