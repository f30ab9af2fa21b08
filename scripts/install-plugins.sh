#!/usr/bin/env bash
# Installs the provider plugins a stack deploys with (pulumiverse-scaleway, which the Go module
# proxy cannot build, and, with AION_PLUGINS=all, pulumi-kubernetes too, as CI's deploy and drift
# jobs need it with Pulumi's own downloads off) from a mirror the operator controls, never from
# GitHub: each archive at its pinned version (scripts/versions.env) is checked against its pinned
# sha256 (scripts/plugin-checksums.sha256) before `pulumi plugin install --file` installs it. An
# installed copy of the same version (a cache) is removed first, never trusted. Nothing is
# installed when a check fails, and the script exits non-zero.
#
# Usage: AION_PLUGIN_MIRROR=https://mirror.example.eu/pulumi-plugins scripts/install-plugins.sh
#        AION_PLUGIN_MIRROR=/media/transfer/plugins scripts/install-plugins.sh   (a folder: air-gapped transfer)
# A URL mirror must be https: a plain-http download could be swapped on the way (the pin would
# refuse it, but then nothing installs), so it is refused before any download.
# The mirror holds the release archives under their own names, e.g.
# pulumi-resource-scaleway-v1.60.0-linux-amd64.tar.gz (Pulumi's plugin download layout).
#   AION_PLUGIN_CHECKSUMS  the pinned checksums (default: scripts/plugin-checksums.sha256)
#   AION_PULUMI            the pulumi CLI (default: pulumi on PATH)
#   AION_PULUMI_HOME       PULUMI_HOME to install into (default: $PULUMI_HOME, else ~/.pulumi)
#   AION_PLUGINS           `scaleway` (default) or `all` (scaleway and kubernetes)
# Prints the PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES value that sends any other download of these
# plugins to the mirror too (an https mirror only).
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=versions.env
source "$ROOT/scripts/versions.env"

die() { echo "install-plugins: $*" >&2; exit 1; }

MIRROR=${AION_PLUGIN_MIRROR:-}
[[ -n $MIRROR ]] || die "set AION_PLUGIN_MIRROR to the mirror (an https URL or a folder)"
case $MIRROR in
  https://*) remote=true ;;
  *://*) die "mirror $MIRROR: only https:// URLs (or a folder) are allowed" ;;
  *) remote=false ;;
esac
CHECKSUMS=${AION_PLUGIN_CHECKSUMS:-$ROOT/scripts/plugin-checksums.sha256}
PULUMI=${AION_PULUMI:-pulumi}
export PULUMI_HOME=${AION_PULUMI_HOME:-${PULUMI_HOME:-$HOME/.pulumi}}
export PULUMI_SKIP_UPDATE_CHECK=true

case $(uname -s) in Linux) os=linux ;; Darwin) os=darwin ;; *) die "unsupported OS $(uname -s)" ;; esac
case $(uname -m) in x86_64 | amd64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) die "unsupported CPU $(uname -m)" ;; esac

# kind name version: where the Python SDK would download it from (its pulumi-plugin.json `server`;
# `-`: Pulumi's own default source, no override).
PLUGINS=("resource scaleway $PULUMIVERSE_SCALEWAY_VERSION github://api.github.com/pulumiverse")
case ${AION_PLUGINS:-scaleway} in
  scaleway) ;;
  all) PLUGINS+=("resource kubernetes $PULUMI_KUBERNETES_VERSION -") ;;
  *) die "AION_PLUGINS=${AION_PLUGINS}: allowed: scaleway, all" ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
overrides=()
verified=()
# Every archive is downloaded and checked before any is installed: one bad pin installs nothing.
for plugin in "${PLUGINS[@]}"; do
  read -r kind name version server <<<"$plugin"
  file="pulumi-$kind-$name-v$version-$os-$arch.tar.gz"
  expected=$(awk -v f="$file" '$1 !~ /^#/ && $2 == f { print $1 }' "$CHECKSUMS")
  [[ -n $expected ]] ||
    die "no pinned sha256 for $file in $CHECKSUMS: check the release's checksum, add '<sha256>  $file' there in a reviewed commit"
  if $remote; then
    curl -fsSL --proto '=https' --proto-redir '=https' --retry 3 -o "$work/$file" "${MIRROR%/}/$file" ||
      die "cannot download ${MIRROR%/}/$file"
  else
    cp "$MIRROR/$file" "$work/$file" 2>/dev/null || die "no $file in $MIRROR"
  fi
  actual=$(sha256sum "$work/$file" | cut -d' ' -f1)
  [[ $actual == "$expected" ]] ||
    die "$file: sha256 $actual differs from the pinned $expected ($CHECKSUMS); not installed"
  verified+=("$kind $name $version $file $actual")
  if [[ $server != - ]]; then overrides+=("^${server//./\\.}=${MIRROR%/}"); fi
done
for plugin in "${verified[@]}"; do
  read -r kind name version file actual <<<"$plugin"
  # A copy already installed (restored from a cache, left by an earlier job) is not trusted.
  rm -rf "$PULUMI_HOME/plugins/$kind-$name-v$version" "$PULUMI_HOME/plugins/$kind-$name-v$version.lock"
  "$PULUMI" plugin install "$kind" "$name" "v$version" --file "$work/$file" >&2
  echo "install-plugins: $kind $name v$version installed from $MIRROR (sha256 $actual)" >&2
done
if $remote; then
  (IFS=,; echo "${overrides[*]}")
fi
