#!/usr/bin/env bash
# The added instructions per request of the access-policy step (issue 12),
# counted by callgrind, never timed: bench/policy-cost.c run at two request
# counts, with no policy, a 1-rule policy and a 50-rule policy whose rules
# the call walks past (the worst case: every rule is tried, the default
# decides) or whose first rule decides. Prints instructions per request.
#   bench/policy-cost.sh            # uses build/ (meson setup build first)
#   BUILD_DIR=build-bench bench/policy-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# llhttp's SSE4.2 build (meson.build) exists on x86-64 only.
sse42=""
[ "$(uname -m)" = x86_64 ] && sse42=libllhttp_sse42.a
ninja -C "$build" src/libmap.a libllhttp.a $sse42 >/dev/null
libs=$(pkg-config --libs libevent_core libevent_extra libevent_openssl libevent_pthreads \
  libcurl libssl libcrypto jansson cjose hiredis libpcre2-8 libidn2 yaml-0.1)
# shellcheck disable=SC2086
cc -std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc -I"$build" -o "$out/policy-cost" \
  bench/policy-cost.c "$build/src/libmap.a" "$build/libllhttp.a" ${sse42:+"$build/$sse42"} $libs -lunistring -lm -lpthread

{ echo "rules:"; echo "  - {name: only, match: {name: [other_*]}, require: {groups: [admins]}, effect: allow}"; } > "$out/one.yaml"
{
  echo "default: allow"
  echo "rules:"
  for i in $(seq 1 50); do
    echo "  - name: rule-$i"
    echo "    match: {method: [tools/call, prompts/get], name: [\"tool_${i}_*\", \"admin_${i}?\"]}"
    echo "    require: {groups: [admins, ops], scopes: [mcp:write]}"
    echo "    effect: allow"
  done
} > "$out/fifty-walk.yaml"
sed 's/"tool_1_\*"/"search"/' "$out/fifty-walk.yaml" > "$out/fifty-first.yaml"

instructions() { # N [file]
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" "$out/policy-cost" "$@" >/dev/null 2>"$out/vg.log"
  grep -m1 '^summary:' "$out/cg.out" | awk '{print $2}'
}
per_request() { # label [file]
  local label=$1; shift
  local a b
  a=$(instructions 1000 "$@")
  b=$(instructions 3000 "$@")
  printf '%-44s %8d instructions/request\n' "$label" $(( (b - a) / 2000 ))
}
per_request "no policy (MCP_POLICY_FILE unset)"
per_request "1 rule, not matching"                "$out/one.yaml"
per_request "50 rules, none matching (all tried)" "$out/fifty-walk.yaml"
per_request "50 rules, the first matches"         "$out/fifty-first.yaml"
