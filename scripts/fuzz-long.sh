#!/usr/bin/env bash
# Long fuzzing, on demand (never in CI; CI keeps its short run in test.sh).
#
#   make fuzz-long                          every target for FUZZ_MINUTES each (default 10)
#   FUZZ_RUNS=10000000 make fuzz-long       every target until it has run N inputs
#   FUZZ_TARGETS="http_head id_token" ...   only these targets
#   FUZZ_JOBS=2 ...                         targets fuzzed side by side (default: online CPUs)
#   FUZZ_TIMEOUT=60 ...                     seconds one input may take before it counts as a
#                                           hang (default 10; libFuzzer measures wall time, so
#                                           raise it on a loaded machine to avoid false hangs)
#
# FUZZ_RUNS and FUZZ_MINUTES together: whichever comes first ends a target.
# Each target starts from its committed corpus (fuzz/corpus/<target>/) and
# its dictionary. Afterwards the corpus is merged and minimized in place:
# the named seeds (any file name that is not libFuzzer's 40-hex SHA-1) are
# always kept, and the generated files are replaced by the smallest set
# libFuzzer's merge finds that keeps all the coverage of the old corpus and
# the run. Commit the result. A crash, leak or timeout leaves its input in
# fuzz/artifacts/<target>/ (not committed): fix the bug, then keep the input
# as a named seed.
#
# Prints one row per target: executions, executions per second, corpus
# files before and after, edges covered, and the result.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

minutes=${FUZZ_MINUTES:-10}
runs=${FUZZ_RUNS:-}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
timeout=${FUZZ_TIMEOUT:-10}

command -v clang >/dev/null 2>&1 || { echo "fuzz-long: clang is needed (scripts/install-deps.sh installs it)"; exit 1; }

echo "fuzz-long: building build-fuzz (clang, libFuzzer, ASan+UBSan)"
reconf=""
[ -f build-fuzz/build.ninja ] && reconf="--reconfigure"
if ! CC=clang meson setup $reconf build-fuzz -Dlibfuzzer=true -Db_sanitize=address,undefined \
       -Db_lundef=false >build-fuzz.setup.log 2>&1 ||
   ! ninja -C build-fuzz >build-fuzz.build.log 2>&1; then
  tail -40 build-fuzz.setup.log build-fuzz.build.log
  echo "fuzz-long: build failed"
  exit 1
fi

targets=${FUZZ_TARGETS:-}
if [ -z "$targets" ]; then
  for t in build-fuzz/fuzz/fuzz_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    n=$(basename "$t"); targets="$targets ${n#fuzz_}"
  done
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

is_generated() { [[ "$1" =~ ^[0-9a-f]{40}$ ]]; }

# Fuzzes one target and writes "name runs secs before after cov result" to
# $results/<name>.
fuzz_one() {
  local name=$1 bin="build-fuzz/fuzz/fuzz_$1" corpus="fuzz/corpus/$1"
  local work; work=$(mktemp -d)
  mkdir -p "$work/in" "fuzz/artifacts/$name" "$corpus"
  cp -r "$corpus/." "$work/in/" 2>/dev/null
  local before; before=$(find "$corpus" -type f | wc -l)
  local dict=""; [ -f "fuzz/dict/$name.dict" ] && dict="-dict=fuzz/dict/$name.dict"
  local limits=(-max_total_time=$((minutes * 60)))
  [ -n "$runs" ] && limits+=(-runs="$runs")
  local start end rc
  start=$(date +%s)
  "$bin" "${limits[@]}" -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$name/" $dict "$work/in" >"$work/log" 2>&1
  rc=$?
  end=$(date +%s)
  local executed cov result=ok
  executed=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$work/log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$work/log" | tail -1 | awk '{print $2}')
  if [ "$rc" -ne 0 ]; then
    result="FAILED (exit $rc; see fuzz/artifacts/$name/)"
    cp "$work/log" "fuzz/artifacts/$name/run.log"
  fi

  # Merge and minimize: named seeds first (always kept), then everything.
  local merged="$work/merged"
  mkdir -p "$merged"
  for f in "$corpus"/*; do
    [ -f "$f" ] || continue
    is_generated "$(basename "$f")" || cp "$f" "$merged/"
  done
  if "$bin" -merge=1 -timeout="$timeout" -rss_limit_mb=2048 "$merged" "$corpus" "$work/in" \
       >"$work/merge.log" 2>&1; then
    for f in "$corpus"/*; do
      [ -f "$f" ] && is_generated "$(basename "$f")" && rm -f "$f"
    done
    for f in "$merged"/*; do
      [ -f "$f" ] && is_generated "$(basename "$f")" && cp "$f" "$corpus/"
    done
  else
    result="$result; merge failed (corpus left as it was)"
  fi
  local after; after=$(find "$corpus" -type f | wc -l)
  echo "$name ${executed:-0} $((end - start)) $before $after ${cov:-?} $result" >"$results/$name"
  rm -rf "$work"
  rmdir "fuzz/artifacts/$name" 2>/dev/null
  echo "fuzz-long: $name done: ${executed:-0} executions in $((end - start)) s, $result"
}

echo "fuzz-long: targets:$targets"
echo "fuzz-long: ${runs:+$runs executions or }$minutes min per target, $jobs at a time"
running=0
for name in $targets; do
  if [ ! -x "build-fuzz/fuzz/fuzz_$name" ]; then
    echo "$name 0 0 0 0 ? FAILED (no such target)" >"$results/$name"
    continue
  fi
  fuzz_one "$name" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

echo
printf '| %-22s | %12s | %9s | %7s | %-15s | %6s | %s\n' target executions exec/s seconds "corpus files" cov result
printf '|%s|%s|%s|%s|%s|%s|%s\n' ------------------------ -------------- ----------- --------- ----------------- -------- --------
failed=0
for name in $targets; do
  read -r n executed secs before after cov result <"$results/$name"
  rate="-"; [ "$secs" -gt 0 ] && rate=$((executed / secs))
  printf '| %-22s | %12s | %9s | %7s | %-15s | %6s | %s\n' "$n" "$executed" "$rate" "$secs" "$before -> $after" "$cov" "$result"
  [ "$result" = ok ] || failed=1
done
[ "$failed" -eq 0 ]
