#!/usr/bin/env bash
# On the GPU machine, in one call (the device tool: run with carry [".build-device/bundle.tar.xz"]): unpack the
# bundle Tools/device/build.sh made, find CUDA's libraries (pip's in the image's Python, the driver's mount), run
# every check of ofa-device-check and leave its report in $OUT: device-report.json (written after each step),
# device-check.log, nvidia-smi.csv, and PyTorch eager's time at equal work in torch-equal-work.json. Exit status: the
# check's (0 = every check passed).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/ofad-device-out}
mkdir -p "$out"
work=$(mktemp -d)
tar -C "$work" -xJf .build-device/bundle.tar.xz || { echo "no bundle: run Tools/device/build.sh first" >&2; exit 2; }
export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
site=$(python3 -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null || true)
directories=$(ls -d "$site"/nvidia/cu13/lib "$site"/nvidia/*/lib /usr/local/nvidia/lib64 /usr/local/nvidia/lib 2>/dev/null |
  paste -sd: -)
export OFAD_CUDA_LIBRARY_PATH="${OFAD_CUDA_LIBRARY_PATH:-$directories}"
echo "OFAD_CUDA_LIBRARY_PATH=$OFAD_CUDA_LIBRARY_PATH" | tee "$out/device-check.log"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv >"$out/nvidia-smi.csv" 2>&1
timeout "${OFAD_DEVICE_CHECK_SECONDS:-420}" "$work/ofa-device-check" run "$PWD" "$work" "$out/device-report.json" \
  2>&1 | tee -a "$out/device-check.log"
status=${PIPESTATUS[0]}
# The yardstick: PyTorch eager on the same card at equal work (Tools/device/torch_equal_work.py says what it is).
timeout 120 python3 Tools/device/torch_equal_work.py >"$out/torch-equal-work.json" 2>>"$out/device-check.log" ||
  echo "torch_equal_work.py failed" | tee -a "$out/device-check.log"
rm -rf "$work"
exit "$status"
