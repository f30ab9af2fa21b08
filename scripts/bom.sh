#!/usr/bin/env bash
# The bill of materials of the toolchain the bootstrap made: every tool and provider plugin with
# its version and the sha256 of the file that runs, and the Go modules whose files are used as
# they are (Kueue's CRDs and chart, KWOK's stages) with their go.sum hash. One line each:
#   <name> <version> <sha256:hex | h1:go.sum hash> <path>
# Usage: scripts/bom.sh [ENV_FILE]   (default: the env.sh the bootstrap writes)
# scripts/bootstrap-toolchain.sh writes it to bom.txt next to env.sh; `--bom` prints it.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=versions.env
source "$ROOT/scripts/versions.env"
ENV_FILE=${1:-${AION_TOOLCHAIN_CACHE:-$HOME/.cache/aion-factory/toolchain}/env.sh}
[[ -f $ENV_FILE ]] || { echo "bom: no $ENV_FILE; run scripts/bootstrap-toolchain.sh first" >&2; exit 1; }
# shellcheck disable=SC1090
source "$ENV_FILE"

# probe BIN ARGS...: the first x.y.z the tool prints about itself.
probe() { "$@" 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1 || true; }
line() { # line NAME VERSION FILE
  [[ -n $3 && -f $3 ]] || return 0
  printf '%s %s sha256:%s %s\n' "$1" "${2:-unknown}" "$(sha256sum "$3" | cut -d' ' -f1)" "$3"
}
# A tool the bootstrap built is at its pinned version; one taken from PATH says its own.
built_or() { if [[ $2 == "$AION_TOOLCHAIN_CACHE"/* ]]; then echo "$1"; else echo "$3"; fi; }

echo "# aion-factory toolchain bill of materials ($(date -u +%Y-%m-%dT%H:%M:%SZ), from $ENV_FILE)"
echo "# name version checksum path"
pulumi_version=$(probe "$AION_PULUMI" version)
line pulumi "$pulumi_version" "$AION_PULUMI"
line pulumi-language-python "$(built_or "$PULUMI_LANGUAGE_PYTHON_VERSION" "$AION_PULUMI_LANGUAGE_PYTHON" "$pulumi_version")" "$AION_PULUMI_LANGUAGE_PYTHON"
line pulumi-language-yaml "$PULUMI_YAML_VERSION" "${AION_PULUMI_LANGUAGE_YAML:-}"
line etcd "$(probe "$AION_ETCD" --version)" "$AION_ETCD"
for tool in KUBE_APISERVER KUBE_CONTROLLER_MANAGER KUBE_SCHEDULER; do
  bin_var=AION_$tool
  name=${tool,,}
  line "${name//_/-}" "$(probe "${!bin_var}" --version)" "${!bin_var}"
done
line kubectl "$(probe "$AION_KUBECTL" version --client)" "$AION_KUBECTL"
line kwok "$(probe "$AION_KWOK" --version)" "$AION_KWOK"
line kwokctl "$(probe "$AION_KWOKCTL" --version)" "$AION_KWOKCTL"
line kueue "$KUEUE_VERSION" "$AION_KUEUE"
# Every provider plugin installed in PULUMI_HOME: a directory <kind>-<name>-v<version>.
for dir in "$AION_PULUMI_HOME"/plugins/*-v*; do
  [[ -d $dir ]] || continue
  base=${dir##*/}
  kind=${base%%-*} rest=${base#*-}
  name=${rest%-v*} version=${rest##*-v}
  line "pulumi-$kind-$name" "$version" "$dir/pulumi-$kind-$name"
done
# Go modules read as files: their go.sum hash is their checksum.
for module in "sigs.k8s.io/kueue@v$KUEUE_VERSION" "sigs.k8s.io/kwok@v$KWOK_VERSION"; do
  # GOPROXY=off: from the module cache only, never the network.
  if sum=$(GOMODCACHE="$AION_TOOLCHAIN_CACHE/go/mod" GOPROXY=off GOTOOLCHAIN=local go -C "$AION_TOOLCHAIN_CACHE" mod download -json "$module" 2>/dev/null |
    sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p'); then
    [[ -n $sum ]] && printf '%s %s %s %s\n' "${module%@*}" "${module#*@v}" "$sum" "go module"
  fi
done
