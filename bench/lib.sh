#!/usr/bin/env bash
# Shared by the benchmark scripts (bench/run.sh, bench/cost.sh); sourced, not
# run. Expects root (the project root) and BENCH_DIR set, and `set -euo
# pipefail` in the caller. Every process is started with start_bg, recorded by
# PID and stopped by stop_all (on exit, through the trap set here).

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------ processes

pids=()   # "name pid"
start_bg() {
  local name=$1; shift
  setsid "$@" > "$BENCH_DIR/$name.log" 2>&1 < /dev/null &
  pids+=("$name $!")
  printf -v "${name//-/_}_pid" '%s' "$!"
}
stop_all() {
  local i name pid n
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    read -r name pid <<< "${pids[$i]}"
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; continue; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((n = 0; n < 100; n++)); do
      kill -0 "$pid" 2>/dev/null || break
      # Our child: reap it so kill -0 stops seeing the zombie.
      if [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = Z ]; then wait "$pid" 2>/dev/null || true; break; fi
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid" 2>/dev/null || true; say "killed $name (pid $pid)"; }
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
trap 'rc=$?; stop_all; [ $rc -ne 0 ] && say "failed (exit $rc); logs in ${BENCH_DIR#"$root"/}/"; exit $rc' EXIT
trap 'exit 130' INT TERM

# wait_until SECONDS NAME COMMAND...: bounded poll; NAME's log tail on failure.
wait_until() {
  local secs=$1 name=$2 i; shift 2
  local v=${name//-/_}_pid
  for ((i = 0; i < secs * 10; i++)); do
    "$@" && return 0
    kill -0 "${!v}" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/${!v}/stat" 2>/dev/null)" != Z ] || {
      tail -n 20 "$BENCH_DIR/$name.log" "$BENCH_DIR/$name.error.log" >&2 2>/dev/null || true
      die "$name exited before it was ready"
    }
    sleep 0.1
  done
  tail -n 20 "$BENCH_DIR/$name.log" >&2 || true
  die "$name not ready within ${secs}s"
}
http_ok() { curl -fsS -o /dev/null -m 2 "$1" 2>/dev/null; }
log_has() { grep -q "$2" "$BENCH_DIR/$1.log" 2>/dev/null; }
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}


# bench_prepare: a clean $BENCH_DIR, the tools (unless BENCH_SKIP_INSTALL=1),
# build-bench/ as shipped, and $BENCH_DIR/mint-token. Sets bin.
# The SSE4.2 build of llhttp (meson.build), which libmap.a calls on x86-64;
# nothing on other machines.
llhttp_sse42_lib() { [ -f "$1/libllhttp_sse42.a" ] && echo "$1/libllhttp_sse42.a"; return 0; }

