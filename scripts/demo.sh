#!/usr/bin/env bash
# Installs what is missing, builds into ./build, starts kaigo-sandbox (the platform's model, on
# 127.0.0.1:18443) and the engine with the demo office (deploy/offices/demo/engine.yaml), and runs
# a sample care-office session against it in Python and in C++; then stops both.
# Pass --keep to leave them running. KAIGO_DEMO_CLOCK_OFFSET (whole seconds, or e.g. 2400h) runs
# both on another day (their --clock-offset; accepted because both listen on loopback only), to see
# the session on a date when, say, no subsidy round is open.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build --target kaigo-bridge kaigo-sandbox otp_relay qualification certification \
  subsidy_filing portal_registration careplan_exchange kaigo-careplan office_session

# Python messages from the same .proto files, with Debian's protoc (it matches python3-protobuf).
mkdir -p build/python build/demo
protoc -Iproto --python_out=build/python proto/kaigo/v1/*.proto proto/kaigo/careplan/v1/*.proto \
  proto/kaigo/options/v1/*.proto \
  proto/google/rpc/*.proto

# The platform's model, with fresh test certificates, and the office's secrets. The engine's
# state starts afresh with it: sends it remembered from an earlier run were to a platform gone now.
rm -rf build/demo/sandbox build/demo/state.db build/demo/state.db-*
mkdir -p build/demo/sandbox build/demo/secrets
clock=(--clock-offset "${KAIGO_DEMO_CLOCK_OFFSET:-0}")
build/sandbox/kaigo-sandbox make-certs --dir build/demo/sandbox "${clock[@]}" > /dev/null
echo sandbox > build/demo/secrets/p12_password
echo sakura-cm > build/demo/secrets/web_user
echo 'Sakura#2026' > build/demo/secrets/web_password
for key in sealing_key audit_key recipient_ref_key store_sealing_key; do
  [ -s build/demo/secrets/$key ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > build/demo/secrets/$key
done
chmod 600 build/demo/secrets/*
build/sandbox/kaigo-sandbox serve --dir build/demo/sandbox --listen 127.0.0.1:18443 \
  --ready-file build/demo/sandbox/ready.json "${clock[@]}" 2> build/demo/sandbox.log &
sandbox=$!
trap 'kill $sandbox ${engine:-} 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s build/demo/sandbox/ready.json ] && break; sleep 0.1; done
[ -s build/demo/sandbox/ready.json ] || { cat build/demo/sandbox.log; exit 1; }

rm -f build/demo/ready.json
build/engine/kaigo-bridge serve --config deploy/offices/demo/engine.yaml \
  --ready-file build/demo/ready.json "${clock[@]}" 2> build/demo/engine.log &
engine=$!
for _ in $(seq 100); do [ -s build/demo/ready.json ] && break; sleep 0.1; done
port=$(sed -E 's/.*"grpc_port":([0-9]+).*/\1/' build/demo/ready.json)
metrics=$(sed -E 's/.*"metrics_port":([0-9]+).*/\1/' build/demo/ready.json)
http=$(sed -E 's/.*"http_port":([0-9]+).*/\1/' build/demo/ready.json)
echo "kaigo-bridge serves on 127.0.0.1:$port (Connect over HTTP: http://127.0.0.1:$http," \
  "metrics: http://127.0.0.1:$metrics/metrics, log: build/demo/engine.log)"

echo "== Python session =="
PYTHONPATH=build/python /usr/bin/python3 examples/python/office_session.py \
  --target "127.0.0.1:$port" --office 1371000017 --save-dir build/demo
echo
echo "== C++ session =="
build/examples/office_session "127.0.0.1:$port" 1371000017

if [ "${1:-}" = "--keep" ]; then
  trap - EXIT
  echo "the engine (pid $engine) and the sandbox (pid $sandbox) keep running;"
  echo "stop them with: kill $engine $sandbox"
fi
