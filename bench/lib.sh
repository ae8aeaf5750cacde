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
    build-bench/libllhttp.a $libs -lunistring -lm -lpthread
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
events { worker_connections 8192; }
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
# refuses. Extra VAR=value pairs are added; proxy_wrap (an array, may be
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
    MCP_PER_SUBJECT_CONCURRENCY=100000 WORKERS="$workers" SHUTDOWN_TIMEOUT=5s "$@" \
    ${proxy_wrap[@]+"${proxy_wrap[@]}"} "$bin"
}
