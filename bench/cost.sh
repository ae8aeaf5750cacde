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
# Also the proxy's GET /healthz and, with a 50-rule access policy
# (bench/policy-cost.sh's worst case), the POST again. The measurement is
# cost_measure in bench/lib.sh; `make bench` (bench/run.sh) runs the same.
#
# Environment: COST_N=2000, BENCH_DIR=build-bench/cost, BENCH_SKIP_INSTALL=1,
# MCP_AUTH_PROXY_BIN=path (the binary to count; mint-token from build-bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
BENCH_DIR=${BENCH_DIR:-$root/build-bench/cost}
cost_n=${COST_N:-2000}

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_prepare

up_port=$(free_port); idp_port=$(free_port)
secret=$(openssl rand -hex 32)
idp_secret=$(openssl rand -hex 24)
reply='{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}'
mkdir -p "$BENCH_DIR/nginx-tmp/up"
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

start_bg nginx-upstream nginx -p "$BENCH_DIR" -e "$BENCH_DIR/nginx-upstream.error.log" -c "$BENCH_DIR/nginx-upstream.conf"
start_bg idp node tests/e2e/peers/idp.mjs --port "$idp_port" --client-id mcp-auth-proxy \
  --client-secret "$idp_secret" --redirect-uri "http://127.0.0.1:1/callback"
wait_until 20 idp log_has idp '^IDP_READY '
wait_until 10 nginx-upstream http_ok "http://127.0.0.1:$up_port/mcp"

cost_measure
cost_report | tee "$BENCH_DIR/cost.md"
