#!/usr/bin/env bash
# Builds the Go push client of the end-to-end tests (test/clients/go: client_golang's push
# package) into $OUT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-go-push-client.sh OUT_DIR}
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
[ -x "$out/go-push-client" ] && exit 0
mkdir -p "$out"
(cd "$here/../test/clients/go" && go build -trimpath -o "$out/go-push-client.tmp" . && mv "$out/go-push-client.tmp" "$out/go-push-client")
