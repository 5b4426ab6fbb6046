#!/usr/bin/env bash
# Builds the node side of Kubernetes — kubelet, kube-proxy — and kube-scheduler from the same
# Go module and version as the control plane (tools/k8s), into OUT beside kube-apiserver.
# Usage: tools/build-node.sh K8S_OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-node.sh K8S_OUT_DIR}
k8s=$(sed -n 's/^K8S_VERSION=//p' "$here/versions.env")
minor=$(echo "$k8s" | cut -d. -f2)
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
mkdir -p "$out"

if [ ! -x "$out/kubelet" ] || [ ! -x "$out/kube-proxy" ] || [ ! -x "$out/kube-scheduler" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp "$here/k8s/go.mod" "$here/k8s/go.sum" "$work/"
  ldf="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=v$k8s -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "building kubelet, kube-proxy and kube-scheduler v$k8s (a few minutes once the control plane's build cache exists)" >&2
  (cd "$work" && go build -trimpath -tags selinux,notest -ldflags "$ldf" -o "$out/" \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kube-scheduler)
fi
