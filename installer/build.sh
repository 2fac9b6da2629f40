#!/usr/bin/env bash
# Configures and builds EPIC desktop into ./build (Release). Extra arguments go to cmake's configure.
# EPIC_BUILD_TARGETS (space-separated) builds only those targets (default: everything).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${EPIC_JOBS:-$(nproc)}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
targets=()
for t in ${EPIC_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build build -j"$jobs" "${targets[@]}"
