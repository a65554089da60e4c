#!/usr/bin/env bash
# Cross-compile the addon for aarch64 (the VIM3) against the target's MPICH, on Debian/Ubuntu x86-64:
#   apt-get install g++-aarch64-linux-gnu cmake && dpkg --add-architecture arm64 && apt-get update
#   native/cross-aarch64.sh            # -> build/aarch64/orchid_mpi.node
# libmpich-dev:arm64 cannot be *installed* next to the amd64 MPICH (its g++:arm64 dependency is
# not co-installable with the native compiler), so its .deb files are downloaded with
# `apt-get download` and unpacked into a sysroot; only its headers and libmpich.so are needed
# to link the addon (libmpich's own dependencies resolve on the board).
set -euo pipefail
cd "$(dirname "$0")/.."
SYSROOT="${ORCHID_SYSROOT:-$PWD/build/sysroot-arm64}"
OUT="${1:-build/aarch64}"
if [ ! -e "$SYSROOT/usr/lib/aarch64-linux-gnu/libmpich.so" ]; then
  mkdir -p "$SYSROOT" build/debs-arm64
  (cd build/debs-arm64 && apt-get download libmpich-dev:arm64 libmpich12:arm64)
  for d in build/debs-arm64/*.deb; do dpkg -x "$d" "$SYSROOT"; done
fi
INC="$SYSROOT/usr/include/aarch64-linux-gnu/mpich"
LIB="$(readlink -f "$SYSROOT/usr/lib/aarch64-linux-gnu/libmpich.so" || true)"
[ -e "$LIB" ] || LIB="$(ls "$SYSROOT"/usr/lib/aarch64-linux-gnu/libmpich.so.12* | head -1)"
# the sources are native/CMakeLists.txt's (ORCHID_SOURCES, the same list as binding.gyp's)
NODE_INC="$(node -p "require('path').join(process.execPath, '../../include/node')")"
cmake -S native -B "$OUT" -DCMAKE_TOOLCHAIN_FILE="$PWD/native/toolchain-aarch64.cmake" -DORCHID_SYSROOT="$SYSROOT" \
  -DORCHID_MPI_INCLUDE_DIR="$INC" -DORCHID_MPI_LIBRARY="$LIB" -DNODE_INCLUDE_DIR="$NODE_INC" -DCMAKE_SHARED_LINKER_FLAGS="-Wl,--allow-shlib-undefined"
cmake --build "$OUT" -j2
file "$OUT/orchid_mpi.node"