bench_prepare() {
  mkdir -p "$BENCH_DIR"
  rm -rf "${BENCH_DIR:?}"/*
  if [ "${BENCH_SKIP_INSTALL:-0}" != 1 ]; then
    say "installing dependencies (scripts/install-deps.sh --demo: nginx-light, wrk)"
    scripts/install-deps.sh --demo >&2
  fi
  for c in nginx wrk node curl taskset pkg-config cc; do
    command -v "$c" > /dev/null || die "$c is missing (scripts/install-deps.sh --demo)"
  done

  # Release as shipped (deploy/Dockerfile): -O3 buildtype=release, asserts kept.
  say "building build-bench/ (buildtype=release, as deploy/Dockerfile)"
  reconf=""
  [ -f build-bench/build.ninja ] && reconf=--reconfigure
  { meson setup $reconf build-bench --buildtype=release -Db_ndebug=false \
      && ninja -C build-bench src/mcp-auth-proxy src/libmap.a; } > "$BENCH_DIR/build.log" 2>&1 \
    || { tail -n 40 "$BENCH_DIR/build.log" >&2; die "build failed"; }
  bin=${MCP_AUTH_PROXY_BIN:-$root/build-bench/src/mcp-auth-proxy}
  libs=$(pkg-config --libs libevent_core libevent_extra libevent_openssl libevent_pthreads \
    libcurl libssl libcrypto jansson cjose hiredis libpcre2-8 libidn2 yaml-0.1)
  # shellcheck disable=SC2086
  cc -std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc -Ibuild-bench \
    -o "$BENCH_DIR/mint-token" bench/mint-token.c build-bench/src/libmap.a \
    build-bench/libllhttp.a $(llhttp_sse42_lib build-bench) $libs -lunistring -lm -lpthread
}

# nginx configuration pieces: nginx_common WORKERS NAME, temp_paths NAME.
nginx_user=""
[ "$(id -u)" = 0 ] && nginx_user="user root;"
nginx_common() {
  cat <<EOF
$nginx_user
daemon off;
master_process on;
worker_processes $1;
pid $BENCH_DIR/$2.pid;
error_log $BENCH_DIR/$2.error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 12000; }
EOF
}
temp_paths() {
  local d=$BENCH_DIR/nginx-tmp/$1
  echo "client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fcgi;"
  echo "uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;"
}

# start_proxy NAME PORT METRICS_PORT UPSTREAM_URL [VAR=value ...]: one
# mcp-auth-proxy as benchmarked: single replica, no Redis (bearer checks never
# touch the store), the per-IP rate limit off (the load is one IP; nginx has
# none), the per-subject cap above any stream count (one token = one subject),
# so the limiter still does its bookkeeping on every request but never
# refuses; the per-address connection cap off (every stream of the SSE memory
# run comes from 127.0.0.1; nginx has no such cap). Extra VAR=value pairs are added; proxy_wrap (an array, may be
# empty) runs in front of the binary, e.g. valgrind.
start_proxy() {
  local name=$1 port=$2 mport=$3 upstream=$4
  shift 4
  start_bg "$name" "${srv[@]}" env -i PATH="$PATH" \
    OIDC_ISSUER_URL="http://127.0.0.1:$idp_port" OIDC_CLIENT_ID=mcp-auth-proxy \
    OIDC_CLIENT_SECRET="$idp_secret" PROXY_BASE_URL="http://127.0.0.1:$port" \
    UPSTREAM_MCP_URL="$upstream" TOKEN_SIGNING_SECRET="$secret" \
    LISTEN_ADDR="127.0.0.1:$port" METRICS_ADDR="127.0.0.1:$mport" \
    PROD_MODE=false REDIS_REQUIRED=false RATE_LIMIT_ENABLED=false \
    MCP_PER_SUBJECT_CONCURRENCY=100000 MAX_CLIENT_CONNECTIONS_PER_IP=0 WORKERS="$workers" SHUTDOWN_TIMEOUT=5s "$@" \
    ${proxy_wrap[@]+"${proxy_wrap[@]}"} "$bin"
}

# ------------------------------------------------------------ cost counters
# What one proxied request costs, counted rather than timed (bench/cost.sh,
# and bench/run.sh's cost section): user-space instructions per request
# under callgrind and system calls per request under strace -c, for nginx as
# a reverse proxy (one process: master_process off, access log on) and for
# mcp-auth-proxy (WORKERS=1), both in front of the nginx upstream on
# $up_port, one keep-alive connection, one request after another
# (bench/fixed-load.mjs). Counters are zeroed after a warm-up, then
# cost_n and 3*cost_n requests: the difference divided by 2*cost_n cancels
# fixed costs (the dump itself, timers).

cost_load() { node bench/fixed-load.mjs "$1" "$2" "${3:-}" > /dev/null; }

# cost_dump_total PID HINT: the instruction total of the dump made with that hint.
cost_dump_total() {
  local f
  f=$(grep -l "^desc: Trigger: dump $2\$" "$BENCH_DIR"/cg."$1".* | head -1)
  [ -n "$f" ] || die "no callgrind dump '$2' of pid $1"
  awk '/^summary:|^totals:/ {print $2; exit}' "$f"
}
# cost_instructions NAME PID URL [TOKEN]: user-space instructions per request
# of the callgrind-run process PID. A failed load (see cost_syscalls) is
# repeated, up to three times.
cost_instructions() {
  local name=$1 pid=$2 url=$3 tok=${4:-} a b try
  cost_load "$url" 200 "$tok" || die "the warm-up load on $url failed"
  for try in 1 2 3; do
    callgrind_control -z "$pid" > /dev/null 2>&1
    if cost_load "$url" "$cost_n" "$tok"; then
      callgrind_control --dump="$name-$try-a" "$pid" > /dev/null 2>&1
      callgrind_control -z "$pid" > /dev/null 2>&1
      if cost_load "$url" $((3 * cost_n)) "$tok"; then
        callgrind_control --dump="$name-$try-b" "$pid" > /dev/null 2>&1
        a=$(cost_dump_total "$pid" "$name-$try-a")
        b=$(cost_dump_total "$pid" "$name-$try-b")
        echo $(( (b - a) / (2 * cost_n) ))
        return 0
      fi
    fi
    say "cost: the load on $url stalled under callgrind (try $try of 3)"
    cost_load "$url" 10 "$tok" || die "$url does not answer after the stall"
  done
  die "the load on $url stalled under callgrind three times"
}
# cost_syscalls PID URL [TOKEN]: system calls per request of PID (all
# threads). strace's total line is "100.00 secs usecs/call calls [errors]
# total": the calls column is the 4th field. A run in which the load fails
# (bench/fixed-load.mjs gives up after 30 s without an answer) counts fewer
# requests than it divides by, so it is dropped and repeated, up to three
# times. (The "stalls" first seen here were fixed-load's own timer, which
# once covered the whole batch: a few thousand requests under strace or
# callgrind on a busy machine outlast 30 s. It now covers one answer.)
cost_syscalls() {
  local pid=$1 url=$2 tok=${3:-} sp total out try
  cost_load "$url" 200 "$tok" || die "the warm-up load on $url failed"
  for try in 1 2 3; do
    out=$BENCH_DIR/strace.$pid.${url##*/}.$try.txt
    strace -c -f -p "$pid" -o "$out" > /dev/null 2>&1 &
    sp=$!
    sleep 1
    if cost_load "$url" "$cost_n" "$tok"; then
      kill -INT "$sp"; wait "$sp" 2>/dev/null || true
      total=$(awk '$NF == "total" {print $4}' "$out")
      awk -v t="$total" -v n="$cost_n" 'BEGIN { printf "%.2f", t / n }'
      return 0
    fi
    kill -INT "$sp"; wait "$sp" 2>/dev/null || true
    say "cost: the load on $url stalled under strace (try $try of 3)"
    cost_load "$url" 10 "$tok" || die "$url does not answer after the stall"
  done
  die "the load on $url stalled under strace three times"
}
cost_stop() {
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  wait "$p" 2>/dev/null || true
}

