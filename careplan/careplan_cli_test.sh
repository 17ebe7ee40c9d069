#!/usr/bin/env bash
# careplan_cli_test.sh KAIGO_CAREPLAN TESTDATA_DIR
#
# kaigo-careplan on the committed send unit in TESTDATA_DIR (a 第6表 UPPLAN and its 第7表 UPSIKYU,
# MS932, written once by SampleBytes): validate --strict passes; CSV → JSON → CSV gives the same
# bytes; a copy with a 7-digit サービスコード fails validation with exactly one finding line.
set -euo pipefail
cli=$1
data=$2
plan=UPPLAN_202611_1371000017_43_1371000025_11_20261124100000.CSV
annex=UPSIKYU_202611_1371000017_43_1371000025_11_20261124100000.CSV

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/in" "$tmp/json" "$tmp/csv" "$tmp/bad"
cp "$data/$plan" "$data/$annex" "$tmp/in/"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# A valid send unit: no finding, exit 0.
out=$("$cli" validate --strict "$tmp/in/$plan" "$tmp/in/$annex" 2> "$tmp/stderr") ||
  fail "validate --strict on the valid unit exited $?: $out $(cat "$tmp/stderr")"
[[ -z "$out" ]] || fail "validate --strict printed findings for the valid unit: $out"
grep -q "^$plan: 4 records, 0 findings$" "$tmp/stderr" || fail "no summary for $plan: $(cat "$tmp/stderr")"

# CSV → JSON → CSV is byte for byte the file read.
for f in "$plan" "$annex"; do
  "$cli" convert --out "$tmp/json" "$tmp/in/$f" 2> "$tmp/stderr" ||
    fail "convert $f to JSON: $(cat "$tmp/stderr")"
  "$cli" convert --out "$tmp/csv" "$tmp/json/$f.json" 2> "$tmp/stderr" ||
    fail "convert $f.json back to CSV: $(cat "$tmp/stderr")"
  cmp "$tmp/in/$f" "$tmp/csv/$f" || fail "$f: CSV → JSON → CSV changed the bytes"
done

# A 7-digit サービスコード (item 15 of the first record): exit 1 and exactly this finding.
LC_ALL=C sed '1s/,111211,/,1112110,/' "$tmp/in/$plan" > "$tmp/bad/$plan"
cmp -s "$tmp/in/$plan" "$tmp/bad/$plan" && fail "the corruption did not apply"
cp "$tmp/in/$annex" "$tmp/bad/"
status=0
out=$("$cli" validate --strict "$tmp/bad/$plan" "$tmp/bad/$annex" 2> /dev/null) || status=$?
[[ $status -eq 1 ]] || fail "validate --strict on the corrupted unit exited $status, expected 1"
expected="$plan:1: item 15 サービスコード: error [length]: must be 6 characters (サービスコード: 種類 2 + 項目 4), got 7"
[[ "$out" == "$expected" ]] || fail "findings differ; expected:
$expected
got:
$out"

echo "careplan_cli_test: ok"
