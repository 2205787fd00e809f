#!/usr/bin/env bash
# lambda-zip.sh EDGE_BINARY OUT.zip - package hotpatch-edge for the AWS
# Lambda custom runtime (provided.al2023):
#   bootstrap            shell script that execs `hotpatch-edge lambda`
#   bin/hotpatch-edge    the binary (stripped copy)
#   lib/*.so*            every shared library it needs that the runtime image
#                        does not provide (found with ldd)
# The runtime image has glibc 2.34 (LAMBDA_GLIBC). If the binary or one of the
# bundled libraries needs a newer glibc symbol version, the C library and the
# dynamic loader are bundled too and bootstrap runs the binary through that
# loader. The zip is reproducible: sorted entries, fixed timestamps.
set -euo pipefail
bin=${1:?usage: lambda-zip.sh EDGE_BINARY OUT.zip}
out=${2:?usage: lambda-zip.sh EDGE_BINARY OUT.zip}
here=$(cd "$(dirname "$0")" && pwd)
runtime_glibc=${LAMBDA_GLIBC:-2.34}

[ -x "$bin" ] || { echo "lambda-zip: '$bin' is not an executable (build it first: make $bin)" >&2; exit 1; }
for t in ldd objdump python3; do
    command -v "$t" >/dev/null || { echo "lambda-zip: '$t' is required" >&2; exit 1; }
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
cp "$bin" "$stage/bin/hotpatch-edge"
strip --strip-unneeded "$stage/bin/hotpatch-edge" 2>/dev/null || true
chmod 0755 "$stage/bin/hotpatch-edge"

# glibc's own libraries: provided by the runtime (unless bundled below).
is_glibc() {
    case "$1" in
    libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libresolv.so.* | \
        libutil.so.* | libanl.so.* | libnsl.so.* | libmvec.so.* | ld-linux*.so.* | linux-vdso.so.*) return 0 ;;
    esac
    return 1
}

# name => path for every library ldd resolves (ldd follows the whole tree).
declare -A path_of=()
while read -r name _ path _; do
    [ -n "$name" ] || continue
    if [ "$path" = "not" ]; then
        echo "lambda-zip: '$name' needed by $bin is not found on this machine" >&2
        exit 1
    fi
    case "$path" in /*) path_of[$name]=$path ;; esac
done < <(ldd "$bin" | awk '/=>/ {print $1, $2, $3}')
loader_path=$(ldd "$bin" | awk '$1 ~ /ld-linux/ {print $1}' | head -1)

glibc_needed() { # highest GLIBC_x.y symbol version required by the files given
    objdump -T "$@" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1
}

bundled=()
for name in "${!path_of[@]}"; do
    is_glibc "$name" && continue
    cp -L "${path_of[$name]}" "$stage/lib/$name"
    chmod 0644 "$stage/lib/$name"
    bundled+=("$stage/lib/$name")
done

need=$(glibc_needed "$stage/bin/hotpatch-edge" "${bundled[@]}")
newest=$(printf '%s\n%s\n' "$need" "$runtime_glibc" | sort -V | tail -1)
loader=
if [ "$newest" != "$runtime_glibc" ]; then
    # Bundle the C library and the loader of this machine.
    for name in "${!path_of[@]}"; do
        is_glibc "$name" || continue
        cp -L "${path_of[$name]}" "$stage/lib/$name"
        chmod 0644 "$stage/lib/$name"
    done
    [ -n "$loader_path" ] || { echo "lambda-zip: cannot find the dynamic loader of $bin" >&2; exit 1; }
    loader=$(basename "$loader_path")
    cp -L "$loader_path" "$stage/lib/$loader"
    chmod 0755 "$stage/lib/$loader"
    mode="glibc $need bundled: the runtime has $runtime_glibc"
else
    mode="glibc $need from the runtime"
fi

sed -e "s|@LOADER@|$loader|g" -e "s|@LOADER_MODE@|$mode|g" "$here/bootstrap.in" >"$stage/bootstrap"
chmod 0755 "$stage/bootstrap"

mkdir -p "$(dirname "$out")"
python3 - "$stage" "$out" <<'PY'
import os, sys, zipfile
stage, out = sys.argv[1], sys.argv[2]
files = []
for d, _, names in os.walk(stage):
    for n in names:
        files.append(os.path.relpath(os.path.join(d, n), stage))
tmp = out + ".tmp"
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for rel in sorted(files):
        full = os.path.join(stage, rel)
        info = zipfile.ZipInfo(rel, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = (0o100000 | (os.stat(full).st_mode & 0o777)) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(full, "rb") as f:
            z.writestr(info, f.read())
os.replace(tmp, out)
PY
echo "lambda-zip: $out ($(du -k "$out" | cut -f1) KiB; ${#bundled[@]} libraries; $mode)"
