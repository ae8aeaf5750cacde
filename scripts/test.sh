#!/usr/bin/env bash
# The whole test suite, as the README's test command runs it:
#   1. install dependencies (apt-get, npm ci)          scripts/install-deps.sh
#   2. style rules                                     scripts/check-style.sh
#   3. build: release (build/) and ASan+UBSan (build-asan/)
#      Kubernetes manifests' posture                   tests/k8s/run.sh
#   4. unit tests + fuzz-corpus replay, in both builds (meson test)
#   5. end-to-end tests against both binaries (node --test, real peers)
#   6. a short timed libFuzzer run per target, where clang is present
# Ends with one line "N passed, N failed" summing every stage.
#
# Environment:
#   FUZZ_SECONDS=N   seconds per libFuzzer target (default 20; 0 skips)
#   SKIP_INSTALL=1   do not run install-deps.sh
#   E2E_BUILDS="build build-asan"  which binaries the e2e suite runs against
set -uo pipefail
# The whole suite never skips the Redis integration tests: without
# redis-server they fail (tests/unit/test_store_redis.c).
unset MCP_TEST_ALLOW_NO_REDIS
cd "$(dirname "$0")/.."
root=$(pwd)

passed=0
failed=0
failures=()
e2e_why=""
stage() { echo; echo "=== $* ==="; }
count() { passed=$((passed + $1)); failed=$((failed + $2)); }
fail_stage() { failed=$((failed + 1)); failures+=("$1"); }

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  stage "install dependencies"
  scripts/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }
fi

stage "style"
if scripts/check-style.sh; then count 1 0; else fail_stage "check-style"; fi

build_dir() {
  local dir=$1; shift
  # Reconfigure every time: a checkout may carry a build directory made
  # by an older meson.build.
  local reconf=""
  [ -f "$dir/build.ninja" ] && reconf="--reconfigure"
  meson setup $reconf "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log"; return 1; }
}

stage "build (release)"
build_ok=1
build_dir build || { fail_stage "build"; build_ok=0; }
stage "build (ASan+UBSan)"
asan_ok=1
build_dir build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug || { fail_stage "build-asan"; asan_ok=0; }

