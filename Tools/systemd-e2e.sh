#!/usr/bin/env bash
# Tools/systemd-e2e.sh: boots real systemd in a container (systemd-nspawn on a debootstrapped Debian), installs
# ofad with `make install` and a model in /var/lib/ofad/model, starts ofad.socket, runs `ofactl predict` and
# `ofactl attention` through socket activation, stops the service, and prints PASS or FAIL with each step.
# Run as root. Not part of `swift test` (it needs root, systemd-nspawn and debootstrap).
#
#   OFAD_E2E_ROOTFS  the container's root folder, kept between runs (default /var/tmp/ofad-e2e-rootfs)
#   OFAD_E2E_MODEL   model directory to install (default: Tests/Fixtures/models/tiny-a, random weights)
#   OFAD_E2E_WAIT    seconds to wait for readiness (default 120)
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
rootfs=${OFAD_E2E_ROOTFS:-/var/tmp/ofad-e2e-rootfs}
model=${OFAD_E2E_MODEL:-$repo/Tests/Fixtures/models/tiny-a}
export PATH=/opt/swift/usr/bin:$PATH

die() { echo "FAIL: $*"; exit 1; }
for tool in debootstrap systemd-nspawn; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install debootstrap systemd-container)"
done
[ "$(id -u)" = 0 ] || die "run as root"

echo "== building release binaries (static Swift runtime)"
flock /tmp/ofad-swift-build.lock make all SWIFT_BUILD_FLAGS=--static-swift-stdlib >/tmp/ofad-e2e-build.log 2>&1 \
    || die "build failed, see /tmp/ofad-e2e-build.log"

# What ofad needs at run time besides systemd (the Swift runtime and swift-crypto are linked in statically);
# libsystemd0 comes with systemd and is named so that a minimal root without it fails here, not at start.
runtime_packages=(libstdc++6 libdnnl2 libjpeg62-turbo libpng16-16 libgif7 libsystemd0)
if [ ! -x "$rootfs/lib/systemd/systemd" ]; then
    echo "== debootstrap into $rootfs (once)"
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    [ -n "$mirror" ] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    rm -rf "$rootfs.tmp"
    include=$(IFS=,; echo "systemd,systemd-sysv,dbus,${runtime_packages[*]}")
    debootstrap --variant=minbase --include="$include" bookworm "$rootfs.tmp" "$mirror" \
        >/tmp/ofad-e2e-debootstrap.log 2>&1 || die "debootstrap failed, see /tmp/ofad-e2e-debootstrap.log"
    mv "$rootfs.tmp" "$rootfs"
fi
missing=()
for package in "${runtime_packages[@]}"; do
    dpkg --admindir="$rootfs/var/lib/dpkg" -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== adding ${missing[*]} to the container"
    systemd-nspawn -q --register=no --keep-unit -D "$rootfs" sh -c "apt-get update -qq && apt-get install -y -qq ${missing[*]}" \
        >>/tmp/ofad-e2e-debootstrap.log 2>&1 || die "apt-get in the container failed, see /tmp/ofad-e2e-debootstrap.log"
fi

echo "== installing into the container"
flock /tmp/ofad-swift-build.lock make install DESTDIR="$rootfs" PREFIX=/usr/local SWIFT_BUILD_FLAGS=--static-swift-stdlib \
    >>/tmp/ofad-e2e-build.log 2>&1 || die "make install failed, see /tmp/ofad-e2e-build.log"
mkdir -p "$rootfs/etc/systemd/system/sockets.target.wants" "$rootfs/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/ofad.socket "$rootfs/etc/systemd/system/sockets.target.wants/ofad.socket"
rm -rf "$rootfs/var/lib/ofad/model"
mkdir -p "$rootfs/var/lib/ofad/model"
[ -f "$model/config.json" ] || die "no model directory at $model"
cp -r "$model"/. "$rootfs/var/lib/ofad/model/"
# A JPEG here (the warm-up inside ofad is a PNG): both codecs run in the container.
cp Tests/Fixtures/pipeline/images/photo-200x150.jpg "$rootfs/root/e2e.jpg"

cat >"$rootfs/usr/local/bin/ofad-e2e-check" <<'CHECK'
#!/bin/bash
# Runs inside the container once it has booted; writes /root/e2e.log and /root/e2e-result, then powers off.
exec >/root/e2e.log 2>&1
result=PASS
check() { local name=$1; shift; if "$@"; then echo "ok: $name"; else echo "not ok: $name"; result=FAIL; fi; }
export OFAD_SOCKET=/run/ofad/ofad.sock
check "ofad.socket is listening" systemctl is-active --quiet ofad.socket
check "socket is 0660, group ofad-users" test "$(stat -c '%a %G' /run/ofad/ofad.sock)" = "660 ofad-users"
check "ofad.service not started before the first client" test "$(systemctl is-active ofad.service)" != active
. /etc/default/ofad-e2e
check "health --wait (socket activation, READY=1)" ofactl health --wait "$OFAD_E2E_WAIT"
check "ofad.service is active" systemctl is-active --quiet ofad.service
check "ofactl predict" ofactl predict /root/e2e.jpg "there is a picture" "a dog runs"
check "ofactl attention writes a .npy" ofactl attention /root/e2e.jpg "there is a picture" --head-mean \
    --query -1 -o /root/e2e-attention.npy
check "the .npy is there" test -s /root/e2e-attention.npy
pid=$(systemctl show -p MainPID --value ofad.service)
check "runs as the unprivileged user ofad" test "$(stat -c %U /proc/$pid 2>/dev/null)" = ofad
check "ofactl status" ofactl status
check "systemctl stop ofad" systemctl stop ofad.service
check "stopped cleanly (exit 0)" test "$(systemctl show -p ExecMainStatus --value ofad.service)" = 0
echo "--- journal of ofad.service"
journalctl -b -u ofad.service --no-pager -o short-monotonic | tail -40
echo "RESULT: $result"
echo "$result" >/root/e2e-result
systemctl poweroff
CHECK
chmod +x "$rootfs/usr/local/bin/ofad-e2e-check"
cat >"$rootfs/etc/systemd/system/ofad-e2e.service" <<'UNIT'
[Unit]
Description=ofad end-to-end check
After=ofad.socket multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/bin/ofad-e2e-check
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/ofad-e2e.service "$rootfs/etc/systemd/system/multi-user.target.wants/ofad-e2e.service"
rm -f "$rootfs/root/e2e-result" "$rootfs/root/e2e.log"
rm -rf "$rootfs/etc/systemd/system/ofad.service.d" "$rootfs/root/e2e-attention.npy"
printf 'OFAD_E2E_WAIT=%s\n' "${OFAD_E2E_WAIT:-120}" >"$rootfs/etc/default/ofad-e2e"

echo "== booting systemd in the container (console log: /tmp/ofad-e2e-console.log)"
timeout 900 systemd-nspawn --boot --register=no --keep-unit --private-network -D "$rootfs" \
    >/tmp/ofad-e2e-console.log 2>&1 </dev/null
cat "$rootfs/root/e2e.log" 2>/dev/null || echo "(the check never ran; see /tmp/ofad-e2e-console.log)"
[ "$(cat "$rootfs/root/e2e-result" 2>/dev/null)" = PASS ] && { echo "PASS"; exit 0; }
echo "FAIL"
exit 1
