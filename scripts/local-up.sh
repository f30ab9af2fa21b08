#!/usr/bin/env bash
# The main job, end to end: set up, start a local control plane on 127.0.0.1,
# `pulumi up --refresh --stack local`, then show what the API server holds.
# Run it again after anything (a killed run, a restarted control plane, edits by
# kubectl): it recovers the stack and restores what the stack declares
# (components/devstack/localstack.py).
set -euo pipefail
cd "$(dirname "$0")/.."

make --no-print-directory venv
scripts/bootstrap-toolchain.sh
# shellcheck disable=SC1091
source "${AION_TOOLCHAIN_CACHE:-$HOME/.cache/aion-factory/toolchain}/env.sh"
source scripts/pulumi-env.sh
export PATH="$PWD/.venv/bin:$PATH"

# The control plane in $AION_STATE/local with the stack's Kueue settings, then `pulumi up --refresh`.
AION_STATE="$AION_STATE" aion local up --stack local
echo
echo "kubectl: export KUBECONFIG=$AION_LOCAL_KUBECONFIG   tear down: make local-down"
