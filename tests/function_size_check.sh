#!/usr/bin/env bash
# No function over 100 lines outside tests and generated code: clang-tidy's
# readability-function-size (lines counted with blanks and comments; a lambda counts inside the
# function that holds it) over every .cc the compile database lists, except tests (tests/,
# */testing/, *_test.cc), fuzz targets and generated files (anything under the build tree).
# Fails listing each function over the threshold as file:line: name (lines).
# Usage: function_size_check.sh BUILD_DIR SOURCE_DIR [CLANG_TIDY]
set -euo pipefail
build_dir=$1 source_dir=$2 clang_tidy=${3:-clang-tidy-14}
threshold=100

files=$(python3 - "$build_dir" "$source_dir" <<'PY'
import json, os, re, sys
build, source = (os.path.realpath(p) for p in sys.argv[1:3])
skip = re.compile(r'(^|/)(tests|testing|fuzz)/|_test\.cc$')
seen = set()
for entry in json.load(open(os.path.join(build, 'compile_commands.json'))):
    path = os.path.realpath(os.path.join(entry['directory'], entry['file']))
    if not path.endswith('.cc') or path.startswith(build + '/') or path in seen:
        continue
    relative = os.path.relpath(path, source)
    if relative.startswith('..') or skip.search(relative):
        continue
    seen.add(path)
    print(path)
PY
)
[[ -n "$files" ]] || { echo "no sources in $build_dir/compile_commands.json" >&2; exit 1; }

config="{CheckOptions: [{key: readability-function-size.LineThreshold, value: $threshold}]}"
# clang-tidy prints the warning (file:line:col: ... function 'name' ...) and then a note with the
# count; each pair becomes one line. One clang-tidy at a time: ctest runs another test beside this
# one on a two-core machine (timing-sensitive tests suffered from a third busy process), and two
# processes' warning/note pairs could interleave in the pipe.
report=$(echo "$files" | xargs -P1 -n4 "$clang_tidy" -p "$build_dir" --quiet \
    -checks='-*,readability-function-size' -config="$config" 2>/dev/null |
  sed -n -E "s/^([^ ]+):([0-9]+):[0-9]+: warning: function '([^']+)' exceeds.*/\1:\2: \3/p;
             s/^[^ ]+: note: ([0-9]+) lines including.*/ (\1 lines)/p" |
  paste -d '' - - | sed "s|^$source_dir/||" | sort)

count=$(echo "$files" | wc -l)
if [[ -n "$report" ]]; then
  echo "functions over $threshold lines (outside tests and generated code):"
  echo "$report"
  exit 1
fi
echo "function_size_check: $count files, no function over $threshold lines"
