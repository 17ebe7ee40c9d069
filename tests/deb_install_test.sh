#!/usr/bin/env bash
# The Debian packages and the container image definition, installed and run in scratch Debian 12
# roots (chroot; no container engine runs here):
#
#   1. cpack builds the five .deb packages from BUILD_DIR (which must be built); no file is in two,
#      and every file `cmake --install` installs is in one; kaigo-bridge depends on the library
#      package through its shlibs file, which has no maintainer script; `lintian --fail-on
#      error,warning` passes them all (what it says is printed; the tags it is wrong about are
#      overridden in the packages, deploy/debian/lintian-overrides);
#   2. a minbase bookworm root from debootstrap, cached as a tarball in CACHE_DIR (default
#      /var/cache/kaigo-bridge-test) so later runs on this machine skip that download; the .deb
#      files apt fetches are kept there too;
#   3. a Debian 12 host: apt installs kaigo-bridge, kaigo-bridge-plugins and kaigo-bridge-sandbox
#      from the files, their dependencies from Debian's mirror, and systemd (not started); the
#      SDK's install is only simulated. Then: --version of the engine and the sandbox,
#      kaigo-careplan's usage exit code, the plugins root-owned 0644, the user kaigo-bridge and its
#      directories, `systemd-analyze verify` of the unit, `check-config` of the desk-PC example
#      with stand-in secrets as the unit's ExecStartPre runs it, `serve` as user kaigo-bridge on
#      loopback (gRPC health SERVING, GET /metrics, SIGTERM exits 0), `audit verify`; the unit
#      enabled by the postinst, masked on remove, its links gone on purge and the state kept;
#   4. the SDK package (libkaigo-sdk-dev), unpacked on this machine with the engine package (the root has no
#      compiler), builds the template plugin out of tree, and its kaigo-plugin-check passes it;
#   5. deploy/docker/Dockerfile in a second root standing in for debian:bookworm-slim: its COPY
#      and RUN steps in order (RUN through /bin/sh -c in the root, COPY from the packages), then
#      its ENTRYPOINT as its USER in its WORKDIR with a loopback configuration at
#      /etc/kaigo-bridge/engine.yaml and `--ready-file` appended, probed as in 3. Not covered: the
#      real bookworm-slim image (its dpkg path excludes, apt settings), image layers, EXPOSE,
#      STOPSIGNAL and the container runtime's isolation.
#
# Usage: deb_install_test.sh BUILD_DIR SOURCE_DIR VERSION
# Needs root (debootstrap, chroot, mount) and Debian's mirror; exits 77 (skipped) without root.
# Everything it starts is stopped by process id; /proc is unmounted and the roots removed on exit.
set -euo pipefail
healthcheck=()  # the image's HEALTHCHECK, which serve_and_probe runs while the engine serves
build_dir=$1 source_dir=$2 version=$3
mirror=${KAIGO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache_dir=${KAIGO_DEB_TEST_CACHE:-/var/cache/kaigo-bridge-test}
work=$build_dir/deb-install-test
packages=$work/packages
started=$SECONDS

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (debootstrap, chroot)"
  exit 77
fi
for tool in cpack debootstrap dpkg-shlibdeps lintian /usr/bin/python3 curl; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (scripts/install-deps.sh)"; exit 1; }
done

step() { echo "[$((SECONDS - started))s] $*"; }
fail() { echo "FAIL: $*"; exit 1; }

engine_pid=""
remove_root() {
  if mountpoint -q "$1/proc" 2>/dev/null; then umount "$1/proc"; fi
  # --one-file-system: never follow into anything still mounted below the root.
  if [ -d "$1" ]; then rm -rf --one-file-system "$1"; fi
}
cleanup() {
  if [ -n "$engine_pid" ] && kill -0 "$engine_pid" 2>/dev/null; then
    kill -KILL "$engine_pid" 2>/dev/null || true
    wait "$engine_pid" 2>/dev/null || true
  fi
  remove_root "$work/host-root"
  remove_root "$work/image-root"
}
trap cleanup EXIT
trap 'exit 143' TERM INT  # so that cleanup runs

root=""  # the root in_root and friends act on
# A command inside the root, as root, with a clean environment.
in_root() {
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"
}
# A command inside the root as USERSPEC (user:group), with a clean environment.
as_user() {
  local userspec=$1
  shift
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/kaigo-bridge LANG=C.UTF-8 \
    chroot --userspec="$userspec" "$root" "$@"
}
# Owner, group (names from the root's own /etc/passwd and /etc/group) and mode of a path in it.
expect_mode() {
  local got
  got=$(in_root stat -c '%U:%G %a' "$1") || fail "$1 is missing"
  [ "$got" = "$2" ] || fail "$1: $got, not $2"
}
keep_downloads() {
  cp "$root"/var/cache/apt/archives/*.deb "$cache_dir/archives/" 2>/dev/null || true
}

# make_root DIR: a fresh root from the cached base system, with /proc, DNS and apt's cache.
make_root() {
  root=$1
  remove_root "$root"
  mkdir -p "$root"
  tar -C "$root" --numeric-owner -xpf "$base"
  mount -t proc proc "$root/proc"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  cp "$cache_dir"/archives/*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true
}

# serve_and_probe USERSPEC WORKDIR COMMAND...: starts COMMAND (an engine `serve` that writes the
# ready file /var/lib/kaigo-bridge/ready.json) in the root as USERSPEC, checks it serves — gRPC
# health from outside the root (same network), GET /metrics — then stops it with SIGTERM.
serve_and_probe() {
  local userspec=$1 dir=$2 ready=/var/lib/kaigo-bridge/ready.json
  shift 2
  rm -f "$root$ready"
  # A simple command: the child execs env, chroot, sh and (exec) the engine, so $! is its pid.
  # shellcheck disable=SC2016  # $0 and $@ are for the inner sh
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/kaigo-bridge LANG=C.UTF-8 \
    chroot --userspec="$userspec" "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$dir" "$@" \
    > "$work/serve.log" 2>&1 &
  engine_pid=$!
  for _ in $(seq 1 100); do
    [ -s "$root$ready" ] && break
    kill -0 "$engine_pid" 2>/dev/null || { cat "$work/serve.log"; fail "the engine exited"; }
    sleep 0.1
  done
  [ -s "$root$ready" ] || { cat "$work/serve.log"; fail "no ready file after 10 s"; }
  local grpc_port metrics_port ready_pid
  grpc_port=$(sed -n 's/.*"grpc_port":\([0-9]*\).*/\1/p' "$root$ready")
  metrics_port=$(sed -n 's/.*"metrics_port":\([0-9]*\).*/\1/p' "$root$ready")
  ready_pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$root$ready")
  [ "$ready_pid" = "$engine_pid" ] || fail "the engine's pid is $ready_pid, not $engine_pid"
  # grpc.health.v1.Health/Check with an empty request; the answer {status: SERVING} is 08 01.
  /usr/bin/python3 - "$grpc_port" <<'EOF' || fail "gRPC health check"
import sys, grpc
channel = grpc.insecure_channel("127.0.0.1:" + sys.argv[1])
answer = channel.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=10)
print("  grpc.health.v1 Check:", "SERVING" if answer == b"\x08\x01" else answer)
sys.exit(0 if answer == b"\x08\x01" else 1)
EOF
  curl -sf "http://127.0.0.1:$metrics_port/metrics" > "$work/metrics.txt" || fail "GET /metrics"
  echo "  GET /metrics: $(wc -l < "$work/metrics.txt") lines"
  if [ "${#healthcheck[@]}" -gt 0 ]; then
    local said
    said=$(as_user "$userspec" "${healthcheck[@]}" 2>&1) ||
      fail "HEALTHCHECK ${healthcheck[*]}: $said"
    echo "  HEALTHCHECK ${healthcheck[*]}: $said"
  fi
  kill -TERM "$engine_pid"
  local code=0
  wait "$engine_pid" || code=$?
  engine_pid=""
  [ "$code" -eq 0 ] || { cat "$work/serve.log"; fail "serve exited $code after SIGTERM"; }
  echo "  SIGTERM: exit 0"
}

