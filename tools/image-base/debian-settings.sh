#!/bin/sh
# mmdebstrap customize hook for the stand-in Debian root: the settings the official slim image
# carries for use in containers, its deb822 package sources, and no caches, logs or host identity.
# Usage (by build.sh): debian-settings.sh ROOT SUITE
set -eu
root=$1
suite=$2

# Package installs in a container build start no services.
printf '#!/bin/sh\n# Services are not started inside a container image build.\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

# dpkg need not sync after each package: an interrupted image build is started again from scratch.
printf 'force-unsafe-io\n' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"

# The path excludes build.sh installed with, under the official image's file name.
mv "$root/etc/dpkg/dpkg.cfg.d/99mmdebstrap" "$root/etc/dpkg/dpkg.cfg.d/docker"

# apt: drop downloaded packages after each install, keep indexes compressed, fetch no
# translations, and remove automatically installed packages that only something suggests.
clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true";'
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<EOF
DPkg::Post-Invoke { $clean };
APT::Update::Post-Invoke { $clean };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
printf 'Acquire::GzipIndexes "true";\n' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
printf 'Apt::AutoRemove::SuggestsImportant "false";\n' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"

# Package sources as the official image lists them (whatever mirror the build used).
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.pgp

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.pgp
EOF

# Nothing from the build machine or the build itself.
rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/cache/ldconfig/aux-cache" \
  "$root/var/log/"*.log "$root/var/log/apt/"* "$root/etc/hostname" "$root/etc/resolv.conf"
: >"$root/etc/machine-id"
