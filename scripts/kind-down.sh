#!/usr/bin/env bash
# Destroy the local stack on kind, then delete the kind cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pulumi-env.sh
export PATH="$PWD/.venv/bin:$PATH"
pulumi destroy --stack local --yes --skip-preview || true
kind delete cluster --name "$(python -c 'import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))["name"])' "$AION_STATE/kind-config.yaml")"