# A configuration for `serve` in a test: loopback, port 0, the installed otp_relay plugin.
write_serve_config() {
  cat > "$root$1" <<'EOF'
server:
  listen: 127.0.0.1:0
  insecure_loopback: true
  metrics_listen: 127.0.0.1:0
plugins:
  - {name: otp_relay, path: /usr/lib/kaigo-bridge/plugins/otp_relay.so}
offices:
  - number: "1371000017"
    name: さくら居宅介護支援事業所
    service_types: ["43"]
    concerns:
      - {service: kaigo.v1.OtpService, plugin: otp_relay, settings: {default_timeout_seconds: 600}}
store:
  sqlite_path: /var/lib/kaigo-bridge/state.db
EOF
}

cleanup
rm -rf "$packages"
mkdir -p "$work" "$packages" "$cache_dir/archives"

# 1. The packages.
step "cpack -G DEB"
(cd "$build_dir" && cpack -G DEB -B "$packages") > "$work/cpack.log" 2>&1 ||
  { tail -n 30 "$work/cpack.log"; fail "cpack"; }
rm -rf "$packages/_CPack_Packages"
# The library's package is named after its SONAME (libkaigo-proto1.0 for libkaigo_proto.so.1.0).
proto_deb=$(ls "$packages"/libkaigo-proto*_"${version}"-*.deb 2>/dev/null) ||
  fail "no package libkaigo-proto* $version"
