#!/usr/bin/env bash
# Tools/demo.sh [IMAGE [HYPOTHESIS...]]: from a fresh checkout, installs the Debian packages the build needs,
# builds ofad and ofactl (release), starts ofad on a model, asks it for a prediction and an attention map, and
# stops it. Needs a Swift 6 toolchain (https://www.swift.org/install/linux/) and apt (run as root or with sudo).
#
# The model: $OFAD_MODEL_DIR, else /var/lib/ofad/model when it holds one, else the bundled demo model
# Tests/Fixtures/models/tiny-a, which has RANDOM WEIGHTS: its answers show the plumbing, not the model.
# Output goes to $OFAD_DEMO_OUT (default .demo/): attention.npy, heatmap.png and ofad.log.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
command -v swift >/dev/null || { echo "swift not found: install a Swift 6 toolchain first" >&2; exit 1; }

image=${1:-Tests/Fixtures/pipeline/images/photo-200x150.jpg}
shift $(($# > 0 ? 1 : 0))
hypotheses=("$@")
[ ${#hypotheses[@]} -gt 0 ] || hypotheses=("there is a picture." "two dogs are playing in the snow.")
out=${OFAD_DEMO_OUT:-.demo}
mkdir -p "$out"

echo "== packages"
bash .ci/install-packages
echo "== building ofad and ofactl (release; the first build takes a few minutes)"
flock /tmp/ofad-swift-build.lock swift build -c release --product ofad >"$out/build.log" 2>&1 \
    && flock /tmp/ofad-swift-build.lock swift build -c release --product ofactl >>"$out/build.log" 2>&1 \
    || { tail -20 "$out/build.log"; echo "build failed, see $out/build.log" >&2; exit 1; }
bin=$(swift build -c release --show-bin-path)

if [ -n "${OFAD_MODEL_DIR:-}" ]; then
    model=$OFAD_MODEL_DIR
elif [ -f /var/lib/ofad/model/config.json ]; then
    model=/var/lib/ofad/model
else
    model=Tests/Fixtures/models/tiny-a
    echo
    echo "!! No model configured: using the bundled demo model $model."
    echo "!! It has RANDOM WEIGHTS, so its answers mean nothing. README.md says how to install OFA-SNLI-VE Large."
fi

socket=$(mktemp -d /tmp/ofad-demo.XXXXXX)/ofad.sock
export OFAD_SOCKET=$socket
echo "== starting ofad on $model (socket $socket, log $out/ofad.log)"
"$bin/ofad" --model-dir "$model" --socket "$socket" 2>"$out/ofad.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$(dirname "$socket")"' EXIT
"$bin/ofactl" health --wait 900 || { cat "$out/ofad.log"; exit 1; }

echo "== ofactl predict $image ${hypotheses[*]}"
"$bin/ofactl" predict "$image" "${hypotheses[@]}"

echo "== ofactl attention (cross-attention of the answer-predicting row, mean over heads, last decoder layer)"
"$bin/ofactl" attention "$image" "${hypotheses[0]}" --head-mean --query -1 -o "$out/attention.npy"
echo "   $out/attention.npy is the raw float32 map [1, 1, keys]: the first rows×cols keys are the image patches"
echo "   (row-major), then the prompt's tokens."

echo "== ofactl heatmap (where the model looked: the same map drawn over the image)"
"$bin/ofactl" heatmap "$image" "${hypotheses[0]}" --smoothing 1 --colorbar -o "$out/heatmap.png"
echo "   $out/heatmap.png"

kill -TERM "$pid"
wait "$pid" && echo "== ofad stopped cleanly (SIGTERM, exit 0)"
