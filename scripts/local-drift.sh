#!/usr/bin/env bash
# Has the local stack drifted? Exit 0: no; 1: yes (it says which check found it); 2: cannot tell.
# The same check the nightly Drift workflow runs on every production stack.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source "${AION_TOOLCHAIN_CACHE:-$HOME/.cache/aion-factory/toolchain}/env.sh"
source scripts/pulumi-env.sh
export PATH="$PWD/.venv/bin:$PATH"
exec python -m aion_factory.fleet.drift --stack local