proto_package=$(dpkg-deb -f "$proto_deb" Package)
soname=$(dpkg-deb -c "$proto_deb" | awk '{print $6}' | sed -n 's|.*/\(libkaigo_proto\.so\.[0-9]*\.[0-9]*\)$|\1|p')
[ "$proto_package" = "libkaigo-proto${soname#libkaigo_proto.so.}" ] ||
  fail "$proto_package holds ${soname:-no libkaigo_proto.so.MAJOR.MINOR}: its name must follow the SONAME"
for p in "$proto_package" kaigo-bridge kaigo-bridge-plugins kaigo-bridge-sandbox libkaigo-sdk-dev; do
  deb=$(ls "$packages/${p}_${version}-"*.deb 2>/dev/null) || fail "no package $p $version"
  echo "  $(basename "$deb"): Depends: $(dpkg-deb -f "$deb" Depends)"
done
# The library's shlibs file names its package; dpkg-shlibdeps gives that to what links it.
shlibs=$(dpkg-deb --info "$proto_deb" shlibs) || fail "$proto_package has no shlibs file"
[ "$shlibs" = "libkaigo_proto ${soname#libkaigo_proto.so.} $proto_package (>= $version)" ] ||
  fail "$proto_package's shlibs: '$shlibs'"
dpkg-deb -f "$packages/kaigo-bridge_${version}-"*.deb Depends |
  grep -q "$proto_package (>= $version)" || fail "kaigo-bridge does not depend on $shlibs"
# The linker cache follows through the ldconfig trigger: no maintainer script calls ldconfig.
scripts=$(dpkg-deb --ctrl-tarfile "$proto_deb" | tar -t | sed 's|^\./||' | grep -Ev '^(control|md5sums|shlibs|triggers|)$' || true)
[ -z "$scripts" ] || fail "$proto_package has maintainer scripts: $scripts"
[ "$(dpkg-deb --info "$proto_deb" triggers)" = "activate-noawait ldconfig" ] ||
  fail "$proto_package does not activate the ldconfig trigger"
