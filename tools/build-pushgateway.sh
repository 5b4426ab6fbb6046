#!/usr/bin/env bash
# Builds the upstream Pushgateway from its Go module (pinned in tools/pushgateway) into $OUT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-pushgateway.sh OUT_DIR}
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
mkdir -p "$out"
[ -x "$out/pushgateway" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/pushgateway/go.mod" "$here/pushgateway/go.sum" "$work/"
echo "building pushgateway (cold: about 3 minutes)" >&2
(cd "$work" && go build -trimpath -ldflags "-s -w" -o "$out/pushgateway" github.com/prometheus/pushgateway)
