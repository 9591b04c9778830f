#!/usr/bin/env bash
# Engine benchmark: the Swift engine vs the PyTorch reference (modelscope OFA) on the OFA-large-shaped random
# checkpoint, one visual-entailment query (480×480, "there are two birds."), measured back to back in one run.
# Needs: Fixtures-large (python Tools/fixtures/make_engine_fixtures.py --large Fixtures-large) and the reference
# environment ($REFENV_PYTHON, default $HOME/.cache/ofa-refenv/venv/bin/python).
# usage: Tools/benchmarks/engine.sh [threads=2] [runs=5] [warmup=2]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-2} runs=${2:-5} warmup=${3:-2}
python=${REFENV_PYTHON:-$HOME/.cache/ofa-refenv/venv/bin/python}
model=Fixtures-large/ofa-large-random
inputs=Fixtures-large/goldens-large.safetensors
swift build -c release --product ofa-benchmark >&2
echo "# $(date -u +%FT%TZ) $(uname -m) $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
reference=$("$python" Tools/benchmarks/reference_benchmark.py "$model" --threads "$threads" --warmup "$warmup" \
    --repeats "$runs" 2>/dev/null | grep '^{' | tail -1)
# With no environment of its own (env -i): the engine must be fast by itself.
engine=$(env -i PATH="$PATH" .build/release/ofa-benchmark "$model" "$inputs" --threads "$threads" --runs "$runs" --warmup "$warmup")
echo "reference: $reference"
echo "swift:     $engine"
"$python" - "$reference" "$engine" <<'PY'
import json, sys
ref, swift = json.loads(sys.argv[1]), json.loads(sys.argv[2])
traverse, one_pass = ref['traverse']['median_ms'] / 1000, ref['one_pass']['median_ms'] / 1000
print(f"median latency: swift {swift['median_s']:.3f} s; reference traverse {traverse:.3f} s, one pass {one_pass:.3f} s")
print(f"ratio swift/reference: {swift['median_s'] / traverse:.3f} (traverse, what the pipeline runs), "
      f"{swift['median_s'] / one_pass:.3f} (one decoder pass)")
print(f"load: swift {swift['load_s']:.2f} s, reference {ref['load_s']:.2f} s (+ first query {ref.get('first_traverse_s')} s)")
fresh = ref.get('fresh_process_peak_rss_mb')
print(f"peak RSS: swift {swift['peak_rss_bytes'] / 1e9:.2f} GB, reference {ref['peak_rss_mb'] / 1000:.2f} GB"
      + (f" (fresh process {fresh / 1000:.2f} GB)" if fresh else ""))
print(f"max |p_swift - p_reference|: {swift.get('max_abs_difference_vs_reference')}")
PY