# Kubernetes manifests: the posture check on the shipped overlays (must
# pass) and on tests/k8s/bad/ (each must fail with its expected lines);
# needs no cluster and no network; after the builds so it can compare its
# parse of src/config.c's table with the release binary's --help.
stage "kubernetes posture"
k8s_out=$(tests/k8s/run.sh 2>&1)
echo "$k8s_out" | grep -v '^ok '
k8s_ok=$(echo "$k8s_out" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1/p' | tail -1)
k8s_fl=$(echo "$k8s_out" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\2/p' | tail -1)
if [ -z "$k8s_ok" ]; then fail_stage "kubernetes posture (no summary)"; else
  count "$k8s_ok" "$k8s_fl"; [ "$k8s_fl" != 0 ] && failures+=("kubernetes posture"); fi

# Monitoring: deploy/'s dashboard and alert rules name only families of
# docs/metrics.md and pass promtool (Debian's prometheus package, installed
# by install-deps.sh); tests/monitoring/bad-alerts.yml (an unknown metric)
# must be refused, naming that metric and nothing else.
stage "monitoring"
if CI_REQUIRE_PROMTOOL=1 scripts/check-monitoring.py; then count 1 0; else
  fail_stage "monitoring: deploy/ dashboard or alert rules"; fi
mon_bad=$(CI_REQUIRE_PROMTOOL=1 scripts/check-monitoring.py --rules tests/monitoring/bad-alerts.yml 2>&1)
mon_rc=$?
echo "$mon_bad"
if [ "$mon_rc" = 1 ] && [ "$(echo "$mon_bad" | grep -c 'unknown metric')" = 1 ] &&
   echo "$mon_bad" | grep -q 'unknown metric mcp_auth_logins_failed_total '; then
  count 1 0; else fail_stage "monitoring: bad-alerts.yml not refused as expected"; fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"

meson_suite() {
  local dir=$1 label=$2
  stage "unit + fuzz replay ($label)"
  local out
  out=$(meson test -C "$dir" --suite unit --suite fuzz-replay --num-processes 2 --print-errorlogs 2>&1)
  local rc=$?
  echo "$out" | grep -vE '^ *[0-9]+/[0-9]+ .* OK ' | tail -40
  local ok fl
  ok=$(echo "$out" | sed -nE 's/^Ok: +([0-9]+).*/\1/p' | tail -1)
  fl=$(echo "$out" | sed -nE 's/^Fail: +([0-9]+).*/\1/p' | tail -1)
  to=$(echo "$out" | sed -nE 's/^Timeout: +([0-9]+).*/\1/p' | tail -1)
  count "${ok:-0}" "$(( ${fl:-0} + ${to:-0} ))"
  [ "$rc" -ne 0 ] && [ "${fl:-0}" = 0 ] && [ "${to:-0}" = 0 ] && fail_stage "meson test ($label)"
  [ "${fl:-0}" != 0 ] && failures+=("unit/fuzz-replay ($label)")
  return 0
}
[ "$build_ok" = 1 ] && meson_suite build release
[ "$asan_ok" = 1 ] && meson_suite build-asan asan

e2e() {
  local dir=$1 files
  stage "end-to-end ($dir)"
  if [ ! -d tests/e2e/node_modules ]; then fail_stage "e2e ($dir): node_modules missing"; return; fi
  # The peers' self-test does not involve the proxy binary: run it once.
  files=$(cd tests/e2e && ls ./*.test.mjs)
  [ "$dir" != "${E2E_FIRST:-build}" ] && files=$(echo "$files" | grep -v peers.test.mjs)
  local out rc
  out=$(cd tests/e2e && MCP_AUTH_PROXY_BIN="$root/$dir/src/mcp-auth-proxy" \
        timeout 1200 node --test --test-concurrency=1 --test-reporter=spec $files 2>&1)
  rc=$?
  echo "$out" | tail -150
  local ok fl
  ok=$(echo "$out" | sed -nE 's/^ℹ pass ([0-9]+)$/\1/p' | tail -1)
  fl=$(echo "$out" | sed -nE 's/^ℹ fail ([0-9]+)$/\1/p' | tail -1)
  count "${ok:-0}" "${fl:-0}"
  if [ "$rc" -ne 0 ] && [ "${fl:-0}" = 0 ]; then fail_stage "e2e ($dir) exited $rc"; fi
  [ "${fl:-0}" != 0 ] && failures+=("e2e ($dir)")
  # The spec reporter's summary of failures, repeated at the very end:
  # CI shows only the last lines of a run, and a flaky failure must be
  # diagnosable from them.
  [ "${fl:-0}" != 0 ] && e2e_why+="--- e2e ($dir) ---
$(echo "$out" | sed -n '/^✖ failing tests:/,$p' | grep -vE '^ℹ |^ *at |^ *$' | head -60)
"
  return 0
}
if ls tests/e2e/*.test.mjs >/dev/null 2>&1; then
  for d in ${E2E_BUILDS:-build build-asan}; do
    [ -x "$d/src/mcp-auth-proxy" ] && e2e "$d"
  done
fi

fuzz_secs=${FUZZ_SECONDS:-20}
if [ "$fuzz_secs" != 0 ] && command -v clang >/dev/null 2>&1; then
  stage "libFuzzer, ${fuzz_secs}s per target"
  if CC=clang build_dir build-fuzz -Dlibfuzzer=true -Db_sanitize=address,undefined -Db_lundef=false; then
    for t in build-fuzz/fuzz/fuzz_*; do
      [ -f "$t" ] && [ -x "$t" ] || continue
      name=$(basename "$t"); name=${name#fuzz_}
      work=$(mktemp -d)
      cp -r "fuzz/corpus/$name/." "$work/" 2>/dev/null
      dict=""; [ -f "fuzz/dict/$name.dict" ] && dict="-dict=fuzz/dict/$name.dict"
      if "$t" -max_total_time="$fuzz_secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
           -artifact_prefix="$work/" $dict "$work" >"$work.log" 2>&1; then
        echo "fuzz $name: ok ($(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1 executions/p' "$work.log" | tail -1))"
        count 1 0
      else
        echo "fuzz $name: FAILED"; tail -40 "$work.log"
        ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null
        fail_stage "fuzz $name"
      fi
      rm -rf "$work" "$work.log"
    done
  else
    fail_stage "build-fuzz"
  fi
fi

echo
[ -n "$e2e_why" ] && printf '%s' "$e2e_why"
if [ "${#failures[@]}" -gt 0 ]; then
  echo "failed stages: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
