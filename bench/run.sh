#!/usr/bin/env bash
# The benchmark (run on demand, never in CI): mcp-auth-proxy side by side
# with the upstream alone and with nginx as a plain reverse proxy, in one run.
#
#   bench/run.sh            install (apt: nginx-light, wrk), build release,
#                           run everything, print the tables (markdown) and
#                           write them to $BENCH_DIR/results.md
#
# What runs, all on 127.0.0.1 (see bench/README.md for why):
#   upstream      nginx serving a fixed small JSON-RPC answer to POST /mcp
#                 (event-driven C; with `return 200` it never is the bottleneck)
#   nginx         nginx as a plain reverse proxy in front of it (keep-alive
#                 upstream pool, access log on, like the proxy's)
#   proxy         mcp-auth-proxy in front of it, every request carrying a
#                 valid sealed bearer token (bench/mint-token.c seals one with
#                 the proxy's secret through grants_seal_access)
#   sse upstream  bench/sse.mjs, which is also the SSE client, so event
#                 delays are timed on one monotonic clock
#   idp           tests/e2e/peers/idp.mjs (the proxy needs OIDC discovery to start)
#
# Measures, in one run (`make bench`):
#   wrk POSTs (bench/post.lua) at concurrency 1, 16, 64: requests/s, p50/p99
#     latency, ratios, and CPU per request (utime+stime of nginx's workers and
#     of the proxy from /proc/PID/stat over each run, divided by its requests)
#   SSE event delay (upstream write → client read) direct, via nginx, via the proxy
#   memory: RSS idle, with 1,000 and 5,000 open SSE streams (KiB per stream)
#     and after they close, for nginx and the proxy
#   cost counters (bench/lib.sh cost_measure, as bench/cost.sh): instructions
#     per request under callgrind and syscalls per request under strace for
#     nginx and the proxy, and what a 50-rule policy adds
#   the targets of issue 13, each a ratio from this run, marked met / not met
#
# Environment:
#   BENCH_DIR=build-bench/run   work files, logs, results.md
#   BENCH_DURATION=5            seconds per wrk run (plus a 1 s warm-up)
#   BENCH_REPEAT=3              runs per cell; the median run is reported
#   BENCH_CONCURRENCY="1 16 64"
#   BENCH_SSE_EVENTS=2000  BENCH_SSE_STREAMS="1000 5000"  BENCH_SSE_ROUNDS=2
#   COST_N=1000                 requests per cost count (0: skip the counters)
#   BENCH_SSE_TIMEOUT_MS=600000 bound on each bench/sse.mjs run (a loaded
#                               machine makes 5,000 streams slow to open)
#   BENCH_SERVER_CPUS / BENCH_CLIENT_CPUS   taskset CPU lists (default: the
#                               last CPU for wrk and the SSE client, the others
#                               for the servers; no pinning on one CPU)
#   BENCH_WORKERS               proxy WORKERS and nginx worker_processes
#                               (default: the number of server CPUs)
#   BENCH_SKIP_INSTALL=1        do not run scripts/install-deps.sh --demo
#   MCP_AUTH_PROXY_BIN=path     benchmark this binary (mint-token is still
#                               built from build-bench/)
#   BENCH_PERF=1                also record `perf` on the proxy during an
#                               extra c=64 run (top of the report in perf.txt)
# Every process is started here, recorded by PID and stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

BENCH_DIR=${BENCH_DIR:-$root/build-bench/run}
duration=${BENCH_DURATION:-5}
repeat=${BENCH_REPEAT:-3}
concurrency=${BENCH_CONCURRENCY:-1 16 64}
sse_events=${BENCH_SSE_EVENTS:-2000}
sse_streams=${BENCH_SSE_STREAMS:-1000 5000}
sse_rounds=${BENCH_SSE_ROUNDS:-2}
cost_n=${COST_N:-1000}
sse_timeout=${BENCH_SSE_TIMEOUT_MS:-600000}

# shellcheck source=bench/lib.sh
. bench/lib.sh
proxy_wrap=()

