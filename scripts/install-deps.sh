#!/usr/bin/env bash
# Installs every Debian 12 package kaigo-bridge needs to build, run and test.
# Idempotent: installs only what is missing, so a second run is quick and offline-safe.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang-14 libclang-rt-14-dev clang-format
  # gRPC / protobuf / abseil
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libabsl-dev grpc-proto
  # Boost.DLL (+ filesystem), configuration, storage (SQLite, PostgreSQL), crypto, HTTP
  libboost-dev libboost-filesystem-dev libyaml-dev libsqlite3-dev libssl-dev openssl
  libcurl4-openssl-dev nlohmann-json3-dev curl zlib1g-dev libpq-dev
  # card readers (PC/SC-Lite); the virtual reader driver and network namespaces for its tests
  libpcsclite-dev pcscd vsmartcard-vpcd iproute2 util-linux
  # servers tests start: the office mailbox (IMAPS), PostgreSQL; sqlite3 to inspect stores
  dovecot-imapd postgresql sqlite3
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev python3 python3-grpcio python3-protobuf python3-yaml
  python3-jsonschema
  # the .deb packages (cpack runs dpkg-shlibdeps and file, gzip compresses their documentation),
  # lintian on them and their test in a scratch Debian 12 root
  dpkg-dev file gzip lintian debootstrap
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#packages[@]} packages present"
fi

# promtool, for `promtool check metrics` in the tests: taken from Debian's prometheus package,
# unpacked and not installed, so no Prometheus server is set up or started.
tools="${XDG_CACHE_HOME:-$HOME/.cache}/kaigo-bridge/bin"
if [ ! -x "$tools/promtool" ]; then
  echo "install-deps: unpacking promtool from Debian's prometheus package into $tools"
  scratch="$(mktemp -d)"
  chmod 0777 "$scratch"  # apt-get download writes as the _apt user
  if ! (cd "$scratch" && apt-get download -qq prometheus); then
    [ "$(id -u)" -eq 0 ] && apt-get update -qq || sudo apt-get update -qq
    (cd "$scratch" && apt-get download -qq prometheus)
  fi
  dpkg-deb -x "$scratch"/prometheus_*.deb "$scratch/root"
  mkdir -p "$tools"
  install -m 0755 "$scratch/root/usr/bin/promtool" "$tools/promtool"
  rm -rf "$scratch"
fi

# Node.js for the Connect client test (tests/connect): Debian's, unless a node is there already.
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "install-deps: installing nodejs npm"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends nodejs npm
fi
# The Connect client and the buf CLI, at the versions tests/connect/package-lock.json pins.
connect="$(dirname "$0")/../tests/connect"
if ! (cd "$connect" && npm ls --depth=0 > /dev/null 2>&1); then
  (cd "$connect" && npm ci --no-audit --no-fund)
fi
