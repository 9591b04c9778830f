#!/usr/bin/env bash
# Builds the libFuzzer targets (ASan + coverage, scratch path Tools/fuzz/.build-fuzz) and runs each for a bounded
# time or number of inputs on a scratch copy of its committed corpus; fails on any crash, leak, timeout or
# out-of-memory, naming the reproducer. CI runs it with the defaults (and -seed=1; libFuzzer is still not
# reproducible run to run: a faster machine tries more inputs); longer runs by hand are in docs/fuzzing.md.
#
#   Tools/fuzz/run.sh [--seconds N] [--runs N] [--resume] [--work DIR] [--build-only | --no-build] [TARGET...]
#                     [-- FLAGS...]
#
#   --seconds N   per target at most (default $OFA_FUZZ_SECONDS or 45)
#   --runs N      per target, stop after N inputs (default $OFA_FUZZ_RUNS; unset: no limit but the time)
#   --resume      keep the grown corpus in the work directory from the last run instead of starting from the seeds
#   --work DIR    scratch corpora, artifacts and logs (default $OFA_FUZZ_WORK or Tools/fuzz/.build-fuzz/work)
#   TARGET        image exif wire checkpoint (default: all)
#   FLAGS         passed on to every libFuzzer run (e.g. -fork=2 -ignore_crashes=1, -use_value_profile=1)
#
# Builds hold /tmp/ofad-swift-build.lock, as .ci/run's do; so does each fuzz run (OFA_FUZZ_LOCK= to run unlocked).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export PATH=/opt/swift/usr/bin:$PATH

seconds="${OFA_FUZZ_SECONDS:-45}"
runs="${OFA_FUZZ_RUNS:-}"
work="${OFA_FUZZ_WORK:-$here/.build-fuzz/work}"
resume=no
build=yes
run=yes
targets=()
flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --resume) resume=yes; shift ;;
    --work) work="$2"; shift 2 ;;
    --build-only) run=no; shift ;;
    --no-build) build=no; shift ;;
    --) shift; flags=("$@"); break ;;
    image | exif | wire | checkpoint) targets+=("$1"); shift ;;
    *) echo "run.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(image exif wire checkpoint)
case "$seconds" in '' | *[!0-9]*) echo "run.sh: --seconds needs a whole number" >&2; exit 2 ;; esac
case "$runs" in *[!0-9]*) echo "run.sh: --runs needs a whole number" >&2; exit 2 ;; esac
limit=(-max_total_time="$seconds")
[ -z "$runs" ] || limit+=(-runs="$runs")

lock=(flock /tmp/ofad-swift-build.lock)
run_lock=()
[ -z "${OFA_FUZZ_LOCK-/tmp/ofad-swift-build.lock}" ] || run_lock=(flock "${OFA_FUZZ_LOCK:-/tmp/ofad-swift-build.lock}")

# -sanitize=fuzzer,address in one flag: swiftc keeps only the last -sanitize= it is given, so SwiftPM's
# `--sanitize fuzzer --sanitize address` would build Swift code without coverage. `--sanitize fuzzer` is still
# needed: it makes SwiftPM link the executables with libFuzzer's main instead of their own.
if [ "$build" = yes ]; then
  echo "fuzz: building (debug, libFuzzer + AddressSanitizer) in $here/.build-fuzz"
  "${lock[@]}" swift build -c debug --package-path "$here" --scratch-path "$here/.build-fuzz" \
    --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
fi
[ "$run" = yes ] || exit 0
bin="$here/.build-fuzz/debug"

# Per target: the most bytes an input may have.
max_len() {
  case "$1" in
    image) echo 16384 ;;
    exif) echo 4096 ;;
    wire) echo 16384 ;;
    checkpoint) echo 32768 ;;
  esac
}

# Swift's own crash reporter would race libFuzzer's handler; ASan's report carries the stack.
export SWIFT_BACKTRACE=enable=no
export ASAN_SYMBOLIZER_PATH=/opt/swift/usr/bin/llvm-symbolizer
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:handle_abort=1:symbolize=1}"
shm="$(mktemp -d /dev/shm/ofa-fuzz.XXXXXX 2>/dev/null || mktemp -d)"
trap 'rm -rf "$shm"' EXIT
export OFA_FUZZ_TMPDIR="$shm"

failed=0
summary=()
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  artifacts="$work/artifacts/$target"
  log="$work/logs/$target.log"
  if [ "$resume" = no ]; then rm -rf "$corpus"; fi
  rm -rf "$artifacts"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  # The seeds, and the inputs of fixed findings (regressions/), which every run replays first.
  for seeds in "$here/corpus/$target" "$here/regressions/$target"; do
    [ ! -d "$seeds" ] || find "$seeds" -maxdepth 1 -type f -exec cp -n {} "$corpus"/ \;
  done
  echo "fuzz $target: ${runs:+$runs inputs or }${seconds} s on $(find "$corpus" -type f | wc -l) inputs (log $log)"
  status=0
  "${run_lock[@]}" "$bin/fuzz-$target" "$corpus" -dict="$here/dict/$target.dict" -artifact_prefix="$artifacts/" \
    "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len="$(max_len "$target")" \
    -print_final_stats=1 ${flags[@]+"${flags[@]}"} >"$log" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  # -fork mode prints no final stats; its status lines start with the exec count.
  [ -n "$execs" ] || execs="$(sed -n 's/^#\([0-9]*\):* .*/\1/p' "$log" | tail -1)"
  coverage="$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)"
  edges="$(sed -n 's/.*(\([0-9]*\) inline 8-bit counters).*/\1/p' "$log" | head -1)"
  found=("$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*)
  reproducers=()
  for file in "${found[@]}"; do [ -e "$file" ] && reproducers+=("$file"); done
  echo "fuzz $target: ${coverage:-no coverage line} of ${edges:-?} edges, corpus $(find "$corpus" -type f | wc -l) inputs"
  if [ "$status" -ne 0 ] || [ ${#reproducers[@]} -gt 0 ]; then
    failed=1
    echo "fuzz $target: FAILED (libFuzzer exit $status); the report:"
    { grep -v -E '^#[0-9]+|^INFO:|^MERGE' "$log" || true; } | tail -60 | swift demangle --simplified
    for file in ${reproducers[@]+"${reproducers[@]}"}; do
      echo "fuzz $target: reproducer $file ($(wc -c <"$file") bytes); rerun: $bin/fuzz-$target $file"
    done
  fi
  line="fuzz $target: ${execs:-?} execs, ${#reproducers[@]} crashes"
  [ "$status" -eq 0 ] || line+=" (libFuzzer exit $status)"
  summary+=("$line")
done
printf '%s\n' "${summary[@]}"
exit "$failed"