# 5,000 SSE streams are 10,000 sockets in the SSE client (it is also the
# upstream) and in each proxy: the soft descriptor limit goes up to the hard
# one, never past it.
ulimit -n "$(ulimit -Hn)"
max_streams=0
for c in $sse_streams; do [ "$c" -gt "$max_streams" ] && max_streams=$c; done
[ $((2 * max_streams + 256)) -le "$(ulimit -n)" ] \
  || die "BENCH_SSE_STREAMS up to $max_streams needs $((2 * max_streams + 256)) descriptors; the hard limit is $(ulimit -Hn)"

# ------------------------------------------------------------ build

bench_prepare

# ------------------------------------------------------------ CPUs, ports

load_before=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load_before" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  say "WARNING: load average $load_before on $(nproc) CPUs: other work will skew the numbers"
fi

ncpu=$(nproc)
if [ -n "${BENCH_CLIENT_CPUS:-}" ] || [ -n "${BENCH_SERVER_CPUS:-}" ]; then
  client_cpus=${BENCH_CLIENT_CPUS:?set both BENCH_CLIENT_CPUS and BENCH_SERVER_CPUS}
  server_cpus=${BENCH_SERVER_CPUS:?set both BENCH_CLIENT_CPUS and BENCH_SERVER_CPUS}
elif [ "$ncpu" -ge 2 ]; then
  client_cpus=$((ncpu - 1))
  server_cpus=0-$((ncpu - 2))
else
  client_cpus=0
  server_cpus=0
fi
n_server_cpus=$(taskset -c "$server_cpus" nproc)
workers=${BENCH_WORKERS:-$n_server_cpus}
srv=(taskset -c "$server_cpus")
cli=(taskset -c "$client_cpus")

up_port=$(free_port); ngx_port=$(free_port); sse_port=$(free_port); idp_port=$(free_port)
pa_port=$(free_port); pb_port=$(free_port); ma_port=$(free_port); mb_port=$(free_port)
secret=$(openssl rand -hex 32)
idp_secret=$(openssl rand -hex 24)

# ------------------------------------------------------------ nginx configs

