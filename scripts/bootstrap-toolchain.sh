#!/usr/bin/env bash
# Makes the offline toolchain available: Pulumi CLI + Python language host,
# the pulumi-kubernetes provider plugin, etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, kwok/kwokctl, and Kueue's
# CRDs. Each tool is taken from PATH when a usable version is there, else from
# the cache, else built from the Go module proxy (the only source reachable).
#
# Usage: scripts/bootstrap-toolchain.sh            then: source "$CACHE/env.sh"
#        scripts/bootstrap-toolchain.sh --bom      the same, then print the bill of materials
#   AION_TOOLCHAIN_CACHE  cache root (default ~/.cache/aion-factory/toolchain)
#   AION_PULUMI_HOME      PULUMI_HOME to install the kubernetes plugin into
#                         (default: $PULUMI_HOME, else ~/.pulumi, as pulumi does)
#   AION_TOOLCHAIN_NO_PATH=1  ignore PATH, always use cached/built binaries
#   AION_PLUGIN_MIRROR    a mirror (https URL or folder) to install the Scaleway provider plugin
#                         from, checked against its pinned sha256 (scripts/install-plugins.sh)
#
# Every run writes the bill of materials next to env.sh (bom.txt: each tool and plugin with
# its version and sha256, scripts/bom.sh). For a sovereign site: docs/AIRGAP.md.
#
# Versions are pinned in scripts/versions.env and tools/<family>/go.mod.
# A cold build takes a long while on 2 cores; later runs take seconds.
set -euo pipefail
shopt -s inherit_errexit # failures inside $(...) stop the script too

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PRINT_BOM=false
case ${1:-} in
  --bom) PRINT_BOM=true ;;
  "") ;;
  *) echo "usage: $0 [--bom]" >&2; exit 2 ;;
esac
# shellcheck source-path=SCRIPTDIR source=versions.env
source "$ROOT/scripts/versions.env"

CACHE=${AION_TOOLCHAIN_CACHE:-$HOME/.cache/aion-factory/toolchain}
PULUMI_HOME_DIR=${AION_PULUMI_HOME:-${PULUMI_HOME:-$HOME/.pulumi}}
mkdir -p "$CACHE/logs"

# Module and build caches live in the cache root, so they persist across runs
# and never land in the repo. Static binaries (CGO off), as upstream ships them.
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build"
export GOFLAGS="-modcacherw -buildvcs=false" CGO_ENABLED=0
# No toolchain downloads: the machine's Go must be new enough (pkg/v3 needs 1.26.6).
export GOTOOLCHAIN=local
export PULUMI_SKIP_UPDATE_CHECK=true

START=$SECONDS
# Progress goes to stderr: stdout of the helpers below is captured in $(...).
log() { printf '[bootstrap %3dm%02ds] %s\n' $(((SECONDS - START) / 60)) $(((SECONDS - START) % 60)) "$*" >&2; }
die() { log "ERROR: $*" >&2; exit 1; }

