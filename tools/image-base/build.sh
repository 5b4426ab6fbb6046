#!/usr/bin/env bash
# Builds stand-ins for the two base images the Dockerfile names, under those names, from Debian's
# packages and the npm registry (no container registry is needed):
#   docker.io/library/debian:<suite>-slim         a minimal Debian root (mmdebstrap, minbase),
#                                                 slimmed and configured as the official image is;
#   docker.io/library/node:<major>-<suite>-slim   that root plus Node.js, npm, corepack and yarn
#                                                 at the official image's paths, layer for layer.
# Both are kept as OCI archives in OUT_DIR (the tool cache) and loaded into the local container
# storage that buildah and podman share; with OUT_DIR filled, a run only loads them (seconds).
# Usage: tools/image-base/build.sh OUT_DIR
# Environment: DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR (default deb.debian.org), BUILDAH_RUNTIME.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: tools/image-base/build.sh OUT_DIR}
setting() {
  local value
  value=$(sed -n "s/^$1=//p" "$here/../versions.env")
  [ -n "$value" ] || { echo "tools/versions.env lacks $1" >&2; exit 1; }
  echo "$value"
}
suite=$(setting IMAGE_DEBIAN_SUITE)
node_version=$(setting IMAGE_NODE_VERSION)
npm_version=$(setting IMAGE_NPM_VERSION)
corepack_version=$(setting IMAGE_COREPACK_VERSION)
yarn_version=$(setting IMAGE_YARN_VERSION)
debian_ref=docker.io/library/debian:$suite-slim
node_ref=docker.io/library/node:${node_version%%.*}-$suite-slim
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# crun refuses a host whose cgroup v2 hierarchy holds controllers beside v1 ones; runc does not.
export BUILDAH_RUNTIME=${BUILDAH_RUNTIME:-runc}

load() {
  skopeo copy --quiet "oci-archive:$out/$1.oci.tar" "containers-storage:$2"
}

if [ -f "$out/debian.oci.tar" ] && [ -f "$out/node.oci.tar" ]; then
  load debian "$debian_ref"
  load node "$node_ref"
  exit 0
fi

case "$(dpkg --print-architecture)" in
  amd64) node_arch=x64 openssl_arch=linux-x86_64 ;;
  arm64) node_arch=arm64 openssl_arch=linux-aarch64 ;;
  *) echo "no stand-in base for architecture $(dpkg --print-architecture)" >&2; exit 1 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/debian" "$work/node/node/lib/node_modules" "$work/node/yarn/opt" "$work/node/yarn/usr/local/bin" "$work/npm"
started=$(date +%s)

# 1. The Debian root: Essential and required packages plus apt (what debootstrap's minbase gives
#    the official image), without documentation, manual pages and translations, and with the
#    official image's container settings for dpkg and apt.
echo "image-base: Debian $suite root from $mirror" >&2
slim=(
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/groff/*'
  --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/lintian/overrides/*'
  --dpkgopt='path-exclude=/usr/share/linda/*' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-include=/usr/share/locale/locale.alias'
)
mmdebstrap --quiet --variant=minbase --mode=root --format=tar "${slim[@]}" \
  --customize-hook="$here/debian-settings.sh \"\$1\" $suite" \
  "$suite" "$work/debian/rootfs.tar" \
  "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security_mirror $suite-security main"
buildah build --quiet --layers --pull=never -f "$here/Containerfile.debian" -t "$debian_ref" "$work/debian" >/dev/null

# 2. Node.js, npm, corepack and yarn from the npm registry; npm checks each tarball against the
#    registry's integrity hash, and this script against the hashes recorded in packages.sha512.
echo "image-base: Node.js $node_version, npm $npm_version, corepack $corepack_version, yarn $yarn_version" >&2
packages=("node-linux-$node_arch@$node_version" "npm@$npm_version" "corepack@$corepack_version" "yarn@$yarn_version")
(cd "$work/npm" && npm pack --silent --json "${packages[@]}" >packed.json)
for package in "${packages[@]}"; do
  integrity=$(node -p 'const packed = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    packed.find((p) => p.id === process.argv[2])?.integrity ?? ""' "$work/npm/packed.json" "$package")
  if ! grep -qxF "$package $integrity" "$here/packages.sha512"; then
    echo "image-base: $package has integrity $integrity, which tools/image-base/packages.sha512 does not list" >&2
    exit 1
  fi
done
unpack() { mkdir -p "$2" && tar -xzf "$work/npm/$1" -C "$2" --strip-components=1 --no-same-owner; }
root=$work/node/node
unpack "node-linux-$node_arch-$node_version.tgz" "$root"
rm -f "$root/package.json"
find "$root/include/node/openssl/archs" -mindepth 1 -maxdepth 1 ! -name "$openssl_arch" -exec rm -rf {} +
unpack "npm-$npm_version.tgz" "$root/lib/node_modules/npm"
unpack "corepack-$corepack_version.tgz" "$root/lib/node_modules/corepack"
chmod 0755 "$root/bin/node" "$root/lib/node_modules/npm/bin/npm-cli.js" "$root/lib/node_modules/npm/bin/npx-cli.js" \
  "$root/lib/node_modules/corepack/dist/corepack.js"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/bin/npx"
ln -s ../lib/node_modules/corepack/dist/corepack.js "$root/bin/corepack"
ln -s /usr/local/bin/node "$root/bin/nodejs"
unpack "yarn-$yarn_version.tgz" "$work/node/yarn/opt/yarn-v$yarn_version"
chmod 0755 "$work/node/yarn/opt/yarn-v$yarn_version/bin/yarn" "$work/node/yarn/opt/yarn-v$yarn_version/bin/yarn.js"
ln -s "/opt/yarn-v$yarn_version/bin/yarn" "$work/node/yarn/usr/local/bin/yarn"
ln -s "/opt/yarn-v$yarn_version/bin/yarnpkg" "$work/node/yarn/usr/local/bin/yarnpkg"
cp "$here/docker-entrypoint.sh" "$work/node/"
buildah build --quiet --layers --pull=never -f "$here/Containerfile.node" -t "$node_ref" \
  --build-arg "DEBIAN_IMAGE=$debian_ref" --build-arg "NODE_VERSION=$node_version" --build-arg "YARN_VERSION=$yarn_version" \
  "$work/node" >/dev/null

# 3. Smoke test, then keep both in the cache.
ctr=$(buildah from --pull=never "$node_ref")
versions=$(buildah run "$ctr" -- sh -c 'echo "node $(node --version), npm $(npm --version), corepack $(corepack --version), yarn $(yarn --version)"') \
  || { buildah rm "$ctr" >/dev/null; exit 1; }
buildah rm "$ctr" >/dev/null
echo "image-base: $node_ref runs $versions" >&2
buildah push --quiet "$debian_ref" "oci-archive:$work/debian.oci.tar:$debian_ref"
buildah push --quiet "$node_ref" "oci-archive:$work/node.oci.tar:$node_ref"
mv "$work/debian.oci.tar" "$out/debian.oci.tar"
mv "$work/node.oci.tar" "$out/node.oci.tar"
echo "image-base: built $debian_ref and $node_ref in $(($(date +%s) - started)) s, kept in $out" >&2
