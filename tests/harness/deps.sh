#!/usr/bin/env bash
# deps.sh - install the Debian packages HotPatch needs to build, test and run.
# Idempotent and quiet when everything is already installed. Needs root (or sudo).
set -euo pipefail
pkgs=(
    build-essential pkg-config openssl clang libclang-rt-14-dev clang-format
    libsodium-dev libjansson-dev libzip-dev libcurl4-openssl-dev libssl-dev libpq-dev
    liblmdb-dev lmdb-utils libjwt-dev libzstd-dev libmicrohttpd-dev libh2o-evloop-dev
    postgresql-15 postgresql-client-15 nginx wrk valgrind bc zip unzip curl ca-certificates python3 procps iproute2
    radosgw ceph-mon ceph-osd ceph-common
    bsdiff zstd
)
# Node.js (for the React Native bundler) ships on these machines from nodesource,
# npm included; only fall back to Debian's packages when it is absent.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
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