mkdir -p "$BENCH_DIR/nginx-tmp/up" "$BENCH_DIR/nginx-tmp/rp"
reply='{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}'
{
  nginx_common 1 nginx-upstream
  cat <<EOF
http {
  $(temp_paths up)
  access_log off;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:$up_port;
    location /mcp { default_type application/json; return 200 '$reply'; }
  }
}
EOF
} > "$BENCH_DIR/nginx-upstream.conf"
{
  nginx_common "$workers" nginx-rp
  cat <<EOF
http {
  $(temp_paths rp)
  access_log $BENCH_DIR/nginx-rp.access.log;
  keepalive_requests 10000000;
  upstream mcp_static { server 127.0.0.1:$up_port; keepalive 128; keepalive_requests 10000000; }
  upstream mcp_sse { server 127.0.0.1:$sse_port; keepalive 16; }
  server {
    listen 127.0.0.1:$ngx_port;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    location /mcp/sse { proxy_pass http://mcp_sse; proxy_buffering off; proxy_read_timeout 1h; }
    location /mcp { proxy_pass http://mcp_static; }
  }
}
EOF
} > "$BENCH_DIR/nginx-rp.conf"

# ------------------------------------------------------------ start

say "starting upstream nginx :$up_port, nginx reverse proxy :$ngx_port, IdP :$idp_port"
start_bg nginx-upstream "${srv[@]}" nginx -p "$BENCH_DIR" -e "$BENCH_DIR/nginx-upstream.error.log" -c "$BENCH_DIR/nginx-upstream.conf"
start_bg nginx-rp "${srv[@]}" nginx -p "$BENCH_DIR" -e "$BENCH_DIR/nginx-rp.error.log" -c "$BENCH_DIR/nginx-rp.conf"
start_bg idp node tests/e2e/peers/idp.mjs --port "$idp_port" --client-id mcp-auth-proxy \
  --client-secret "$idp_secret" --redirect-uri "http://127.0.0.1:$pa_port/callback" \
  --redirect-uri "http://127.0.0.1:$pb_port/callback"
wait_until 20 idp log_has idp '^IDP_READY '
wait_until 10 nginx-upstream http_ok "http://127.0.0.1:$up_port/mcp"

# Two proxies: A in front of the nginx upstream (throughput), B in front of
# the SSE upstream (stream delay, memory per stream). Single replica, no
# Redis (bearer checks never touch the store). The per-IP rate limit is off
# (wrk is one IP; nginx has none) and the per-subject cap raised above the
# stream count (one token = one subject), so the limiter still runs its
# bookkeeping on every request but never refuses one.
say "starting mcp-auth-proxy A :$pa_port (→ nginx upstream) and B :$pb_port (→ SSE upstream), WORKERS=$workers"
start_proxy proxy-a "$pa_port" "$ma_port" "http://127.0.0.1:$up_port/mcp"
start_proxy proxy-b "$pb_port" "$mb_port" "http://127.0.0.1:$sse_port/mcp"
wait_until 30 proxy-a http_ok "http://127.0.0.1:$pa_port/healthz"
wait_until 30 proxy-b http_ok "http://127.0.0.1:$pb_port/healthz"
wait_until 10 nginx-rp http_ok "http://127.0.0.1:$ngx_port/mcp"

token_a=$(BENCH_SECRET=$secret "$BENCH_DIR/mint-token" "http://127.0.0.1:$pa_port" /mcp)
token_b=$(BENCH_SECRET=$secret "$BENCH_DIR/mint-token" "http://127.0.0.1:$pb_port" /mcp)

body=$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" bench/post.lua)
probe() {
  curl -sS -o "$BENCH_DIR/probe.out" -w '%{http_code}' -m 5 -X POST -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H "Authorization: Bearer $2" --data "$body" "$1" || true
}
targets=(direct nginx)
declare -A url tok
url[direct]=http://127.0.0.1:$up_port/mcp; tok[direct]=$token_a
url[nginx]=http://127.0.0.1:$ngx_port/mcp; tok[nginx]=$token_a
url[proxy]=http://127.0.0.1:$pa_port/mcp; tok[proxy]=$token_a
for t in direct nginx; do
  [ "$(probe "${url[$t]}" "${tok[$t]}")" = 200 ] || die "$t does not answer the POST with 200"
done
proxy_status=$(probe "${url[proxy]}" "$token_a")
if [ "$proxy_status" = 200 ] && grep -q '"jsonrpc"' "$BENCH_DIR/probe.out"; then
  targets+=(proxy)
else
  say "the proxy answers the bearer POST with $proxy_status ($(head -c 120 "$BENCH_DIR/probe.out")):"
  say "its column is skipped (this binary has no forward on the MCP mount yet?)"
fi

# ------------------------------------------------------------ throughput

# CPU time (utime + stime, clock ticks) of the processes in a comma list,
# from /proc/PID/stat (a process's line sums all its threads). Fields counted
# after the ") " that ends the command name.
clk_tck=$(getconf CLK_TCK)
cpu_ticks() {
  local p sum=0 rest
  for p in ${1//,/ }; do
    rest=$(sed 's/^.*) //' "/proc/$p/stat")
    sum=$(( sum + $(awk '{print $12 + $13}' <<< "$rest") ))
  done
  echo "$sum"
}
declare -A cpu_pids
cpu_pids[nginx]=$(pgrep -d, -P "$(cat "$BENCH_DIR/nginx-rp.pid")")
cpu_pids[proxy]=$proxy_a_pid
# One wrk run; prints its BENCH line, plus cpu_us_per_req= (CPU of the
# server under test per request) for nginx and the proxy.
wrk_run() {
  local t=$1 c=$2 secs=$3 threads line before after
  threads=$(( c < $(taskset -c "$client_cpus" nproc) ? c : $(taskset -c "$client_cpus" nproc) ))
  before=$(cpu_ticks "${cpu_pids[$t]:-}")
  line=$(BENCH_TOKEN=${tok[$t]} "${cli[@]}" wrk -t"$threads" -c"$c" -d"${secs}s" --timeout 5s -s bench/post.lua "${url[$t]}" \
    | grep '^BENCH ') || die "wrk produced no result for $t c=$c"
  after=$(cpu_ticks "${cpu_pids[$t]:-}")
  if [ -n "${cpu_pids[$t]:-}" ]; then
    line+=" cpu_us_per_req=$(awk -v d=$((after - before)) -v hz="$clk_tck" -v n="$(field "$line" requests)" \
      'BEGIN { printf "%.2f", (n > 0 ? d * 1e6 / hz / n : 0) }')"
  fi
  echo "$line"
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<< "$1"; }
# Runs are interleaved (direct, nginx, proxy, direct, ...) so a change in
# background load hits every column alike; each cell is the median run.
declare -A res runs_of
for c in $concurrency; do
  for t in "${targets[@]}"; do wrk_run "$t" "$c" 1 > /dev/null; done   # warm-up
  for ((r = 0; r < repeat; r++)); do
    for t in "${targets[@]}"; do
      one=$(wrk_run "$t" "$c" "$duration") || die "wrk failed for $t c=$c"
      runs_of[$t,$c]+="$one"$'\n'
    done
  done
  for t in "${targets[@]}"; do
    # Median by requests/s.
    med=$(printf '%s' "${runs_of[$t,$c]}" | awk '{for(i=1;i<=NF;i++) if ($i ~ /^rps=/) {split($i,a,"="); print a[2], $0}}' \
      | sort -n | awk -v m=$(( (repeat + 1) / 2 )) 'NR==m {$1=""; sub(/^ /,""); print}')
    res[$t,$c]=$med
    bad=$(( $(field "$med" non2xx) + $(field "$med" sockerr) ))
    [ "$bad" = 0 ] || say "WARNING: $t c=$c had $(field "$med" non2xx) non-2xx answers and $(field "$med" sockerr) socket errors"
    say "$t c=$c: $(field "$med" rps) req/s, p50 $(field "$med" p50_us) us, p99 $(field "$med" p99_us) us"
  done
done

if [ "${BENCH_PERF:-0}" = 1 ] && [[ " ${targets[*]} " == *" proxy "* ]]; then
  # Where the proxy's time goes, beside nginx doing the same job:
  # perf profile (by library, then by function), syscalls per request
  # (perf stat on raw_syscalls:sys_enter) and the syscall mix (strace -c).
  ngx_workers=$(pgrep -d, -P "$(cat "$BENCH_DIR/nginx-rp.pid")")
  # Reports cut with head: a SIGPIPE'd perf report is not a failure here.
  set +e +o pipefail
  say "perf: recording the proxy during a ${duration}s c=64 run"
  perf record -F 499 --call-graph dwarf,16384 -o "$BENCH_DIR/perf.data" -p "$proxy_a_pid" -- sleep "$duration" > /dev/null 2>&1 &
  perf_pid=$!
  wrk_run proxy 64 "$duration" > /dev/null
  wait "$perf_pid" || true
  {
    echo "== perf: share of samples by library"
    perf report -i "$BENCH_DIR/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15
    echo "== perf: top functions (self)"
    perf report -i "$BENCH_DIR/perf.data" --stdio --no-children --sort dso,sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -50
    echo "== perf: inclusive share (self + callees) of the busiest call paths"
    perf report -i "$BENCH_DIR/perf.data" --stdio --children --sort sym -g none --percent-limit 3 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | head -60
    echo "== who makes the proxy's epoll_ctl, ioctl and getpid calls (perf, DWARF call chains)"
    perf record -e syscalls:sys_enter_epoll_ctl -e syscalls:sys_enter_ioctl -e syscalls:sys_enter_getpid \
      --call-graph dwarf,8192 -o "$BENCH_DIR/perf-sys.data" -p "$proxy_a_pid" -- sleep 1 > /dev/null 2>&1 &
    sp=$!
    wrk_run proxy 64 1 > /dev/null
    wait "$sp"
    perf report -i "$BENCH_DIR/perf-sys.data" --stdio --no-children --sort sym -g caller,2,callee,function,percent \
      2>/dev/null | grep -v '^$' | head -150
    for t in nginx proxy; do
      if [ "$t" = nginx ]; then p=$ngx_workers; else p=$proxy_a_pid; fi
      perf stat -x, -e raw_syscalls:sys_enter -p "$p" -o "$BENCH_DIR/syscalls-$t.csv" -- sleep "$duration" &
      sp=$!
      line=$(wrk_run "$t" 64 "$duration")
      wait "$sp" || true
      n=$(cut -d, -f1 "$BENCH_DIR/syscalls-$t.csv" | grep -E '^[0-9]+$' | head -1)
      echo "== syscalls per request, $t c=64: $(awk -v n="$n" -v r="$(field "$line" requests)" 'BEGIN { printf "%.1f", n / r }') ($n syscalls, $(field "$line" requests) requests)"
      timeout -s INT $((duration + 5)) strace -c -f -p "${p//,/ -p }" -o "$BENCH_DIR/strace-$t.txt" > /dev/null 2>&1 &
      sp=$!
      sleep 0.5
      wrk_run "$t" 64 2 > /dev/null
      kill -INT "$sp" 2>/dev/null || true
      wait "$sp" 2>/dev/null || true
      echo "== syscall mix under strace, $t (counts, strace slows everything down)"
      head -20 "$BENCH_DIR/strace-$t.txt"
    done
  } > "$BENCH_DIR/perf.txt" 2>&1
  set -e -o pipefail
  say "perf report: ${BENCH_DIR#"$root"/}/perf.txt"
fi
rss_a_after=$(awk '/^VmRSS/ {print $2}' "/proc/$proxy_a_pid/status")

# ------------------------------------------------------------ SSE

say "SSE: event delay, $sse_events events per path"
sse_targets=(--target "direct=http://127.0.0.1:$sse_port/mcp/sse" --target "nginx=http://127.0.0.1:$ngx_port/mcp/sse")
[[ " ${targets[*]} " == *" proxy "* ]] && sse_targets+=(--target "proxy=http://127.0.0.1:$pb_port/mcp/sse@$token_b")
sse_lat=$("${cli[@]}" node bench/sse.mjs latency --timeout-ms "$sse_timeout" --listen "$sse_port" --events "$sse_events" --gap-ms 1 "${sse_targets[@]}")
echo "$sse_lat" > "$BENCH_DIR/sse-latency.txt"

nginx_pids() { local m; m=$(cat "$BENCH_DIR/nginx-rp.pid"); echo "$m,$(pgrep -d, -P "$m")"; }
declare -A sse_mem
for count in $sse_streams; do
  say "SSE: memory with $count open streams"
  sse_mem[nginx,$count]=$("${cli[@]}" node bench/sse.mjs streams --timeout-ms "$sse_timeout" --listen "$sse_port" --count "$count" \
    --target "http://127.0.0.1:$ngx_port/mcp/sse" --pids "$(nginx_pids)" --rounds "$sse_rounds")
  if [[ " ${targets[*]} " == *" proxy "* ]]; then
    sse_mem[proxy,$count]=$("${cli[@]}" node bench/sse.mjs streams --timeout-ms "$sse_timeout" --listen "$sse_port" --count "$count" \
      --target "http://127.0.0.1:$pb_port/mcp/sse@$token_b" --pids "$proxy_b_pid" --rounds "$sse_rounds")
  fi
done

# ------------------------------------------------------------ cost counters

if [ "$cost_n" -gt 0 ] && [[ " ${targets[*]} " == *" proxy "* ]]; then
  cost_measure
fi

# ------------------------------------------------------------ report

us_to_ms() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "-" }'; }
report() {
  echo "### Throughput and latency (wrk, ${duration}s per run, median of $repeat interleaved runs)"
  echo
  echo "| c | path | req/s | p50 ms | p99 ms | req/s vs direct | req/s vs nginx | p50 added vs direct (ms) | CPU µs / request |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  local c t r d n
  for c in $concurrency; do
    d=${res[direct,$c]}; n=${res[nginx,$c]}
    for t in "${targets[@]}"; do
      r=${res[$t,$c]}
      printf '| %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n' "$c" "$t" "$(field "$r" rps)" \
        "$(us_to_ms "$(field "$r" p50_us)")" "$(us_to_ms "$(field "$r" p99_us)")" \
        "$(ratio "$(field "$r" rps)" "$(field "$d" rps)")" "$(ratio "$(field "$r" rps)" "$(field "$n" rps)")" \
        "$(us_to_ms "$(awk -v a="$(field "$r" p50_us)" -v b="$(field "$d" p50_us)" 'BEGIN{print a-b}')")" \
        "$(field "$r" cpu_us_per_req | grep . || echo -)"
    done
  done
  echo
  echo "### SSE: upstream write → client read ($sse_events events, one stream, 1 ms apart)"
  echo
  echo "| path | p50 ms | p90 ms | p99 ms | max ms |"
  echo "|---|---:|---:|---:|---:|"
  local line name
  while read -r line; do
    name=$(awk '{print $2}' <<< "$line")
    printf '| %s | %s | %s | %s | %s |\n' "$name" "$(us_to_ms "$(field "$line" p50_us)")" \
      "$(us_to_ms "$(field "$line" p90_us)")" "$(us_to_ms "$(field "$line" p99_us)")" "$(us_to_ms "$(field "$line" max_us)")"
  done <<< "$sse_lat"
  echo
  echo "### Memory (VmRSS; nginx = master + workers; anonymous = the heap and stacks, from smaps_rollup)"
  echo
  echo "| process | streams | RSS idle KiB | RSS open KiB | KiB per stream | RSS after closing KiB | after / idle | 2nd round: open / closed KiB | anonymous idle / open / closed KiB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  local count p m
  for count in $sse_streams; do
    for p in nginx proxy; do
      m=${sse_mem[$p,$count]:-}
      [ -n "$m" ] || continue
      printf '| %s | %s | %s | %s | %s | %s | %s | %s / %s | %s / %s / %s |\n' "$p" "$count" "$(field "$m" rss_idle_kib)" \
        "$(field "$m" rss_open_kib)" "$(field "$m" kib_per_stream)" "$(field "$m" rss_after_close_kib)" \
        "$(ratio "$(field "$m" rss_after_close_kib)" "$(field "$m" rss_idle_kib)")" \
        "$(field "$m" rss_round2_open_kib)" "$(field "$m" rss_round2_close_kib)" \
        "$(field "$m" anon_idle_kib)" "$(field "$m" anon_open_kib)" "$(field "$m" anon_after_close_kib)"
    done
  done
  [[ " ${targets[*]} " == *" proxy "* ]] && echo && echo "mcp-auth-proxy A RSS after all wrk runs: $rss_a_after KiB"
  echo
  if [ -n "${cost_ins[nginx]:-}" ]; then
    cost_report
    echo
  fi
  targets_report
  echo
  echo "### Machine"
  echo
  echo '```'
  echo "date:      $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu:       $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $ncpu"
  echo "memory:    $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel:    $(uname -r); Debian $(cat /etc/debian_version)"
  echo "load:      1-min load average $load_before before the run, $(cut -d' ' -f1 /proc/loadavg) at the end (other work on the machine skews every column)"
  echo "pinning:   servers on CPU $server_cpus, wrk and the SSE client on CPU $client_cpus; WORKERS=$workers, nginx worker_processes $workers"
  echo "proxy:     $("$bin" --version)"
  echo "nginx:     $(nginx -v 2>&1 | sed 's/^nginx version: //'); wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'); node $(node --version)"
  echo '```'
}
# The targets of issue 13, each a ratio from this run.
mark() { awk -v v="$1" -v op="$2" -v lim="$3" 'BEGIN {
  if (v == "" || v == "-") { print "not measured"; exit }
  ok = (op == "<=") ? (v + 0 <= lim + 0) : (v + 0 >= lim + 0)
  print ok ? "met" : "**not met**" }'; }
targets_report() {
  local c v r n d np dp count m mp
  echo "### Against the targets (each a ratio measured in this run)"
  echo
  echo "| target | measured | result |"
  echo "|---|---|---|"
  if [ -n "${cost_ins[nginx]:-}" ]; then
    v=$(ratio "${cost_ins[proxy-plain]}" "${cost_ins[nginx]}")
    echo "| instructions / request ≤ 3× nginx | ${v}× (${cost_ins[proxy-plain]} vs ${cost_ins[nginx]}) | $(mark "$v" '<=' 3) |"
    v=$(ratio "${cost_sys[proxy-plain]}" "${cost_sys[nginx]}")
    echo "| syscalls / request ≤ nginx | ${v}× (${cost_sys[proxy-plain]} vs ${cost_sys[nginx]}) | $(mark "$v" '<=' 1) |"
  fi
  [[ " ${targets[*]} " == *" proxy "* ]] || return 0
  for c in 16 64; do
    [ -n "${res[proxy,$c]:-}" ] || continue
    r=${res[proxy,$c]}; n=${res[nginx,$c]}
    v=$(ratio "$(field "$r" cpu_us_per_req)" "$(field "$n" cpu_us_per_req)")
    echo "| CPU / request ≤ 1.0× nginx, c=$c | ${v}× ($(field "$r" cpu_us_per_req) vs $(field "$n" cpu_us_per_req) µs) | $(mark "$v" '<=' 1) |"
  done
  for c in 16 64; do
    [ -n "${res[proxy,$c]:-}" ] || continue
    r=${res[proxy,$c]}; n=${res[nginx,$c]}
    v=$(ratio "$(field "$r" rps)" "$(field "$n" rps)")
    echo "| req/s ≥ 1.0× nginx, c=$c | ${v}× | $(mark "$v" '>=' 1) |"
  done
  if [ -n "${res[proxy,1]:-}" ]; then
    d=$(field "${res[direct,1]}" p50_us)
    np=$(awk -v a="$(field "${res[nginx,1]}" p50_us)" -v b="$d" 'BEGIN { printf "%.1f", a - b }')
    dp=$(awk -v a="$(field "${res[proxy,1]}" p50_us)" -v b="$d" 'BEGIN { printf "%.1f", a - b }')
    v=$(awk -v a="$dp" -v b="$np" 'BEGIN { print a - b }')
    echo "| p50 added latency at c=1 ≤ nginx's | proxy +$dp µs, nginx +$np µs over direct | $(mark "$v" '<=' 0) |"
  fi
  for count in $sse_streams; do
    m=${sse_mem[nginx,$count]:-}; mp=${sse_mem[proxy,$count]:-}
    [ -n "$m" ] && [ -n "$mp" ] || continue
    v=$(ratio "$(field "$mp" kib_per_stream)" "$(field "$m" kib_per_stream)")
    echo "| KiB per idle SSE stream ≤ nginx's, $count streams | $(field "$mp" kib_per_stream) vs $(field "$m" kib_per_stream) (${v}×) | $(mark "$v" '<=' 1) |"
  done
  # Idle memory of one worker: the whole process's anonymous RSS (heap,
  # stacks, libraries' writable data; not shared library text) with one
  # worker, which bounds one worker's from above (docs/internals/memory.md).
  mp=${sse_mem[proxy,${sse_streams%% *}]:-}
  if [ -n "$mp" ] && [ "$workers" = 1 ]; then
    v=$(awk -v k="$(field "$mp" anon_idle_kib)" 'BEGIN { printf "%.1f", k / 1024 }')
    echo "| idle RSS of one worker ≤ 4 MiB (anonymous RSS of the whole process, WORKERS=1) | $v MiB (process total $(field "$mp" rss_idle_kib) KiB) | $(mark "$v" '<=' 4) |"
  fi
  for count in $sse_streams; do
    mp=${sse_mem[proxy,$count]:-}
    [ -n "$mp" ] || continue
    v=$(ratio "$(field "$mp" rss_after_close_kib)" "$(field "$mp" rss_idle_kib)")
    echo "| proxy RSS after $count streams close within 10 % of before | $(field "$mp" rss_after_close_kib) vs $(field "$mp" rss_idle_kib) KiB (${v}×; 2nd round $(field "$mp" rss_round2_close_kib)) | $(mark "$v" '<=' 1.10) |"
  done
}
report | tee "$BENCH_DIR/results.md"
say "results: ${BENCH_DIR#"$root"/}/results.md"
