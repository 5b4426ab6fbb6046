#!/usr/bin/env bash
# Builds helm from its Go module (pinned in tools/helm) into $OUT.
# helm.sh/helm/v4 has no replace directives, so a consumer module is enough;
# `go install` is avoided because the proxy may refuse the version list it reads.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-helm.sh OUT_DIR}
helm=$(sed -n 's/^HELM_VERSION=//p' "$here/versions.env")
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
mkdir -p "$out"
[ -x "$out/helm" ] && exit 0
grep -Eq "helm.sh/helm/v4 v${helm}( |$)" "$here/helm/go.mod" || {
  echo "tools/helm/go.mod does not pin helm v$helm (tools/versions.env)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/helm/go.mod" "$here/helm/go.sum" "$work/"
echo "building helm v$helm (cold: about 5 minutes)" >&2
# Without -X the binary reports "v4.3"; stamp the full version.
(cd "$work" && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v$helm" \
  -o "$out/helm.tmp" helm.sh/helm/v4/cmd/helm)
mv "$out/helm.tmp" "$out/helm"
