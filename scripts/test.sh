#!/usr/bin/env bash
# Installs what is missing, builds everything into ./build, and runs every test (ctest), including
# the SDK install + out-of-tree template plugin build and the fuzz smoke runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build
cd build
ctest --output-on-failure --timeout 600 -j2
