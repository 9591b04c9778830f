#!/usr/bin/env bash
# End to end, side by side in one run: `ofactl predict` on new images against a daemon started by hand (no
# environment of its own), in fp32 and, where the CPU offers it, bf16; then modelscope's own pipeline on the same
# images in fp32 and under PyTorch's bf16 autocast; then the engine alone against the reference's forward
# (engine.sh's numbers) with the share of GEMM speed. Prints every figure and the ratios BENCHMARKS.md quotes.
# Needs: Fixtures-large (make_engine_fixtures.py --large Fixtures-large), the reference environment
# ($REFENV_PYTHON) and the pipeline's extra imports (make_pipeline_fixtures.py --install-deps).
# usage: Tools/benchmarks/end_to_end.sh [images=5] [threads=2]
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-5} threads=${2:-2}
python=${REFENV_PYTHON:-$HOME/.cache/ofa-refenv/venv/bin/python}
model=$PWD/Fixtures-large/ofa-large-random
work=$(mktemp -d)
trap 'kill $(cat "$work"/pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
swift build -c release --product ofad >&2
swift build -c release --product ofactl >&2
swift build -c release --product ofa-benchmark >&2
echo "# $(date -u +%FT%TZ) $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# New images: 640×480 JPEGs of different noise, so neither side can reuse one.
"$python" - "$work" "$count" <<'PY'
import sys
import numpy as np
from PIL import Image
folder, count = sys.argv[1], int(sys.argv[2])
for i in range(count + 1):
    pixels = np.random.default_rng(i).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(f'{folder}/image{i}.jpg', quality=90)
PY
images=()
for i in $(seq 1 "$count"); do images+=("$work/image$i.jpg"); done
daemon() {  # precision → median seconds of ofactl predict over the images (after one warm-up query)
  local socket=$work/ofad.sock
  env -i PATH="$PATH" .build/release/ofad --model-dir "$model" --socket "$socket" --threads "$threads" \
    --precision "$1" >"$work/ofad.log" 2>&1 &
  echo $! >"$work/pid"
  until .build/release/ofactl health --socket "$socket" >/dev/null 2>&1; do
    kill -0 "$(cat "$work/pid")" 2>/dev/null || { cat "$work/ofad.log" >&2; exit 1; }
    sleep 0.5
  done
  .build/release/ofactl predict --socket "$socket" "$work/image0.jpg" "there are two birds." >/dev/null
  local times=()
  for image in "${images[@]}"; do
    local start end
    start=$(date +%s.%N)
    .build/release/ofactl predict --socket "$socket" "$image" "there are two birds." >>"$work/answers-$1.txt"
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  .build/release/ofactl status --socket "$socket" --json | "$python" -c \
    'import json,sys; s=json.load(sys.stdin); print("# daemon precision", s.get("precision"), file=sys.stderr)'
  # bf16's close calls (scored again on float32-input features) among the timed queries.
  echo "# $1: $(grep -c '\[close call\]' "$work/answers-$1.txt" || true) close calls of ${#images[@]}" >&2
  kill "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
ofactl_fp32=$(daemon fp32)
ofactl_bf16=none
if grep -q -E "avx512_bf16|amx_bf16" /proc/cpuinfo; then
  ofactl_bf16=$(daemon bf16)
fi
pipeline_fp32=$("$python" Tools/benchmarks/pipeline_benchmark.py "$model" "${images[@]}" --threads "$threads" \
  2>/dev/null | grep '^{' | tail -1)
pipeline_bf16=$("$python" Tools/benchmarks/pipeline_benchmark.py "$model" "${images[@]}" --threads "$threads" \
  --autocast-bf16 2>/dev/null | grep '^{' | tail -1)
engine_fp32=$(env -i PATH="$PATH" .build/release/ofa-benchmark "$model" Fixtures-large/goldens-large.safetensors \
  --threads "$threads" --runs 5 --warmup 2 --gemm-rate)
engine_bf16=$(env -i PATH="$PATH" .build/release/ofa-benchmark "$model" Fixtures-large/goldens-large.safetensors \
  --threads "$threads" --runs 5 --warmup 2 --precision bf16 2>/dev/null || echo '{}')
reference=$("$python" Tools/benchmarks/reference_benchmark.py "$model" --threads "$threads" --warmup 2 --repeats 5 \
  --autocast-bf16 2>/dev/null | grep '^{' | tail -1)
"$python" - "$ofactl_fp32" "$ofactl_bf16" "$pipeline_fp32" "$pipeline_bf16" "$engine_fp32" "$engine_bf16" \
  "$reference" <<'PY'
import json, sys
ofactl32, ofactl16 = float(sys.argv[1]), (None if sys.argv[2] == 'none' else float(sys.argv[2]))
pipe32, pipe16, eng32, eng16, ref = (json.loads(a) for a in sys.argv[3:8])
print(f"ofactl predict, new image: fp32 {ofactl32:.3f} s" + (f", bf16 {ofactl16:.3f} s" if ofactl16 else ""))
print(f"modelscope pipeline: fp32 {pipe32['median_s']:.3f} s, bf16 autocast {pipe16['median_s']:.3f} s")
print(f"  ofactl fp32 / pipeline fp32 = {ofactl32 / pipe32['median_s']:.3f}   (goal <= 0.6)")
if ofactl16:
    print(f"  ofactl bf16 / pipeline fp32 = {ofactl16 / pipe32['median_s']:.3f}   (goal <= 0.35)")
    print(f"  ofactl bf16 / pipeline bf16 autocast = {ofactl16 / pipe16['median_s']:.3f}   (goal < 1)")
one32 = ref['one_pass']['median_ms'] / 1000
print(f"engine fp32 {eng32['median_s']:.3f} s; reference one pass fp32 {one32:.3f} s: "
      f"ratio {eng32['median_s'] / one32:.3f}   (goal <= 0.8)")
rates = eng32.get('gemm_gflops', {})
flop = eng32['query_gemm_gflop']
best = max([rates.get('fp32', 0)] + [v for k, v in ref.get('gemm_gflops', {}).items() if k.endswith('fp32')])
print(f"GEMM work {flop:.1f} GFLOP; fp32 rates: engine's library {rates.get('fp32', 0):.0f}, reference side "
      f"{ref.get('gemm_gflops')} GFLOP/s")
print(f"  engine fp32 / (GEMM FLOPs / best fp32 rate {best:.0f}) = {eng32['median_s'] / (flop / best):.3f}   "
      f"(goal <= 1.25)")
if eng16.get('median_s'):
    auto = ref['one_pass_bf16_autocast']['median_ms'] / 1000
    print(f"engine bf16 {eng16['median_s']:.3f} s; reference one pass under bf16 autocast {auto:.3f} s: "
          f"ratio {eng16['median_s'] / auto:.3f}   (goal < 1)")
    print(f"  |dp| bf16 vs float32 reference {eng16.get('max_abs_difference_vs_reference')}; "
          f"peak RSS bf16 {eng16['peak_rss_bytes'] / 1e9:.2f} GB (goal <= 1.3)")
print(f"peak RSS fp32 {eng32['peak_rss_bytes'] / 1e9:.2f} GB (goal <= 2.1); load {eng32['load_s']:.2f} s")
PY
