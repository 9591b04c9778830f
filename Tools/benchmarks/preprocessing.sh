#!/usr/bin/env bash
# Preprocessing benchmark: ofad (release build) vs Pillow + the reference transforms, same images, same run.
# usage: Tools/benchmarks/preprocessing.sh [python]   (python: the reference env's, default below)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:-$HOME/.cache/ofa-refenv/venv/bin/python}
DIR=.benchmark/preprocessing
VOCAB=Tests/Fixtures/preprocessing/tokenizer/full-vocab
"$PY" Tools/benchmarks/preprocess_reference.py --make-images "$DIR" --iterations 1 >/dev/null
flock /tmp/ofad-swift-build.lock swift build -c release --product ofa-preprocess-benchmark >/dev/null
BIN=$(swift build -c release --show-bin-path)/ofa-preprocess-benchmark
for image in "$DIR/bench-640x480.jpg" "$DIR/bench-4000x3000.jpg"; do
  "$BIN" --iterations 20 "$image"
  "$PY" Tools/benchmarks/preprocess_reference.py --iterations 20 "$image"
done
"$BIN" --iterations 200 --vocab "$VOCAB" Tests/Fixtures/preprocessing/images/png-48x48.png | tail -1
"$PY" Tools/benchmarks/preprocess_reference.py --iterations 200 --vocab "$VOCAB"
