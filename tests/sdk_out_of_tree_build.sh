#!/usr/bin/env bash
# Installs the SDK from the engine's build into a scratch prefix, then builds and unit-tests the
# template plugin from sdk/examples/ in a separate build directory against that prefix only —
# exactly as a vendor would. Leaves the plugin at $OUT/visit_notes.so.
set -euo pipefail
build_dir=$1 source_dir=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
cmake --install "$build_dir" --prefix "$out/prefix" > "$out/install.log"
# Only the public SDK: kaigo/sdk/internal/ (what hosts share) is never installed.
if [ -e "$out/prefix/include/kaigo/sdk/internal" ]; then
  echo "kaigo/sdk/internal/ was installed" >&2
  exit 1
fi
cmake -S "$source_dir/sdk/examples/template_plugin" -B "$out/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$out/prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$out/configure.log"
cmake --build "$out/build" 2>&1 | tail -n 3
(cd "$out/build" && ctest --output-on-failure | tail -n 3)
cp "$out/build/visit_notes.so" "$out/visit_notes.so"
# A scratch prefix is not on the loader's path (a package installs libkaigo_proto where it is).
LD_LIBRARY_PATH="$out/prefix/lib" "$out/prefix/bin/kaigo-plugin-check" "$out/visit_notes.so" |
  tail -n 1
