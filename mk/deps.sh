#!/usr/bin/env bash
# deps.sh - install the Debian packages HotPatch needs to build, test and run.
# Idempotent and quiet when everything is already installed. Needs root (or sudo).
# Each package is here because something uses it:
#   build-essential pkg-config          the build (cc, ar, nm, readelf for make lint)
#   lib*-dev                            the libraries the programs link (see the Makefile's LIBS_*)
#   clang libclang-rt-14-dev            `make fuzz` (libFuzzer)        clang-format   `make lint`
#   openssl                             openssl s_server in tests/unit/common/http_ca_test.c
#   postgresql-15 postgresql-client-15  `make run` and the integration tests (initdb, pg_ctl, psql)
#   radosgw ceph-*                      the S3 peer of the integration tests (tests/harness/rgw.sh)
#   nginx wrk bc                        `make run`'s local CDN and `make bench`
#   unzip curl python3 procps           test scripts (unzip -l, curl, fake servers, pgrep)
#   groff-base                          man pages render without warnings (tests/integration/install)
#   qemu-user                           runs the aarch64 core smoke test (tests/integration/rn/cmake_core.sh)
#   ruby                                evaluates HotPatch.podspec (tests/integration/rn/podspec.sh)
set -euo pipefail
pkgs=(
    build-essential pkg-config openssl clang libclang-rt-14-dev clang-format
    libsodium-dev libjansson-dev libzip-dev libcurl4-openssl-dev libpq-dev
    liblmdb-dev libjwt-dev libmicrohttpd-dev
    postgresql-15 postgresql-client-15 nginx wrk bc unzip curl ca-certificates python3 procps
    radosgw ceph-mon ceph-osd ceph-common
    groff-base
    chromium chromium-driver python3-selenium
    openjdk-17-jdk-headless junit4 gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    libzstd-dev bsdiff zstd
    cmake patch xz-utils zlib1g-dev
    qemu-user ruby
)
# Node.js (for the React Native bundler) ships on these machines from nodesource,
# npm included; only fall back to Debian's packages when it is absent.
# (nodesource also ships the Node-API headers in /usr/include/node; Debian needs libnode-dev).
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm libnode-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian postgresql package starts a cluster of its own; the tests and the
# local stack run their own throwaway clusters, so stop it to free the port.
if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
        $SUDO pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
    done
fi
# Same for nginx: the benchmark starts its own instance.
$SUDO service nginx stop >/dev/null 2>&1 || true
