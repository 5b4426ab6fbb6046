#!/usr/bin/env bash
# Builds Prometheus 3 from its Go module (pinned in tools/prometheus) into $OUT, with the release
# version set through ldflags so that `prometheus --version` and prometheus_build_info name it.
# Prometheus 3.X.Y is the Go module version v0.3XX.Y (3.16.0 = v0.316.0).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-prometheus.sh OUT_DIR VERSION}
version=${2:?usage: build-prometheus.sh OUT_DIR VERSION}
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
[ -x "$out/prometheus" ] && exit 0
IFS=. read -r major minor patch <<<"$version"
module_version=$(printf 'v0.%d%02d.%d' "$major" "$minor" "$patch")
grep -qE "github.com/prometheus/prometheus $module_version( |$)" "$here/prometheus/go.mod" || {
  echo "build-prometheus.sh: tools/prometheus/go.mod does not pin github.com/prometheus/prometheus $module_version (Prometheus $version)" >&2
  exit 1
}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/prometheus/go.mod" "$here/prometheus/go.sum" "$work/"
pkg=github.com/prometheus/common/version
echo "building prometheus $version (cold: about 6 minutes on 2 cores)" >&2
(cd "$work" && go build -trimpath \
  -ldflags "-s -w -X $pkg.Version=$version -X $pkg.Revision=$module_version -X $pkg.Branch=release" \
  -o "$out/prometheus.partial" github.com/prometheus/prometheus/cmd/prometheus)
mv "$out/prometheus.partial" "$out/prometheus"