packaged=$(for d in "$packages"/*.deb; do dpkg-deb -c "$d" | awk '$1 !~ /^d/ {print $6}'; done |
  sed 's|^\./|/|' | sort)
dupes=$(uniq -d <<< "$packaged")
[ -z "$dupes" ] || fail "files in more than one package: $dupes"
# The packages mirror the module folders' install() rules: whatever `cmake --install` puts in
# place must be in one of them.
inst=$work/cmake-install
rm -rf "$inst"
cmake --install "$build_dir" --prefix "$inst" > "$work/cmake-install.log" 2>&1 ||
  fail "cmake --install"
unpackaged=$(comm -23 <(cd "$inst" && find . ! -type d | sed 's|^\./|/usr/|' | sort) \
  <(echo "$packaged"))
[ -z "$unpackaged" ] ||
  fail "installed by cmake --install but in no package (cmake/Packaging.cmake): $unpackaged"
rm -rf "$inst"
echo "  every file of \`cmake --install\` is in exactly one package"

# Debian's own checks of the packages: policy, descriptions, man pages, maintainer scripts.
# (Not with --show-overrides: lintian 2.116 then exits 2 whenever an override applies.)
step "lintian --fail-on error,warning"
code=0
lintian --fail-on error,warning --tag-display-limit 0 "$packages"/*.deb \
  > "$work/lintian.log" 2>&1 || code=$?
{ grep -v '^running with root privileges' "$work/lintian.log" || true; } | sed 's/^/  /'
[ "$code" -eq 0 ] || fail "lintian exited $code: errors or warnings in the packages (above)"
echo "  lintian: no error or warning"

# 2. The base system.
base=$cache_dir/bookworm-minbase.tar
(
  flock 9
  if [ ! -f "$base" ]; then
    step "debootstrap --variant=minbase bookworm (first run on this machine: downloads)"
    tmp=$cache_dir/bootstrap.tmp
    rm -rf --one-file-system "$tmp"
    debootstrap --variant=minbase bookworm "$tmp" "$mirror" > "$work/debootstrap.log" 2>&1 ||
      { tail -n 20 "$work/debootstrap.log"; exit 1; }
    rm -f "$tmp"/var/cache/apt/archives/*.deb
    tar -C "$tmp" --numeric-owner -cf "$base.tmp" .
    mv "$base.tmp" "$base"
    rm -rf --one-file-system "$tmp"
  fi
) 9> "$cache_dir/lock" || fail "debootstrap (see $work/debootstrap.log)"

# 3. A Debian 12 host.
step "host root: apt-get install the packages (dependencies from $mirror)"
make_root "$work/host-root"
mkdir -p "$root/tmp/debs"
cp "$packages"/*.deb "$root/tmp/debs/"
in_root apt-get update -qq > "$work/apt.log" 2>&1 ||
  { tail -n 20 "$work/apt.log"; fail "apt-get update"; }
in_root sh -c 'cd /tmp/debs && apt-get install -y --no-install-recommends ./libkaigo-proto*.deb \
    ./kaigo-bridge_*.deb \
    ./kaigo-bridge-plugins_*.deb ./kaigo-bridge-sandbox_*.deb' >> "$work/apt.log" 2>&1 ||
  { tail -n 30 "$work/apt.log"; fail "apt-get install"; }
in_root sh -c 'cd /tmp/debs && apt-get install -s ./libkaigo-sdk-dev_*.deb' \
  > "$work/sdk-simulate.log" 2>&1 ||
  { tail -n 20 "$work/sdk-simulate.log"; fail "the SDK's dependencies do not resolve"; }
in_root apt-get install -y --no-install-recommends systemd >> "$work/apt.log" 2>&1 ||
  { tail -n 20 "$work/apt.log"; fail "apt-get install systemd"; }
keep_downloads
in_root dpkg-query -W 'kaigo-bridge*' | sed 's/^/  installed: /'

step "host root: the installed binaries, plugins, user and unit"
out=$(in_root kaigo-bridge --version)
[ "$out" = "kaigo-bridge $version" ] || fail "kaigo-bridge --version: '$out'"
echo "  $out"
out=$(in_root kaigo-sandbox --version)
[ "$out" = "kaigo-sandbox $version" ] || fail "kaigo-sandbox --version: '$out'"
echo "  $out"
code=0
in_root kaigo-careplan > /dev/null 2>&1 || code=$?
[ "$code" -eq 2 ] || fail "kaigo-careplan without arguments exited $code, not 2 (usage)"
echo "  kaigo-careplan (usage): exit 2"
expect_mode /usr/lib/kaigo-bridge/plugins "root:root 755"
count=0
for so in "$root"/usr/lib/kaigo-bridge/plugins/*.so; do
  expect_mode "${so#"$root"}" "root:root 644"
  count=$((count + 1))
done
[ "$count" -gt 0 ] || fail "no plugins in /usr/lib/kaigo-bridge/plugins"
echo "  $count plugins in /usr/lib/kaigo-bridge/plugins, root:root 0644"
entry=$(in_root getent passwd kaigo-bridge) || fail "no user kaigo-bridge"
case "$entry" in *:/usr/sbin/nologin) ;; *) fail "kaigo-bridge can log in: $entry" ;; esac
expect_mode /etc/kaigo-bridge "root:kaigo-bridge 750"
expect_mode /var/lib/kaigo-bridge "kaigo-bridge:kaigo-bridge 700"
echo "  user: $entry"
unit=$root/usr/lib/systemd/system/kaigo-bridge.service
for line in User=kaigo-bridge NoNewPrivileges=yes ProtectSystem=strict; do
  grep -qx "$line" "$unit" || fail "the unit lacks $line"
done
# Debian 12's systemd (252) reads the unit, the targets and the binaries it names in the root.
in_root systemd-analyze verify kaigo-bridge.service || fail "systemd-analyze verify"
echo "  systemd-analyze verify kaigo-bridge.service: exit 0"

# check-config as the unit's ExecStartPre runs it: the desk-PC example as
# /etc/kaigo-bridge/engine.yaml, stand-in secrets owned by the service user (0400), as that user.
# Every plugin the example names is loaded from the installed directory and started.
step "host root: kaigo-bridge check-config /etc/kaigo-bridge/engine.yaml (the desk-PC example)"
example=$root/usr/share/doc/kaigo-bridge/examples/home-care-desk/engine.yaml
cp "$example" "$root/etc/kaigo-bridge/engine.yaml"
cp "$root/usr/share/doc/kaigo-bridge/examples/subsidy-rules.yaml" "$root/etc/kaigo-bridge/"
in_root install -d -m 0700 -o kaigo-bridge -g kaigo-bridge /etc/kaigo-bridge/secrets
grep -o '/etc/kaigo-bridge/secrets/[A-Za-z0-9._-]*' "$example" | sort -u | while read -r secret; do
  # Stand-ins a plugin accepts at start (as tests/deploy_examples_test.cc); a sealing key must
  # look like one.
  if [ "$(basename "$secret")" = sealing-key ]; then
    printf '%064d' 0 | tr 0 a > "$root$secret"
  else
    printf stand-in > "$root$secret"
  fi
  chown --reference="$root/etc/kaigo-bridge/secrets" "$root$secret"
  chmod 0400 "$root$secret"
done
as_user kaigo-bridge:kaigo-bridge /usr/bin/kaigo-bridge check-config /etc/kaigo-bridge/engine.yaml \
  2>&1 | sed 's/^/  /' ||
  fail "check-config of the installed example"

step "host root: kaigo-bridge serve as user kaigo-bridge"
write_serve_config /etc/kaigo-bridge/serve-test.yaml
serve_and_probe kaigo-bridge:kaigo-bridge / /usr/bin/kaigo-bridge serve \
  --config /etc/kaigo-bridge/serve-test.yaml --ready-file /var/lib/kaigo-bridge/ready.json
[ "$(in_root stat -c %U /var/lib/kaigo-bridge/state.db)" = kaigo-bridge ] || fail "state.db owner"
expect_mode /etc/kaigo-bridge/keys/audit.key "kaigo-bridge:kaigo-bridge 600"
expect_mode /etc/kaigo-bridge/keys/sealing.key "kaigo-bridge:kaigo-bridge 600"
as_user kaigo-bridge:kaigo-bridge /usr/bin/kaigo-bridge audit verify \
  --config /etc/kaigo-bridge/serve-test.yaml | sed 's/^/  /' || fail "audit verify"

# The unit through deb-systemd-helper (no systemd runs in the root, so nothing is started).
step "host root: the unit enabled on install, masked on remove, forgotten on purge"
wants=/etc/systemd/system/multi-user.target.wants/kaigo-bridge.service
mask=/etc/systemd/system/kaigo-bridge.service
[ -L "$root$wants" ] || fail "the postinst did not enable kaigo-bridge.service ($wants)"
echo "  enabled: $wants -> $(readlink "$root$wants")"
in_root apt-get remove -y kaigo-bridge-plugins kaigo-bridge >> "$work/apt.log" 2>&1 ||
  { tail -n 20 "$work/apt.log"; fail "apt-get remove kaigo-bridge"; }
[ "$(readlink "$root$mask")" = /dev/null ] || fail "kaigo-bridge.service not masked after remove"
echo "  removed: masked ($mask -> /dev/null)"
in_root dpkg --purge kaigo-bridge >> "$work/apt.log" 2>&1 || fail "dpkg --purge kaigo-bridge"
for link in "$wants" "$mask"; do
  if [ -e "$root$link" ] || [ -L "$root$link" ]; then fail "$link left after purge"; fi
done
for kept in /var/lib/kaigo-bridge/state.db /etc/kaigo-bridge/keys/audit.key; do
  [ -e "$root$kept" ] || fail "$kept removed on purge (the state stays)"
done
echo "  purged: no links left; the state, keys and user stay"
remove_root "$root"

# 4. The SDK package.
step "libkaigo-sdk-dev: build sdk/examples/template_plugin against the unpacked packages"
sdk=$work/sdk
rm -rf "$sdk" && mkdir -p "$sdk"
dpkg-deb -x "$packages/libkaigo-sdk-dev_${version}-"*.deb "$sdk/root"
dpkg-deb -x "$packages/kaigo-bridge_${version}-"*.deb "$sdk/root"
dpkg-deb -x "$proto_deb" "$sdk/root"
if ! { cmake -S "$source_dir/sdk/examples/template_plugin" -B "$sdk/build" -G Ninja \
         -DCMAKE_PREFIX_PATH="$sdk/root/usr" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build "$sdk/build" -j1 --target visit_notes; } > "$sdk/build.log" 2>&1; then
  tail -n 30 "$sdk/build.log"; fail "the template plugin does not build against the SDK package"
fi
LD_LIBRARY_PATH=$sdk/root/usr/lib "$sdk/root/usr/bin/kaigo-plugin-check" \
  "$sdk/build/visit_notes.so" > "$sdk/plugin-check.log" 2>&1 ||
  { tail -n 20 "$sdk/plugin-check.log"; fail "kaigo-plugin-check"; }
echo "  $(tail -n 1 "$sdk/plugin-check.log")"
rm -rf "$sdk"

# 5. The container image definition, its steps run in a root standing in for bookworm-slim.
step "image root: deploy/docker/Dockerfile's COPY and RUN steps"
dockerfile=$source_dir/deploy/docker/Dockerfile
make_root "$work/image-root"
# One instruction a line: comments and blank lines dropped, continuation lines joined.
mapfile -t instructions < <(sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' "$dockerfile" |
  sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta')
user="" workdir=/ entrypoint=() cmd=() healthcheck=()
for instruction in "${instructions[@]}"; do
  read -r keyword args <<< "$instruction"
  case $keyword in
    FROM)
      [ "$args" = debian:bookworm-slim ] || fail "Dockerfile: FROM $args, not bookworm-slim" ;;
    COPY)
      read -ra words <<< "$args"
      dest=${words[-1]}
      case $dest in
        */) mkdir -p "$root$dest" ;;
        *) fail "Dockerfile: COPY to $dest (not a directory)" ;;
      esac
      for src in "${words[@]:0:${#words[@]}-1}"; do
        matched=$(compgen -G "$packages/$src") || fail "Dockerfile: COPY $src matches no package"
        for f in $matched; do cp "$f" "$root$dest"; echo "  COPY $(basename "$f") $dest"; done
      done ;;
    RUN)
      echo "  RUN ${args:0:90}…"
      # The environment docker gives a RUN step: its default PATH, HOME, nothing else.
      env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        chroot "$root" /bin/sh -c "$args" < /dev/null >> "$work/image-build.log" 2>&1 ||
        { tail -n 30 "$work/image-build.log"; fail "Dockerfile: RUN $args"; } ;;
    USER) user=$args ;;
    WORKDIR) workdir=$args; mkdir -p "$root$workdir" ;;
    ENTRYPOINT)
      mapfile -t entrypoint < <(/usr/bin/python3 -c \
        'import json, sys; print("\n".join(json.loads(sys.argv[1])))' "$args") ||
        fail "Dockerfile: ENTRYPOINT is not in exec (JSON) form" ;;
    CMD)
      mapfile -t cmd < <(/usr/bin/python3 -c \
        'import json, sys; print("\n".join(json.loads(sys.argv[1])))' "$args") ||
        fail "Dockerfile: CMD is not in exec (JSON) form" ;;
    HEALTHCHECK)
      # Options (--interval=…) first, then CMD in exec form.
      mapfile -t healthcheck < <(/usr/bin/python3 -c \
        'import json, sys; print("\n".join(json.loads(sys.argv[1].split(" CMD ", 1)[1])))' \
        " $args") || fail "Dockerfile: HEALTHCHECK is not CMD in exec (JSON) form" ;;
    EXPOSE | STOPSIGNAL | LABEL | ARG) ;;  # metadata for the container runtime
    *) fail "Dockerfile: $keyword is not one this test runs; teach it or leave it out" ;;
  esac
