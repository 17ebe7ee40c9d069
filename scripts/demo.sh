#!/usr/bin/env bash
# Installs what is missing, builds the engine and its plugins into ./build, starts the engine with
# the demo office (deploy/offices/demo/engine.yaml) and runs a sample care-office session from
# Python against it, then stops the engine. Pass --keep to leave the engine running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build --target kaigo-bridge otp_relay

# Python messages from the same .proto files, with Debian's protoc (it matches python3-protobuf).
mkdir -p build/python build/demo
protoc -Iproto --python_out=build/python proto/kaigo/v1/*.proto

rm -f build/demo/ready.json
build/engine/kaigo-bridge serve --config deploy/offices/demo/engine.yaml \
  --ready-file build/demo/ready.json 2> build/demo/engine.log &
engine=$!
trap 'kill $engine 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s build/demo/ready.json ] && break; sleep 0.1; done
port=$(sed -E 's/.*"grpc_port":([0-9]+).*/\1/' build/demo/ready.json)
metrics=$(sed -E 's/.*"metrics_port":([0-9]+).*/\1/' build/demo/ready.json)
echo "kaigo-bridge serves on 127.0.0.1:$port (metrics: http://127.0.0.1:$metrics/metrics, log: build/demo/engine.log)"

PYTHONPATH=build/python /usr/bin/python3 examples/python/office_session.py \
  --target "127.0.0.1:$port" --office 1371000017

if [ "${1:-}" = "--keep" ]; then
  trap - EXIT
  echo "the engine keeps running (pid $engine); stop it with: kill $engine"
fi