# cost_measure: fills the associative arrays cost_ins and cost_sys (keys
# nginx, proxy-plain, proxy-policy, healthz). Needs up_port (the nginx
# upstream), idp_port, idp_secret, secret, cost_n, bin, BENCH_DIR and
# $BENCH_DIR/mint-token; uses its own ports. Runs one server at a time,
# unpinned (counts do not depend on the CPU).
declare -A cost_ins cost_sys
cost_measure() {
  local ngx_port p_port m_port token purl variant pid_var workers=1 srv=() proxy_wrap=() i
  local cg=(valgrind --tool=callgrind --callgrind-out-file="$BENCH_DIR/cg.%p")
  for i in valgrind callgrind_control strace; do
    command -v "$i" > /dev/null || die "$i is missing (apt-get install valgrind strace)"
  done
  ngx_port=$(free_port); p_port=$(free_port); m_port=$(free_port)
  mkdir -p "$BENCH_DIR/nginx-tmp/cost"
  # The measured nginx: one process doing everything, so callgrind and
  # strace see all of its work.
  {
    nginx_common 1 nginx-cost | sed 's/^master_process on;/master_process off;/'
    cat <<CONF
http {
  $(temp_paths cost)
  access_log $BENCH_DIR/nginx-cost.access.log;
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
  } > "$BENCH_DIR/nginx-cost.conf"
  # bench/policy-cost.sh's worst case: 50 rules, none matching.
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
  token=$(BENCH_SECRET=$secret "$BENCH_DIR/mint-token" "http://127.0.0.1:$p_port" /mcp)

  say "cost: nginx under callgrind"
  start_bg nginx-cg "${cg[@]}" nginx -p "$BENCH_DIR" -e "$BENCH_DIR/nginx-cost.error.log" -c "$BENCH_DIR/nginx-cost.conf"
  wait_until 60 nginx-cg http_ok "http://127.0.0.1:$ngx_port/mcp"
  cost_ins[nginx]=$(cost_instructions nginx "$nginx_cg_pid" "http://127.0.0.1:$ngx_port/mcp")
  cost_stop "$nginx_cg_pid"
  say "cost: nginx under strace"
  start_bg nginx-st nginx -p "$BENCH_DIR" -e "$BENCH_DIR/nginx-cost.error.log" -c "$BENCH_DIR/nginx-cost.conf"
  wait_until 10 nginx-st http_ok "http://127.0.0.1:$ngx_port/mcp"
  cost_sys[nginx]=$(cost_syscalls "$nginx_st_pid" "http://127.0.0.1:$ngx_port/mcp")
  cost_stop "$nginx_st_pid"

  purl=http://127.0.0.1:$p_port
  for variant in plain policy; do
    local extra=()
    [ "$variant" = policy ] && extra=(MCP_POLICY_FILE="$BENCH_DIR/policy-50.yaml")
    say "cost: mcp-auth-proxy ($variant) under callgrind"
    proxy_wrap=("${cg[@]}")
    start_proxy "proxy-cg-$variant" "$p_port" "$m_port" "http://127.0.0.1:$up_port/mcp" ${extra[@]+"${extra[@]}"}
    pid_var=proxy_cg_${variant}_pid
    wait_until 120 "proxy-cg-$variant" http_ok "$purl/healthz"
    cost_ins[proxy-$variant]=$(cost_instructions proxy "${!pid_var}" "$purl/mcp" "$token")
    [ "$variant" = plain ] && cost_ins[healthz]=$(cost_instructions healthz "${!pid_var}" "$purl/healthz")
    cost_stop "${!pid_var}"
    say "cost: mcp-auth-proxy ($variant) under strace"
    proxy_wrap=()
    start_proxy "proxy-st-$variant" "$p_port" "$m_port" "http://127.0.0.1:$up_port/mcp" ${extra[@]+"${extra[@]}"}
    pid_var=proxy_st_${variant}_pid
    wait_until 30 "proxy-st-$variant" http_ok "$purl/healthz"
    cost_sys[proxy-$variant]=$(cost_syscalls "${!pid_var}" "$purl/mcp" "$token")
    [ "$variant" = plain ] && cost_sys[healthz]=$(cost_syscalls "${!pid_var}" "$purl/healthz")
    cost_stop "${!pid_var}"
  done
}

# cost_report: the table of cost_measure's figures (markdown).
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
cost_report() {
  echo "### Cost per request, counted ($cost_n and $((3 * cost_n)) requests, one keep-alive connection)"
  echo
  echo "| what | instructions / request | vs nginx | syscalls / request | vs nginx |"
  echo "|---|---:|---:|---:|---:|"
  echo "| nginx, reverse proxy, access log on | ${cost_ins[nginx]} | 1.00 | ${cost_sys[nginx]} | 1.00 |"
  echo "| mcp-auth-proxy, POST with bearer check | ${cost_ins[proxy-plain]} | $(bench_ratio "${cost_ins[proxy-plain]}" "${cost_ins[nginx]}") | ${cost_sys[proxy-plain]} | $(bench_ratio "${cost_sys[proxy-plain]}" "${cost_sys[nginx]}") |"
  echo "| mcp-auth-proxy, same with a 50-rule policy | ${cost_ins[proxy-policy]} | $(bench_ratio "${cost_ins[proxy-policy]}" "${cost_ins[nginx]}") | ${cost_sys[proxy-policy]} | $(bench_ratio "${cost_sys[proxy-policy]}" "${cost_sys[nginx]}") |"
  echo "| mcp-auth-proxy, GET /healthz | ${cost_ins[healthz]} | | ${cost_sys[healthz]} | |"
  echo
  echo "policy step added (50 rules, none matching): $(( ${cost_ins[proxy-policy]} - ${cost_ins[proxy-plain]} )) instructions / request"
  echo "proxy: $("$bin" --version); nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //'); $(valgrind --version)"
}
