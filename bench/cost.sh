#!/usr/bin/env bash
# What one proxied request costs, counted rather than timed, beside nginx
# doing the same job (run on demand, never in CI; bench/README.md):
#
#   bench/cost.sh                instructions per request (callgrind) and
#                                syscalls per request (strace -c) for nginx as
#                                a reverse proxy (access log on) and for
#                                mcp-auth-proxy (bearer check, access log on),
#                                both in front of the same nginx upstream
#
# Counts are stable across runs on a busy machine (callgrind counts user-space
# instructions, strace counts calls), so they are the figures to compare
# changes by. Both servers run one worker (WORKERS=1; nginx with
# master_process off, so one process does all the work), get the same
# 100-byte JSON-RPC POST as bench/run.sh's wrk (bench/post.lua), on one
# keep-alive connection, one request after another (bench/fixed-load.mjs).
# Instructions: counters zeroed after a warm-up, then COST_N and 3*COST_N
# requests; the difference divided by 2*COST_N cancels fixed costs (the dump
# itself, timers). Also the proxy's GET /healthz and, with a 50-rule access
# policy (bench/policy-cost.sh's worst case), the POST again.
#
# Environment: COST_N=2000, BENCH_DIR=build-bench/cost, BENCH_SKIP_INSTALL=1,
# MCP_AUTH_PROXY_BIN=path (the binary to count; mint-token from build-bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
BENCH_DIR=${BENCH_DIR:-$root/build-bench/cost}
n=${COST_N:-2000}

# shellcheck source=bench/lib.sh
. bench/lib.sh
proxy_wrap=()
srv=()
workers=1
for c in valgrind callgrind_control strace; do
  command -v "$c" > /dev/null || die "$c is missing (apt-get install valgrind strace)"
done
bench_prepare

