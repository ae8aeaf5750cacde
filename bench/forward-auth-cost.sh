#!/usr/bin/env bash
# What one forward-auth decision costs beside one proxied request, counted
# under callgrind (run on demand, never in CI; docs/forward-auth.md):
# the same proxy (WORKERS=1), the same token and the same 100-byte
# JSON-RPC POST (bench/post.lua) on one keep-alive connection
# (bench/fixed-load.mjs), once to the mount (bearer check + forward to a
# static upstream) and once to FORWARD_AUTH_ADDR's /auth/mcp (Envoy's shape:
# bearer check, 200 with the identity headers). cost_instructions
# (bench/lib.sh) cancels the fixed costs.
#
# Environment: COST_N=300, BENCH_DIR=build-bench/fwdauth,
# MCP_AUTH_PROXY_BIN=path (default build/src/mcp-auth-proxy).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
BENCH_DIR=${BENCH_DIR:-$root/build-bench/fwdauth}
cost_n=${COST_N:-300}
bin=${MCP_AUTH_PROXY_BIN:-$root/build/src/mcp-auth-proxy}
mkdir -p "$BENCH_DIR"
# shellcheck source=bench/lib.sh
. bench/lib.sh

up_port=$(free_port); idp_port=$(free_port); p_port=$(free_port); m_port=$(free_port)
fa_port=$(free_port)
secret=$(openssl rand -hex 32)
idp_secret=$(openssl rand -hex 24)
start_bg upstream node -e "
  require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => {
    const b = '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"hello\"}]}}';
    s.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(b)});
    s.end(b);
  }); }).listen($up_port, '127.0.0.1');"
start_bg idp node tests/e2e/peers/idp.mjs --port "$idp_port" --client-id mcp-auth-proxy \
  --client-secret "$idp_secret" --redirect-uri "http://127.0.0.1:1/callback"
wait_until 20 idp log_has idp '^IDP_READY '
wait_until 10 upstream http_ok "http://127.0.0.1:$up_port/mcp"
token=$(cd tests/e2e && node --input-type=module -e "
  import { mintAccessToken } from './lib/seal-mint.mjs';
  process.stdout.write(mintAccessToken({ secret: '$secret', base: 'http://127.0.0.1:$p_port',
    resource: 'http://127.0.0.1:$p_port/mcp' }));")

workers=1 srv=() proxy_wrap=(valgrind --tool=callgrind --callgrind-out-file="$BENCH_DIR/cg.%p")
start_proxy proxy-cg "$p_port" "$m_port" "http://127.0.0.1:$up_port/mcp" \
  FORWARD_AUTH_ADDR="127.0.0.1:$fa_port"
wait_until 120 proxy-cg http_ok "http://127.0.0.1:$p_port/healthz"
proxied=$(cost_instructions proxied "$proxy_cg_pid" "http://127.0.0.1:$p_port/mcp" "$token")
decision=$(cost_instructions decision "$proxy_cg_pid" "http://127.0.0.1:$fa_port/auth/mcp" "$token")
cost_stop "$proxy_cg_pid"
echo "| what | instructions / request |"
echo "|---|---:|"
echo "| proxy mode: POST /mcp, bearer check + forward | $proxied |"
echo "| forward-auth: POST /auth/mcp, bearer check + 200 with identity | $decision |"
