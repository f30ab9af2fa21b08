#!/usr/bin/env bash
# Destroy the local stack's resources, check that nothing carrying the project's
# labels is left (it fails loudly if so), then stop the local control plane; while a
# pulumi command holds the stack, leave the plane running for it and exit 3.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source "${AION_TOOLCHAIN_CACHE:-$HOME/.cache/aion-factory/toolchain}/env.sh"
source scripts/pulumi-env.sh
export PATH="$PWD/.venv/bin:$PATH"
# Destroys the stack only when its control plane runs (nothing to destroy otherwise), then stops it,
# unless a pulumi command holds the stack (it needs the plane to finish).
AION_STATE="$AION_STATE" aion local down --stack local