up_port=$(free_port); ngx_port=$(free_port); idp_port=$(free_port)
p_port=$(free_port); m_port=$(free_port)
secret=$(openssl rand -hex 32)
idp_secret=$(openssl rand -hex 24)
reply='{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}'
mkdir -p "$BENCH_DIR/nginx-tmp/up" "$BENCH_DIR/nginx-tmp/rp"
{
  nginx_common 1 nginx-upstream
  cat <<CONF
http {
  $(temp_paths up)
  access_log off;
  keepalive_requests 10000000;
  server { listen 127.0.0.1:$up_port; location /mcp { default_type application/json; return 200 '$reply'; } }
}
CONF
} > "$BENCH_DIR/nginx-upstream.conf"
# The measured nginx: one process doing everything, so callgrind and strace
# see all of its work.
{
  nginx_common 1 nginx-rp | sed 's/^master_process on;/master_process off;/'
  cat <<CONF
http {
  $(temp_paths rp)
  access_log $BENCH_DIR/nginx-rp.access.log;
  keepalive_requests 10000000;
  upstream mcp_static { server 127.0.0.1:$up_port; keepalive 128; keepalive_requests 10000000; }
  server {
    listen 127.0.0.1:$ngx_port;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    location /mcp { proxy_pass http://mcp_static; }
  }
}
CONF
} > "$BENCH_DIR/nginx-rp.conf"
{
  echo "default: allow"
  echo "rules:"
  for i in $(seq 1 50); do
    echo "  - name: rule-$i"
    echo "    match: {method: [tools/call, prompts/get], name: [\"tool_${i}_*\", \"admin_${i}?\"]}"
    echo "    require: {groups: [admins, ops], scopes: [mcp:write]}"
    echo "    effect: allow"
  done
} > "$BENCH_DIR/policy-50.yaml"

start_bg nginx-upstream nginx -p "$BENCH_DIR" -e "$BENCH_DIR/nginx-upstream.error.log" -c "$BENCH_DIR/nginx-upstream.conf"
start_bg idp node tests/e2e/peers/idp.mjs --port "$idp_port" --client-id mcp-auth-proxy \
  --client-secret "$idp_secret" --redirect-uri "http://127.0.0.1:$p_port/callback"
wait_until 20 idp log_has idp '^IDP_READY '
wait_until 10 nginx-upstream http_ok "http://127.0.0.1:$up_port/mcp"
token=$(BENCH_SECRET=$secret "$BENCH_DIR/mint-token" "http://127.0.0.1:$p_port" /mcp)
load() { node bench/fixed-load.mjs "$1" "$2" "${3:-}" > /dev/null; }

# dump_total PID HINT: the instruction total of the dump made with that hint.
dump_total() {
  local f
  f=$(grep -l "^desc: Trigger: dump $2\$" "$BENCH_DIR"/cg."$1".* | head -1)
  [ -n "$f" ] || die "no callgrind dump '$2' of pid $1"
  awk '/^summary:|^totals:/ {print $2; exit}' "$f"
}
# instructions NAME PID URL [TOKEN]: user-space instructions per request of
# the callgrind-run process PID.
instructions() {
  local name=$1 pid=$2 url=$3 tok=${4:-} a b
  load "$url" 200 "$tok"
  callgrind_control -z "$pid" > /dev/null 2>&1
  load "$url" "$n" "$tok"
  callgrind_control --dump="$name-a" "$pid" > /dev/null 2>&1
  callgrind_control -z "$pid" > /dev/null 2>&1
  load "$url" $((3 * n)) "$tok"
  callgrind_control --dump="$name-b" "$pid" > /dev/null 2>&1
  a=$(dump_total "$pid" "$name-a")
  b=$(dump_total "$pid" "$name-b")
  echo $(( (b - a) / (2 * n) ))
}
# strace's total line is "100.00 secs usecs/call calls [errors] total": the
# calls column is the 4th field.
syscalls_total() { awk '$NF == "total" {print $4}' "$1"; }
# syscalls PID URL [TOKEN]: system calls per request of PID (all threads).
syscalls() {
  local pid=$1 url=$2 tok=${3:-} sp total
  load "$url" 200 "$tok"
  strace -c -f -p "$pid" -o "$BENCH_DIR/strace.$pid.txt" > /dev/null 2>&1 &
  sp=$!
  sleep 1
  load "$url" "$n" "$tok"
  kill -INT "$sp"; wait "$sp" 2>/dev/null || true
  total=$(syscalls_total "$BENCH_DIR/strace.$pid.txt")
  awk -v t="$total" -v n="$n" 'BEGIN { printf "%.2f", t / n }'
}

cg=(valgrind --tool=callgrind --callgrind-out-file="$BENCH_DIR/cg.%p")
declare -A ins sys
say "nginx under callgrind"
start_bg nginx-cg "${cg[@]}" nginx -p "$BENCH_DIR" -e "$BENCH_DIR/nginx-rp.error.log" -c "$BENCH_DIR/nginx-rp.conf"
wait_until 60 nginx-cg http_ok "http://127.0.0.1:$ngx_port/mcp"
ins[nginx]=$(instructions nginx "$nginx_cg_pid" "http://127.0.0.1:$ngx_port/mcp")
stop_one() { local p=$1; kill -TERM "$p" 2>/dev/null; for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; wait "$p" 2>/dev/null || true; }
stop_one "$nginx_cg_pid"
say "nginx under strace"
start_bg nginx-st nginx -p "$BENCH_DIR" -e "$BENCH_DIR/nginx-rp.error.log" -c "$BENCH_DIR/nginx-rp.conf"
wait_until 10 nginx-st http_ok "http://127.0.0.1:$ngx_port/mcp"
sys[nginx]=$(syscalls "$nginx_st_pid" "http://127.0.0.1:$ngx_port/mcp")
stop_one "$nginx_st_pid"

purl=http://127.0.0.1:$p_port
for variant in plain policy; do
  extra=()
  [ "$variant" = policy ] && extra=(MCP_POLICY_FILE="$BENCH_DIR/policy-50.yaml")
  say "mcp-auth-proxy ($variant) under callgrind"
  proxy_wrap=("${cg[@]}")
  start_proxy "proxy-cg-$variant" "$p_port" "$m_port" "http://127.0.0.1:$up_port/mcp" ${extra[@]+"${extra[@]}"}
  pid_var=proxy_cg_${variant}_pid
  wait_until 120 "proxy-cg-$variant" http_ok "$purl/healthz"
  ins[proxy-$variant]=$(instructions proxy "${!pid_var}" "$purl/mcp" "$token")
  [ "$variant" = plain ] && ins[healthz]=$(instructions healthz "${!pid_var}" "$purl/healthz")
  stop_one "${!pid_var}"
  say "mcp-auth-proxy ($variant) under strace"
  proxy_wrap=()
  start_proxy "proxy-st-$variant" "$p_port" "$m_port" "http://127.0.0.1:$up_port/mcp" ${extra[@]+"${extra[@]}"}
  pid_var=proxy_st_${variant}_pid
  wait_until 30 "proxy-st-$variant" http_ok "$purl/healthz"
  sys[proxy-$variant]=$(syscalls "${!pid_var}" "$purl/mcp" "$token")
  [ "$variant" = plain ] && sys[healthz]=$(syscalls "${!pid_var}" "$purl/healthz")
  stop_one "${!pid_var}"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
  echo "### Cost per request, counted ($n and $((3 * n)) requests, one keep-alive connection)"
  echo
  echo "| what | instructions / request | vs nginx | syscalls / request | vs nginx |"
  echo "|---|---:|---:|---:|---:|"
  echo "| nginx, reverse proxy, access log on | ${ins[nginx]} | 1.00 | ${sys[nginx]} | 1.00 |"
  echo "| mcp-auth-proxy, POST with bearer check | ${ins[proxy-plain]} | $(ratio "${ins[proxy-plain]}" "${ins[nginx]}") | ${sys[proxy-plain]} | $(ratio "${sys[proxy-plain]}" "${sys[nginx]}") |"
  echo "| mcp-auth-proxy, same with a 50-rule policy | ${ins[proxy-policy]} | $(ratio "${ins[proxy-policy]}" "${ins[nginx]}") | ${sys[proxy-policy]} | $(ratio "${sys[proxy-policy]}" "${sys[nginx]}") |"
  echo "| mcp-auth-proxy, GET /healthz | ${ins[healthz]} | | ${sys[healthz]} | |"
  echo
  echo "policy step added: $(( ${ins[proxy-policy]} - ${ins[proxy-plain]} )) instructions / request"
  echo "proxy: $("$bin" --version); nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //'); $(valgrind --version)"
} | tee "$BENCH_DIR/cost.md"
