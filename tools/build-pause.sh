#!/usr/bin/env bash
# Builds Kubernetes' pause image (every pod's sandbox) from the k8s.io/kubernetes module at the
# control plane's version: build/pause/linux/pause.c compiled statically with Debian's gcc, the
# image made by buildah from that directory's own Dockerfile (on scratch), and saved as a docker
# archive named registry.k8s.io/pause:<its tag>, which a node's containerd imports instead of
# pulling it.
# Usage: tools/build-pause.sh OUT_FILE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-pause.sh OUT_FILE}
k8s=$(sed -n 's/^K8S_VERSION=//p' "$here/versions.env")
export BUILDAH_RUNTIME=${BUILDAH_RUNTIME:-runc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

module=$(cd "$work" && GOFLAGS= go mod download -json "k8s.io/kubernetes@v$k8s" | sed -n 's/^\s*"Dir": "\(.*\)",*$/\1/p')
[ -f "$module/build/pause/linux/pause.c" ] || { echo "build-pause: no build/pause in $module" >&2; exit 1; }
tag=$(sed -n 's/^TAG ?= //p' "$module/build/pause/Makefile")
arch=$(go env GOARCH)
mkdir -p "$work/bin" "$(dirname "$out")"
gcc -Os -Wall -Werror -static -DVERSION="v$tag-k8s-v$k8s" -o "$work/bin/pause-linux-$arch" "$module/build/pause/linux/pause.c"
image=registry.k8s.io/pause:$tag
buildah build --quiet --layers --pull=never --build-arg BASE=scratch --build-arg "ARCH=$arch" \
  -f "$module/build/pause/Dockerfile" -t "$image" "$work" >/dev/null
rm -f "$out.tmp"
buildah push --quiet "$image" "docker-archive:$out.tmp:$image"
mv "$out.tmp" "$out"
echo "build-pause: $image from k8s.io/kubernetes v$k8s in $out" >&2
