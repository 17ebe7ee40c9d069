#!/usr/bin/env bash
# The published API stays what it was released as: `buf lint` (buf.yaml at the repository root)
# and `buf breaking` against the committed image of the last release (api/). Then proves both
# checks bite, on a scratch copy: a renamed field must fail `buf breaking` and a request without
# its own message must fail `buf lint`.
set -euo pipefail
buf=$1 source_dir=$2 scratch=$3
image="$source_dir/api/kaigo-api.binpb"
cd "$source_dir"
"$buf" lint
echo "buf lint: clean"
"$buf" breaking --against "$image"
echo "buf breaking: compatible with $(basename "$image")"

rm -rf "$scratch" && mkdir -p "$scratch"
cp -r "$source_dir/buf.yaml" "$source_dir/proto" "$scratch/"
cd "$scratch"
sed -i 's/  QualificationVerdict verdict = 1;/  QualificationVerdict verdict_renamed = 1;/' \
  proto/kaigo/v1/qualification.proto
if "$buf" breaking --against "$image" > breaking.out 2>&1; then
  echo "buf breaking accepted a renamed field" >&2
  exit 1
fi
grep -q 'verdict' breaking.out
echo "buf breaking: refuses a renamed field"
cp "$source_dir/proto/kaigo/v1/qualification.proto" proto/kaigo/v1/qualification.proto
sed -i 's/returns (LookupByCardResponse)/returns (LookupByInsuredNumberResponse)/' \
  proto/kaigo/v1/qualification.proto
if "$buf" lint > lint.out 2>&1; then
  echo "buf lint accepted a response shared by two methods" >&2
  exit 1
fi
grep -q 'RPC_REQUEST_RESPONSE_UNIQUE\|multiple RPCs\|should be named' lint.out
echo "buf lint: refuses a response shared by two methods"