done
keep_downloads
if [ -z "$user" ] || [ "${#entrypoint[@]}" -eq 0 ]; then
  fail "Dockerfile: no USER or ENTRYPOINT"
fi
uid=${user%%:*}
entry=$(in_root getent passwd "$uid") || fail "Dockerfile: USER $user has no passwd entry"
echo "  USER $user: $entry"
expect_mode /var/lib/kaigo-bridge "kaigo-bridge:kaigo-bridge 700"
expect_mode /usr/lib/kaigo-bridge/plugins/otp_relay.so "root:root 644"
in_root "${entrypoint[0]}" --version | sed 's/^/  /' || fail "${entrypoint[0]} --version"

step "image root: ENTRYPOINT and CMD as USER $user, a loopback configuration mounted"
write_serve_config /etc/kaigo-bridge/engine.yaml  # stands in for the mounted configuration
# The HEALTHCHECK reads server.health_listen from the configuration: a fixed free port here.
health_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s/^  metrics_listen: .*/&\n  health_listen: 127.0.0.1:$health_port/" "$root/etc/kaigo-bridge/engine.yaml"
# The image carries no keys: a mounted configuration names them, from mounted secrets (stand-ins).
mkdir -p "$root/run/kaigo-keys"
for key in audit ref sealing; do
  od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$root/run/kaigo-keys/$key.key"
done
chown -R "$user" "$root/run/kaigo-keys"
chmod 0400 "$root"/run/kaigo-keys/*.key
cat >>"$root/etc/kaigo-bridge/engine.yaml" <<'KEYS'
keys:
  audit: {id: image-audit, secret: {file: /run/kaigo-keys/audit.key}}
  recipient_ref: {id: image-ref, secret: {file: /run/kaigo-keys/ref.key}}
  sealing: {id: image-seal, secret: {file: /run/kaigo-keys/sealing.key}}
KEYS
serve_and_probe "$user" "$workdir" "${entrypoint[@]}" "${cmd[@]}" \
  --ready-file /var/lib/kaigo-bridge/ready.json
healthcheck=()
remove_root "$root"

step "PASS"
