#!/usr/bin/env bash
# Builds what the device check carries to the GPU machine (which has no Swift): ofa-device-check (the checks, and
# ofad's daemon with a wire client for the end-to-end run) with the Swift runtime linked in (--static-swift-stdlib),
# stripped, beside the Debian libraries it still loads (oneDNN, libgomp, libOpenCL, the image codecs, libsystemd and
# theirs; not glibc or the C++ runtime, which the machine has), as one xz archive: .build-device/bundle.tar.xz (the
# tracked tree and it must stay under the tool's 64 MiB).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/opt/swift/usr/bin:$PATH
flock /tmp/ofad-swift-build.lock swift build -c release --static-swift-stdlib --product ofa-device-check \
  --build-path .build-device >&2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib"
cp .build-device/release/ofa-device-check "$stage/"
strip "$stage/ofa-device-check"
for library in $(ldd .build-device/release/ofa-device-check | awk '$3 ~ /^\// {print $3}' |
  grep -v -E '/(libc|libm|libstdc\+\+|libgcc_s|libdl|libpthread|librt|ld-linux-x86-64)\.so'); do
  cp -L "$library" "$stage/lib/"
done
tar -C "$stage" -cJf .build-device/bundle.tar.xz .
ls -l .build-device/bundle.tar.xz