command -v go >/dev/null || die "go not found (need Go >= 1.26.6)"
go_v=$(go env GOVERSION); go_v=${go_v#go}
[[ $(printf '%s\n' 1.26.6 "$go_v" | sort -V | head -n1) == 1.26.6 ]] ||
  die "Go $go_v is too old: need >= 1.26.6 (or export GOTOOLCHAIN=go1.27.3 to fetch one from the proxy)"

# in_range V MIN MAX: MIN <= V < MAX (version order)
in_range() {
  [[ $(printf '%s\n' "$2" "$1" | sort -V | head -n1) == "$2" ]] &&
    [[ $(printf '%s\n' "$1" "$3" | sort -V | head -n1) == "$1" && $1 != "$3" ]]
}

# from_path NAME MIN MAX ARGS...: print NAME's path if it is on PATH and the
# first x.y.z in the output of `NAME ARGS...` lies in [MIN, MAX).
from_path() {
  local name=$1 min=$2 max=$3 bin v
  shift 3
  [[ ${AION_TOOLCHAIN_NO_PATH:-} == 1 ]] && return 1
  bin=$(command -v "$name" 2>/dev/null) || return 1
  v=$("$bin" "$@" 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1) || return 1
  in_range "$v" "$min" "$max" || return 1
  log "$name: using $bin ($v, from PATH)"
  echo "$bin"
}

# timed LABEL LOGFILE CMD...: run CMD with output to LOGFILE, printing elapsed
# time every minute so a cold build visibly makes progress.
timed() {
  local label=$1 logfile=$2 t0=$SECONDS ticker rc=0
  shift 2
  log "$label: building (log: $logfile)"
  # The ticker's sleep is killed with it, so nothing holds the output open.
  (
    trap 'kill $s 2>/dev/null; exit 0' TERM
    while :; do
      sleep 60 & s=$!
      wait $s
      log "$label: still building, $(((SECONDS - t0) / 60))m elapsed"
    done
  ) &
  ticker=$!
  "$@" >"$logfile" 2>&1 || rc=$?
  kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null || true
  if ((rc != 0)); then tail -n 30 "$logfile" >&2; die "$label failed after $((SECONDS - t0))s"; fi
  log "$label: built in $((SECONDS - t0))s"
}

# go_tool NAME VERSION FAMILY PKG LDFLAGS: print the cached binary
# $CACHE/NAME/VERSION/bin/NAME, building PKG in the wrapper tools/FAMILY first
# if it is missing. Builds go to a temp name so an interrupted one is redone.
go_tool() {
  local name=$1 version=$2 family=$3 pkg=$4 ldflags=$5
  local out="$CACHE/$name/$version/bin/$name"
  if [[ ! -x $out ]]; then
    mkdir -p "${out%/*}"
    timed "$name $version" "$CACHE/logs/$name-$version.log" \
      go -C "$ROOT/tools/$family" build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg"
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# --- Pulumi CLI and Python language host -------------------------------------
PULUMI_LDFLAGS="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
if PULUMI=$(from_path pulumi "$PULUMI_PY_VERSION" 4.0.0 version) &&
  [[ -x ${PULUMI%/*}/pulumi-language-python ]]; then
  # A full install (pulumi plus the language hosts beside it) is usable as is.
  LANG_PYTHON=${PULUMI%/*}/pulumi-language-python
else
  PULUMI=$(go_tool pulumi "$PULUMI_VERSION" pulumi \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$PULUMI_LDFLAGS=v$PULUMI_VERSION")
  LANG_PYTHON=$(go_tool pulumi-language-python "$PULUMI_LANGUAGE_PYTHON_VERSION" pulumi-language-python \
    github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python "$PULUMI_LDFLAGS=v$PULUMI_LANGUAGE_PYTHON_VERSION")
  # The host runs Python through this shim, looked up beside the host's real
  # path; take the one that matches the Python SDK (a file of the sdk/v3 module).
  exec_shim=${LANG_PYTHON%/*}/pulumi-language-python-exec
  if [[ ! -x $exec_shim ]]; then
    sdk_dir=$(go -C "$CACHE" mod download -json "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_PY_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$exec_shim"
  fi
  # Dynamic providers (the local stack's simulated nodes) run through this shim,
  # which the CLI looks for next to itself, where a release archive ships it.
  dynamic_shim=${PULUMI%/*}/pulumi-resource-pulumi-python
  if [[ ! -x $dynamic_shim ]]; then
    sdk_dir=$(go -C "$CACHE" mod download -json "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_PY_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    install -m 0755 "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$dynamic_shim"
  fi
  # YAML programs (the plugin package's consumers) need their language host too.
  LANG_YAML=$(go_tool pulumi-language-yaml "$PULUMI_YAML_VERSION" pulumi-yaml \
    github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml \
    "-X github.com/pulumi/pulumi-yaml/pkg/version.Version=v$PULUMI_YAML_VERSION")
  ln -sfn "$LANG_YAML" "${PULUMI%/*}/pulumi-language-yaml"
  # The CLI looks for its language hosts next to itself: link them there, as a
  # release archive lays them out, so no "using ... from \$PATH" warnings.
  for f in pulumi-language-python pulumi-language-python-exec; do
    ln -sfn "${LANG_PYTHON%/*}/$f" "${PULUMI%/*}/$f"
  done
fi

# --- pulumi-kubernetes provider plugin ---------------------------------------
# Plugins are matched by exact version, so it is installed into PULUMI_HOME
# under the version of the pulumi-kubernetes Python package.
K8S_PLUGIN_DIR="$PULUMI_HOME_DIR/plugins/resource-kubernetes-v$PULUMI_KUBERNETES_VERSION"
build_k8s_provider() {
  local v=$PULUMI_KUBERNETES_VERSION dir="$CACHE/pulumi-resource-kubernetes/$PULUMI_KUBERNETES_VERSION"
  local out="$dir/bin/pulumi-resource-kubernetes" src
  if [[ -x $out ]]; then echo "$out"; return; fi
  # main.go embeds schema-embed.json, which `go generate` makes from the
  # committed schema.json and which the module zip lacks: so generate it in a
  # writable copy of the module and build from that copy (a directory replace
  # in a scratch copy of the wrapper, keeping the wrapper's pinned versions).
  rm -rf "$dir/work" && mkdir -p "$dir/work/wrapper" "$dir/bin"
  src=$(go -C "$ROOT/tools/pulumi-kubernetes" mod download -json github.com/pulumi/pulumi-kubernetes/provider/v4 |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  cp -R "$src" "$dir/work/src" && chmod -R u+w "$dir/work/src"
  cp "$ROOT/tools/pulumi-kubernetes/go.mod" "$ROOT/tools/pulumi-kubernetes/go.sum" "$dir/work/wrapper/"
  go -C "$dir/work/wrapper" mod edit -replace github.com/pulumi/pulumi-kubernetes/provider/v4=../src
  timed "pulumi-resource-kubernetes $v: schema generator" "$CACHE/logs/pulumi-resource-kubernetes-$v-generate.log" \
    go -C "$dir/work/wrapper" build -o "$dir/work/generate" ../src/cmd/pulumi-resource-kubernetes/generate.go
  (cd "$dir/work/src/cmd/pulumi-resource-kubernetes" && VERSION=$v "$dir/work/generate") >&2
  timed "pulumi-resource-kubernetes $v" "$CACHE/logs/pulumi-resource-kubernetes-$v.log" \
    go -C "$dir/work/wrapper" build -trimpath -o "$out.tmp" \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$v" \
    github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes
  mv "$out.tmp" "$out" && rm -rf "$dir/work"
  echo "$out"
}
if [[ -x $K8S_PLUGIN_DIR/pulumi-resource-kubernetes ]]; then
  K8S_PLUGIN=$K8S_PLUGIN_DIR/pulumi-resource-kubernetes
  log "pulumi-resource-kubernetes: using $K8S_PLUGIN (installed in PULUMI_HOME)"
else
  K8S_PLUGIN=$(build_k8s_provider)
  # --file installs a local binary: nothing is downloaded.
  PULUMI_HOME=$PULUMI_HOME_DIR "$PULUMI" plugin install resource kubernetes \
    "v$PULUMI_KUBERNETES_VERSION" --file "$K8S_PLUGIN" >&2
fi

# --- Provider plugins from the operator's mirror -----------------------------
# pulumiverse-scaleway cannot be built from the Go module proxy; by default Pulumi downloads
# it from GitHub. With a mirror, it is installed from there, checked against its pinned sha256,
# and env.sh sends any other download of it to the mirror too.
PLUGIN_OVERRIDES=""
if [[ -n ${AION_PLUGIN_MIRROR:-} ]]; then
  PLUGIN_OVERRIDES=$(AION_PULUMI=$PULUMI AION_PULUMI_HOME=$PULUMI_HOME_DIR "$ROOT/scripts/install-plugins.sh")
fi

# --- Local control plane: etcd, Kubernetes binaries, kwok ---------------------
ETCD=$(from_path etcd 3.6.0 3.7.0 --version) ||
  ETCD=$(go_tool etcd "$ETCD_VERSION" etcd go.etcd.io/etcd/server/v3 "")

# Kubernetes binaries report this version; tools that parse it (kwokctl) need it.
KV=$KUBERNETES_VERSION KMINOR=${KUBERNETES_VERSION#*.}
KMINOR=${KMINOR%%.*}
KUBE_LDFLAGS="-X k8s.io/component-base/version.gitVersion=v$KV -X k8s.io/component-base/version.gitMajor=1"
KUBE_LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=$KMINOR -X k8s.io/component-base/version.gitTreeState=clean"
KUBE_LDFLAGS+=" -X k8s.io/client-go/pkg/version.gitVersion=v$KV -X k8s.io/client-go/pkg/version.gitMajor=1"
KUBE_LDFLAGS+=" -X k8s.io/client-go/pkg/version.gitMinor=$KMINOR"
kube() { # kube NAME: the PATH one if it is v1.<minor>.x, else cached/built
  from_path "$1" "1.$KMINOR.0" "1.$((KMINOR + 1)).0" --version ||
    go_tool "$1" "$KV" kubernetes "k8s.io/kubernetes/cmd/$1" "$KUBE_LDFLAGS"
}
KUBE_APISERVER=$(kube kube-apiserver)
KUBE_CONTROLLER_MANAGER=$(kube kube-controller-manager)
KUBE_SCHEDULER=$(kube kube-scheduler)
# kubectl is supported within one minor version of the API server.
KUBECTL=$(from_path kubectl "1.$((KMINOR - 1)).0" "1.$((KMINOR + 2)).0" version --client) ||
  KUBECTL=$(go_tool kubectl "$KV" kubernetes k8s.io/kubernetes/cmd/kubectl "$KUBE_LDFLAGS")

# kwokctl defaults to this Kubernetes version when it is stamped in.
KWOK_LDFLAGS="-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$KV"
KWOK=$(from_path kwok "$KWOK_VERSION" 0.9.0 --version) ||
  KWOK=$(go_tool kwok "$KWOK_VERSION" kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_LDFLAGS")
KWOKCTL=$(from_path kwokctl "$KWOK_VERSION" 0.9.0 --version) ||
  KWOKCTL=$(go_tool kwokctl "$KWOK_VERSION" kwok sigs.k8s.io/kwok/cmd/kwokctl "$KWOK_LDFLAGS")

# KWOK takes its stages (node start, heartbeat with a lease, pod lifecycle) from
# config files: the ones its release ships, read from its module, not copied here.
# Pods of Jobs complete after the general stage's delay (1 to 6 s, or what the pod's
# pod-complete.stage.kwok.x-k8s.io/delay annotation says), so Kueue sees them run.
KWOK_DIR=$(go -C "$CACHE" mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
STAGES=$KWOK_DIR/kustomize/stage
KWOK_STAGES=$STAGES/node/fast/node-initialize.yaml:$STAGES/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
KWOK_STAGES+=:$STAGES/pod/fast/pod-ready.yaml:$STAGES/pod/general/pod-complete.yaml:$STAGES/pod/fast/pod-delete.yaml
for f in ${KWOK_STAGES//:/ }; do [[ -f $f ]] || die "no KWOK stage file $f"; done

# --- Kueue: CRDs, webhooks and manager -----------------------------------------
# The sigs.k8s.io/kueue module is the whole repository: its CRDs, webhook
# manifests and Helm chart come with it, no container registry needed. Its
# manager builds from the module as it is (no replace lines).
KUEUE_DIR=$(go -C "$CACHE" mod download -json "sigs.k8s.io/kueue@v$KUEUE_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
KUEUE_CRDS=$KUEUE_DIR/config/components/crd/bases
ls "$KUEUE_CRDS"/kueue.x-k8s.io_clusterqueues.yaml >/dev/null || die "no Kueue CRDs in $KUEUE_CRDS"
KUEUE=$(go_tool kueue "$KUEUE_VERSION" kueue sigs.k8s.io/kueue/cmd/kueue "-X sigs.k8s.io/kueue/pkg/version.GitVersion=v$KUEUE_VERSION")

# --- env file ----------------------------------------------------------------
ENV_FILE=$CACHE/env.sh
path_dirs=""
for b in "$PULUMI" "$KUBECTL" "$ETCD" "$KUBE_APISERVER" "$KUBE_CONTROLLER_MANAGER" "$KUBE_SCHEDULER" "$KWOK" "$KWOKCTL"; do
  case ":$path_dirs:" in *":${b%/*}:"*) ;; *) path_dirs=${path_dirs:+$path_dirs:}${b%/*} ;; esac
done
cat >"$ENV_FILE.tmp" <<EOF
# Written by scripts/bootstrap-toolchain.sh; source it. Regenerated each run.
export AION_TOOLCHAIN_CACHE='$CACHE'
export PATH='$path_dirs':"\$PATH"
export AION_PULUMI='$PULUMI'
export AION_PULUMI_LANGUAGE_PYTHON='$LANG_PYTHON'
export AION_PULUMI_LANGUAGE_YAML='${LANG_YAML:-}'
# The v$PULUMI_LANGUAGE_PYTHON_VERSION language host built here ignores Pulumi.yaml's virtualenv
# option (the CLI no longer passes it on): set PULUMI_PYTHON_CMD=<venv>/bin/python.
# Install the kubernetes plugin into another PULUMI_HOME with:
#   PULUMI_HOME=... pulumi plugin install resource kubernetes v\$AION_PULUMI_KUBERNETES_VERSION --file "\$AION_PULUMI_K8S_PLUGIN"
export AION_PULUMI_HOME='$PULUMI_HOME_DIR'
export AION_PULUMI_KUBERNETES_VERSION='$PULUMI_KUBERNETES_VERSION'
export AION_PULUMI_K8S_PLUGIN='$K8S_PLUGIN'
export AION_ETCD='$ETCD'
export AION_KUBE_APISERVER='$KUBE_APISERVER'
export AION_KUBE_CONTROLLER_MANAGER='$KUBE_CONTROLLER_MANAGER'
export AION_KUBE_SCHEDULER='$KUBE_SCHEDULER'
export AION_KUBECTL='$KUBECTL'
export AION_KWOK='$KWOK'
export AION_KWOKCTL='$KWOKCTL'
export AION_KUBERNETES_VERSION='v$KV'
export AION_KUEUE_DIR='$KUEUE_DIR'
export AION_KUEUE='$KUEUE'
export AION_KWOK_STAGES='$KWOK_STAGES'
export AION_KUEUE_CHART='$KUEUE_DIR/charts/kueue'
# kwokctl: run the binaries above instead of downloading them or using Docker.
export KWOK_RUNTIME=binary KWOK_KUBE_VERSION='v$KV'
export KWOK_ETCD_BINARY='$ETCD' KWOK_KUBE_APISERVER_BINARY='$KUBE_APISERVER'
export KWOK_KUBE_CONTROLLER_MANAGER_BINARY='$KUBE_CONTROLLER_MANAGER' KWOK_KUBE_SCHEDULER_BINARY='$KUBE_SCHEDULER'
export KWOK_CONTROLLER_BINARY='$KWOK' KWOK_KUBECTL_BINARY='$KUBECTL'
EOF
if [[ -n $PLUGIN_OVERRIDES ]]; then
  # Pulumi's own download of these plugins goes to the mirror, never to GitHub.
  echo "export PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES='$PLUGIN_OVERRIDES'" >>"$ENV_FILE.tmp"
fi
mv "$ENV_FILE.tmp" "$ENV_FILE"
"$ROOT/scripts/bom.sh" "$ENV_FILE" >"$CACHE/bom.txt.tmp"
mv "$CACHE/bom.txt.tmp" "$CACHE/bom.txt"
log "done; env file: $ENV_FILE  (source it); bill of materials: $CACHE/bom.txt"
if $PRINT_BOM; then cat "$CACHE/bom.txt"; fi
