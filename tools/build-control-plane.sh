#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl and etcd from their Go
# modules at the versions pinned in tools/k8s and tools/etcd, into $OUT.
# Usage: tools/build-control-plane.sh K8S_OUT_DIR ETCD_OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-control-plane.sh K8S_OUT_DIR ETCD_OUT_DIR}
etcd_out=${2:?usage: build-control-plane.sh K8S_OUT_DIR ETCD_OUT_DIR}
k8s=$(sed -n 's/^K8S_VERSION=//p' "$here/versions.env")
etcd=$(sed -n 's/^ETCD_VERSION=//p' "$here/versions.env")
minor=$(echo "$k8s" | cut -d. -f2)
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
mkdir -p "$out" "$etcd_out"

if [ ! -x "$out/kube-apiserver" ] || [ ! -x "$out/kube-controller-manager" ] || [ ! -x "$out/kubectl" ]; then
  work=$(mktemp -d)
  cp "$here/k8s/go.mod" "$work/"
  [ -f "$here/k8s/go.sum" ] && cp "$here/k8s/go.sum" "$work/"
  ldf="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=v$k8s -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "building kubernetes v$k8s binaries (cold: about 20 minutes on 2 cores)" >&2
  (cd "$work" && go build -trimpath -tags selinux,notest -ldflags "$ldf" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
  rm -rf "$work"
fi

if [ ! -x "$etcd_out/etcd" ]; then
  work=$(mktemp -d)
  cp "$here/etcd/go.mod" "$work/"
  [ -f "$here/etcd/go.sum" ] && cp "$here/etcd/go.sum" "$work/"
  echo "building etcd v$etcd" >&2
  (cd "$work" && go build -trimpath -ldflags "-s -w" -o "$etcd_out/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$work"
fi
