#!/usr/bin/env bash
# The local stack on kind, for machines with Docker and internet: a kind cluster
# rendered from the spec, KWOK inside it for the simulated GPU nodes, then the
# same `pulumi up --stack local`. Needs kind, kubectl, helm and pulumi on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${KWOK_VERSION:=v0.8.0}"
source scripts/pulumi-env.sh
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p "$AION_STATE/local"

python -m aion_factory.devstack.kind stacks/Pulumi.local.yaml > "$AION_STATE/kind-config.yaml"
kind create cluster --config "$AION_STATE/kind-config.yaml" --kubeconfig "$AION_LOCAL_KUBECONFIG"
# KWOK's controller and its default stages, from its release (kwok.sigs.k8s.io install docs).
release="https://github.com/kubernetes-sigs/kwok/releases/download/$KWOK_VERSION"
kubectl --kubeconfig "$AION_LOCAL_KUBECONFIG" apply -f "$release/kwok.yaml" -f "$release/stage-fast.yaml"
# Kueue comes with the cluster, as on the bare local control plane: its chart, from its Go module,
# with the Kueue settings of the local cluster in the stack (the same configuration everywhere).
helm install kueue "${AION_KUEUE_CHART:?run scripts/bootstrap-toolchain.sh: it sets AION_KUEUE_CHART}" \
  --values <(python -m aion_factory.devstack.kind stacks/Pulumi.local.yaml --kueue-values) \
  --kubeconfig "$AION_LOCAL_KUBECONFIG" --namespace kueue-system --create-namespace --wait

pulumi plugin install resource kubernetes "$(python -c 'import importlib.metadata as m; print(m.version("pulumi-kubernetes"))')"
pulumi stack select local 2>/dev/null || pulumi stack init local --secrets-provider passphrase
pulumi up --stack local --yes --skip-preview
python -m aion_factory.devstack.show --kubeconfig "$AION_LOCAL_KUBECONFIG"
