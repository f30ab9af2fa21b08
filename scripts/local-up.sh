#!/usr/bin/env bash
# The main job, end to end: set up, start a local control plane on 127.0.0.1,
# `pulumi up --stack local`, then show what the API server holds.
set -euo pipefail
cd "$(dirname "$0")/.."

make --no-print-directory venv
scripts/bootstrap-toolchain.sh
# shellcheck disable=SC1091
source "${AION_TOOLCHAIN_CACHE:-$HOME/.cache/aion-factory/toolchain}/env.sh"
source scripts/pulumi-env.sh
export PATH="$PWD/.venv/bin:$PATH"

python -m aion_factory.devstack.controlplane start --root "$AION_STATE/local" --stack stacks/Pulumi.local.yaml
pulumi stack select local 2>/dev/null || pulumi stack init local --secrets-provider passphrase
pulumi up --stack local --yes --skip-preview
echo
python -m aion_factory.devstack.show --kubeconfig "$AION_LOCAL_KUBECONFIG"
echo
echo "kubectl: export KUBECONFIG=$AION_LOCAL_KUBECONFIG   tear down: make local-down"
