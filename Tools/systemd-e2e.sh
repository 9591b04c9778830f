#!/usr/bin/env bash
# Tools/systemd-e2e.sh: boots real systemd in a container (systemd-nspawn on a debootstrapped Debian), installs
# ofad with `make install`, starts ofad.socket, runs `ofactl predict` through socket activation, stops the
# service, and prints PASS or FAIL with each step. Run as root. Not part of `swift test` (it takes minutes).
#
#   OFAD_E2E_ROOTFS  the container's root folder, kept between runs (default /var/tmp/ofad-e2e-rootfs)
#   OFAD_E2E_MODEL   model directory to install (default: Tests/Fixtures/models/tiny-a when present)
#   OFAD_E2E_NO_ENGINE=1  for a build whose engine cannot load: a drop-in keeps ofad up (--on-load-failure serve)
#                    and the check expects health "failed" and predict refused with "model not ready" (-32001)
#   OFAD_E2E_WAIT    seconds to wait for readiness (default 120)
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
rootfs=${OFAD_E2E_ROOTFS:-/var/tmp/ofad-e2e-rootfs}
model=${OFAD_E2E_MODEL:-$repo/Tests/Fixtures/models/tiny-a}
export PATH=/opt/swift/usr/bin:$PATH

die() { echo "FAIL: $*"; exit 1; }
for tool in debootstrap systemd-nspawn python3; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install debootstrap systemd-container)"
done
[ "$(id -u)" = 0 ] || die "run as root"

echo "== building release binaries (static Swift runtime)"
flock /tmp/ofad-swift-build.lock make all SWIFT_BUILD_FLAGS=--static-swift-stdlib >/tmp/ofad-e2e-build.log 2>&1 \
    || die "build failed, see /tmp/ofad-e2e-build.log"

if [ ! -x "$rootfs/lib/systemd/systemd" ]; then
    echo "== debootstrap into $rootfs (once)"
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    [ -n "$mirror" ] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    rm -rf "$rootfs.tmp"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libstdc++6,libopenblas0-pthread \
        bookworm "$rootfs.tmp" "$mirror" >/tmp/ofad-e2e-debootstrap.log 2>&1 \
        || die "debootstrap failed, see /tmp/ofad-e2e-debootstrap.log"
    mv "$rootfs.tmp" "$rootfs"
fi

echo "== installing into the container"
flock /tmp/ofad-swift-build.lock make install DESTDIR="$rootfs" PREFIX=/usr/local SWIFT_BUILD_FLAGS=--static-swift-stdlib \
    >>/tmp/ofad-e2e-build.log 2>&1 || die "make install failed, see /tmp/ofad-e2e-build.log"
mkdir -p "$rootfs/etc/systemd/system/sockets.target.wants" "$rootfs/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/ofad.socket "$rootfs/etc/systemd/system/sockets.target.wants/ofad.socket"
rm -rf "$rootfs/var/lib/ofad/model"
mkdir -p "$rootfs/var/lib/ofad/model"
if [ -d "$model" ]; then cp -r "$model"/. "$rootfs/var/lib/ofad/model/"; else echo "   (no model at $model)"; fi
python3 - "$rootfs/root/e2e.png" <<'PY'
import struct, sys, zlib
w = h = 64
raw = b"".join(b"\0" + bytes((x * 4 + y * 2) & 255 for x in range(w)) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY

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
if [ "$OFAD_E2E_NO_ENGINE" = 1 ]; then
    health=$(ofactl health --wait 10); echo "health: $health"
    check "health answers through socket activation: failed" test "${health%%:*}" = failed
    check "ofad.service is activating (no READY=1 without a model)" test "$(systemctl is-active ofad.service)" = activating
    ofactl predict /root/e2e.png "there is a picture"; status=$?
    check "predict refused: model not ready (exit 1)" test "$status" = 1
else
    check "health --wait (socket activation, READY=1)" ofactl health --wait "$OFAD_E2E_WAIT"
    check "ofad.service is active" systemctl is-active --quiet ofad.service
    check "ofactl predict" ofactl predict /root/e2e.png "there is a picture"
fi
pid=$(systemctl show -p MainPID --value ofad.service)
check "runs as the unprivileged user ofad" test "$(stat -c %U /proc/$pid 2>/dev/null)" = ofad
check "ofactl status" ofactl status
check "systemctl stop ofad" systemctl stop ofad.service
check "stopped cleanly (exit 0)" test "$(systemctl show -p ExecMainStatus --value ofad.service)" = 0
echo "--- journal of ofad.service"
journalctl -u ofad.service --no-pager -o short-monotonic | tail -40
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
rm -rf "$rootfs/etc/systemd/system/ofad.service.d"
if [ "${OFAD_E2E_NO_ENGINE:-0}" = 1 ]; then
    mkdir -p "$rootfs/etc/systemd/system/ofad.service.d"
    printf '[Service]\nExecStart=\nExecStart=/usr/local/bin/ofad --on-load-failure serve\n' \
        >"$rootfs/etc/systemd/system/ofad.service.d/no-engine.conf"
fi
printf 'OFAD_E2E_NO_ENGINE=%s\nOFAD_E2E_WAIT=%s\n' "${OFAD_E2E_NO_ENGINE:-0}" "${OFAD_E2E_WAIT:-120}" \
    >"$rootfs/etc/default/ofad-e2e"

echo "== booting systemd in the container (console log: /tmp/ofad-e2e-console.log)"
timeout 900 systemd-nspawn --boot --register=no --keep-unit --private-network -D "$rootfs" \
    >/tmp/ofad-e2e-console.log 2>&1 </dev/null
cat "$rootfs/root/e2e.log" 2>/dev/null || echo "(the check never ran; see /tmp/ofad-e2e-console.log)"
[ "$(cat "$rootfs/root/e2e-result" 2>/dev/null)" = PASS ] && { echo "PASS"; exit 0; }
echo "FAIL"
exit 1
