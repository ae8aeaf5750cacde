#!/usr/bin/env bash
# Measures the resident memory the Kubernetes manifests size the proxy by
# (deploy/k8s/base/deployment.yaml `resources`, docs/kubernetes.md
# "Resources"): the release binary as deploy/Dockerfile builds it, WORKERS
# as in the manifest (2), on loopback. Run on demand, never in CI (it
# builds build-bench/ and takes a few minutes):
#   tests/k8s/measure-rss.sh            # prints one "rss ..." line per phase
#   RSS_STREAMS=2000 RSS_SECONDS=20 tests/k8s/measure-rss.sh
# Phases: idle after start-up; idle after one warm-up stream; peak while
# wrk sends bearer-checked POSTs at concurrency 64; with RSS_STREAMS open
# SSE streams (bench/sse.mjs streams); after they close. VmRSS and VmHWM
# come from /proc/<pid>/status; the container's memory cgroup counts the
# same pages (plus the page cache of the files it reads, which is small).
# Everything is started, recorded and stopped by PID (bench/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
BENCH_DIR=${BENCH_DIR:-$root/build-bench/rss}
BENCH_SKIP_INSTALL=${BENCH_SKIP_INSTALL:-1}
# shellcheck source=../../bench/lib.sh
. bench/lib.sh

workers=$(sed -nE 's/.*name: WORKERS, value: "([0-9]+)".*/\1/p' deploy/k8s/base/deployment.yaml)
[ -n "$workers" ] || die "no WORKERS literal in deploy/k8s/base/deployment.yaml"
streams=${RSS_STREAMS:-1000}
secs=${RSS_SECONDS:-10}
[ $((2 * streams + 256)) -le "$(ulimit -n)" ] || ulimit -n "$(ulimit -Hn)"

bench_prepare
srv=()
sse_port=$(free_port); idp_port=$(free_port); p_port=$(free_port); m_port=$(free_port)
up_port=$(free_port)
secret=$(openssl rand -hex 32)
idp_secret=$(openssl rand -hex 24)

# The upstream: nginx answers POSTs on /mcp from memory (as in bench/run.sh)
# and passes /mcp/sse, unbuffered, to bench/sse.mjs.
mkdir -p "$BENCH_DIR/nginx-tmp/up"
reply='{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}'
{
  nginx_common 1 nginx-upstream
  cat <<EOF
http {
  $(temp_paths up)
  access_log off;
  server {
    listen 127.0.0.1:$up_port;
    location /mcp/sse { proxy_pass http://127.0.0.1:$sse_port; proxy_buffering off; proxy_read_timeout 1h; }
    location /mcp { default_type application/json; return 200 '$reply'; }
  }
}
EOF
} > "$BENCH_DIR/nginx-upstream.conf"
start_bg nginx-upstream nginx -p "$BENCH_DIR" -e "$BENCH_DIR/nginx-upstream.error.log" -c "$BENCH_DIR/nginx-upstream.conf"
start_bg idp node tests/e2e/peers/idp.mjs --port "$idp_port" --client-id mcp-auth-proxy \
  --client-secret "$idp_secret" --redirect-uri "http://127.0.0.1:$p_port/callback"
wait_until 20 idp log_has idp '^IDP_READY '
wait_until 10 nginx-upstream http_ok "http://127.0.0.1:$up_port/mcp"
start_proxy proxy "$p_port" "$m_port" "http://127.0.0.1:$up_port/mcp"
wait_until 30 proxy http_ok "http://127.0.0.1:$p_port/healthz"
sleep 2
# shellcheck disable=SC2154  # proxy_pid is set by start_bg
status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$proxy_pid/status"; }
echo "rss phase=idle_after_start workers=$workers vmrss_kib=$(status VmRSS) vmhwm_kib=$(status VmHWM)"

token=$(BENCH_SECRET=$secret "$BENCH_DIR/mint-token" "http://127.0.0.1:$p_port" /mcp)
line=$(node bench/sse.mjs streams --listen "$sse_port" --count "$streams" \
  --target "http://127.0.0.1:$p_port/mcp/sse@$token" --pids "$proxy_pid" --timeout-ms 300000)
echo "rss phase=sse_streams workers=$workers $line vmhwm_kib=$(status VmHWM)"

# Bearer-checked POSTs through the proxy to nginx at concurrency 64.
before=$(status VmHWM)
BENCH_TOKEN=$token wrk -t2 -c64 -d"${secs}s" --timeout 5s -s bench/post.lua \
  "http://127.0.0.1:$p_port/mcp" > "$BENCH_DIR/wrk.log" 2>&1 || true
reqs=$(sed -nE 's/^ *([0-9]+) requests in.*/\1/p' "$BENCH_DIR/wrk.log")
echo "rss phase=wrk_c64 workers=$workers requests=${reqs:-?} vmrss_kib=$(status VmRSS) vmhwm_before_kib=$before vmhwm_kib=$(status VmHWM)"
sleep 3
echo "rss phase=idle_after_load workers=$workers vmrss_kib=$(status VmRSS) vmhwm_kib=$(status VmHWM)"
