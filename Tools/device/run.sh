#!/usr/bin/env bash
# On the GPU machine, in one call (the device tool: run with carry [".build-device/bundle.tar.xz"]): unpack the
# bundle Tools/device/build.sh made, find CUDA's libraries (pip's in the image's Python, the driver's mount), run
# every check of ofa-device-check and leave its report in $OUT: device-report.json (written after each step),
# device-check.log, nvidia-smi.csv, the daemon end to end in daemon-bench.json (with ofad.log), and PyTorch eager's
# time at equal work in torch-equal-work.json. Exit status: the check's (0 = every check passed).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/ofad-device-out}
mkdir -p "$out"
work=$(mktemp -d)
tar -C "$work" -xJf .build-device/bundle.tar.xz || { echo "no bundle: run Tools/device/build.sh first" >&2; exit 2; }
# The bundle's libraries for its binary only (exported, they would shadow the machine's own for python3 below).
check() { LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/ofa-device-check" "$@"; }
site=$(python3 -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null || true)
directories=$(ls -d "$site"/nvidia/cu13/lib "$site"/nvidia/*/lib /usr/local/nvidia/lib64 /usr/local/nvidia/lib 2>/dev/null |
  paste -sd: -)
export OFAD_CUDA_LIBRARY_PATH="${OFAD_CUDA_LIBRARY_PATH:-$directories}"
echo "OFAD_CUDA_LIBRARY_PATH=$OFAD_CUDA_LIBRARY_PATH" | tee "$out/device-check.log"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv >"$out/nvidia-smi.csv" 2>&1
export -f check
export work
timeout "${OFAD_DEVICE_CHECK_SECONDS:-420}" bash -c 'check "$@"' check run "$PWD" "$work" "$out/device-report.json" \
  2>&1 | tee -a "$out/device-check.log"
status=${PIPESTATUS[0]}
# The daemon end to end on the GPU, on the seeded OFA-large checkpoint the check wrote: 2 workers, 100 queries one at a
# time, then 16 clients at once (the daemon's own log in ofad.log).
if [ -f "$work/ofa-large-synthetic/model.safetensors" ]; then
  OFAD_MODEL_DIR="$work/ofa-large-synthetic" OFAD_SOCKET="$work/ofad.sock" OFAD_DEVICE=cuda OFAD_WORKERS=2 \
    OFAD_CACHE_DIR="$work/kernels" timeout 300 bash -c 'check serve' >"$out/ofad.log" 2>&1 &
  daemon=$!
  timeout 240 bash -c 'check "$@"' check bench-daemon "$work/ofad.sock" "$out/daemon-bench.json" 100 16 2>&1 |
    tee -a "$out/device-check.log"
  kill "$daemon" 2>/dev/null
  wait "$daemon" 2>/dev/null
fi
# The yardstick: PyTorch eager on the same card at equal work (Tools/device/torch_equal_work.py says what it is).
timeout 120 python3 Tools/device/torch_equal_work.py >"$out/torch-equal-work.json" 2>>"$out/device-check.log" ||
  echo "torch_equal_work.py failed" | tee -a "$out/device-check.log"
rm -rf "$work"
exit "$status"
