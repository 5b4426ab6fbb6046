#!/usr/bin/env bash
# Builds Lethe's image from the repository's Dockerfile with buildah (no container engine).
# Usage: tools/build-image.sh IMAGE BASES
#   BASES=stand-in  the Dockerfile's base images by name from local storage, where
#                   tools/image-base/build.sh put its stand-ins (nothing is pulled);
#   BASES=official  the Dockerfile's own base images, pinned by digest and pulled from Docker Hub.
# When this machine's Node.js or npm trusts extra CAs (NODE_EXTRA_CA_CERTS or npm's `cafile`, e.g.
# for a TLS-inspecting proxy), npm in the RUN steps gets that file as its `cafile` through bind
# mounts, which do not end up in the image.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
image=${1:?usage: tools/build-image.sh IMAGE stand-in|official}
bases=${2:?usage: tools/build-image.sh IMAGE stand-in|official}
setting() { sed -n "s/^$1=//p" "$repo/tools/versions.env"; }
# crun refuses a host whose cgroup v2 hierarchy holds controllers beside v1 ones; runc does not.
export BUILDAH_RUNTIME=${BUILDAH_RUNTIME:-runc}

args=(--layers --tag "$image" --file "$repo/Dockerfile")
case "$bases" in
  stand-in)
    suite=$(setting IMAGE_DEBIAN_SUITE)
    node_version=$(setting IMAGE_NODE_VERSION)
    args+=(--pull=never
      --build-arg "NODE_IMAGE=docker.io/library/node:${node_version%%.*}-$suite-slim"
      --build-arg "RUNTIME_IMAGE=docker.io/library/debian:$suite-slim") ;;
  official) args+=(--pull=true) ;;
  *) echo "build-image: BASES must be stand-in or official, not '$bases'" >&2; exit 2 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cafile=${NODE_EXTRA_CA_CERTS:-}
[ -n "$cafile" ] || cafile=$(npm config get cafile 2>/dev/null || true)
if [ -n "$cafile" ] && [ "$cafile" != null ] && [ -f "$cafile" ]; then
  printf 'cafile=/run/lethe-build-ca.crt\n' >"$work/npmrc"
  args+=(--volume "$cafile:/run/lethe-build-ca.crt:ro" --volume "$work/npmrc:/usr/local/etc/npmrc:ro")
fi

started=$(date +%s)
buildah build "${args[@]}" "$repo"
id=$(buildah images --noheading --format '{{.ID}}' "$image" | head -n1)
echo "build-image: $image ($id) built in $(($(date +%s) - started)) s from $bases bases" >&2
podman image inspect --format 'build-image: {{.Size}} bytes in {{len .RootFS.Layers}} layers' "$image" >&2
