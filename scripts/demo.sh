#!/usr/bin/env bash
# The README's "run it" command (`make demo`): the whole product on loopback.
#
#   scripts/demo.sh               install, build, start the stack, run the
#                                 scripted MCP client through login and a tool
#                                 call, then leave the stack running (detached)
#   scripts/demo.sh --foreground  the same, but stay in the foreground and stop
#                                 everything on Ctrl-C / SIGTERM
#   scripts/demo.sh --ci          the same, non-interactive: stop everything and
#                                 exit 0 once the scripted client succeeded;
#                                 exit non-zero with the log tails otherwise
#   scripts/demo.sh stop          stop every process the last run recorded
#   scripts/demo.sh status        show which recorded processes are running
#
# The stack, each its own process on 127.0.0.1:
#   redis-server                  the replay store (no persistence)
#   tests/e2e/peers/idp.mjs       oidc-provider as the IdP, demo user alice
#   tests/e2e/peers/mcp-upstream.mjs  an MCP server on the official TypeScript SDK
#   build/src/mcp-auth-proxy      the proxy, PROD_MODE=true with every secure default
#   deploy/demo/client.mjs        the scripted MCP client (official SDK, OAuthClientProvider)
#
# Every process is started in its own session and recorded in
# $DEMO_DIR/pids as "name pid start-time"; `stop` signals only a PID whose
# start time still matches (so a recycled PID is never touched): SIGTERM,
# then SIGKILL after 10 s. Logs are in $DEMO_DIR/logs/. Every wait is bounded.
#
# Environment (all optional):
#   DEMO_DIR=.demo            where PIDs, logs and the proxy's env file go
#   DEMO_PROXY_PORT=8080  DEMO_METRICS_PORT=9090  DEMO_IDP_PORT=9400
#   DEMO_UPSTREAM_PORT=9300  DEMO_REDIS_PORT=6390
#                             a default port that is busy is replaced by a free
#                             one (and the script says so); a port you set
#                             explicitly that is busy is an error
#   DEMO_SKIP_INSTALL=1       do not run scripts/install-deps.sh
#   MCP_AUTH_PROXY_BIN=path   use this binary instead of building build/
#   DEMO_READY_TIMEOUT=30     seconds each component may take to become ready
#   DEMO_CLIENT_TIMEOUT=90    seconds the scripted client may take
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

mode=detach
case "${1:-}" in
  "") ;;
  --ci) mode=ci ;;
  --foreground) mode=foreground ;;
  stop) mode=stop ;;
  status) mode=status ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/demo.sh [--ci | --foreground | stop | status]" >&2; exit 2 ;;
esac

DEMO_DIR=${DEMO_DIR:-$root/.demo}
case "$DEMO_DIR" in /*) ;; *) DEMO_DIR=$root/$DEMO_DIR ;; esac
pids_file=$DEMO_DIR/pids
logs=$DEMO_DIR/logs
ready_timeout=${DEMO_READY_TIMEOUT:-30}
client_timeout=${DEMO_CLIENT_TIMEOUT:-90}
stop_timeout=10

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------ process records

# "STATE START" of a PID: the state letter (field 3 of /proc/PID/stat) and
# the start time in clock ticks since boot (field 22); the text after the
# last ')' starts at field 3. Empty when the PID is gone.
proc_stat() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  printf '%s %s' "$1" "${20}"
}
start_time_of() { local s; s=$(proc_stat "$1"); printf '%s' "${s#* }"; }

# True when the recorded PID is still the process we started and has not
# exited (a child of this script that exited stays a zombie until reaped).
alive() {
  local s
  s=$(proc_stat "$1")
  [ -n "$2" ] && [ -n "$s" ] && [ "${s#* }" = "$2" ] && [[ "${s%% *}" != [ZX] ]]
}

# Stops one recorded process: SIGTERM, bounded wait, then SIGKILL.
stop_one() {
  local name=$1 pid=$2 st=$3 i
  alive "$pid" "$st" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < stop_timeout * 10; i++)); do
    if ! alive "$pid" "$st"; then
      # Our own child (same run): collect its exit status.
      local rc=0
      wait "$pid" 2>/dev/null || rc=$?
      # 127: not our child (started by an earlier run), status unknown.
      if [ "$rc" = 0 ] || [ "$rc" = 127 ]; then
        say "stopped $name (pid $pid)"
      else
        say "stopped $name (pid $pid; exit status $rc)"
        unclean+=("$name exited with status $rc")
      fi
      return 0
    fi
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  say "killed $name (pid $pid): it did not exit within ${stop_timeout}s of SIGTERM"
  unclean+=("$name needed SIGKILL")
}
unclean=()

# Stops everything recorded, newest first (the proxy before its peers).
stop_all() {
  [ -f "$pids_file" ] || return 0
  local lines=() i name pid st
  mapfile -t lines < "$pids_file"
  for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
    read -r name pid st <<< "${lines[$i]}"
    stop_one "$name" "$pid" "$st"
  done
  rm -f "$pids_file"
}

any_alive() {
  [ -f "$pids_file" ] || return 1
  local name pid st
  while read -r name pid st; do
    alive "$pid" "$st" && return 0
  done < "$pids_file"
  return 1
}

if [ "$mode" = stop ]; then
  if any_alive; then stop_all; say "demo stack stopped"; else rm -f "$pids_file"; say "no demo process is running"; fi
  exit 0
fi
if [ "$mode" = status ]; then
  [ -f "$pids_file" ] || { say "no demo stack recorded in $pids_file"; exit 1; }
  rc=1
  while read -r name pid st; do
    if alive "$pid" "$st"; then say "$name running (pid $pid)"; rc=0; else say "$name not running"; fi
  done < "$pids_file"
  exit "$rc"
fi

# Starts "$@" detached (own session, stdin from /dev/null, output to
# logs/NAME.log) and records it. setsid does not fork here (a background
# job of a non-interactive shell is not a process-group leader), so $! is
# the process itself once it has exec'd.
start_bg() {
  local name=$1; shift
  setsid "$@" > "$logs/$name.log" 2>&1 < /dev/null &
  local pid=$! st
  st=$(start_time_of "$pid")
  [ -n "$st" ] || { wait "$pid" 2>/dev/null || true; fail "$name exited at once"; }
  echo "$name $pid $st" >> "$pids_file"
  eval "${name//-/_}_pid=$pid; ${name//-/_}_st=$st"
}

# Prints the last lines of every log (on failure).
show_logs() {
  local f
  for f in "$logs"/*.log; do
    [ -s "$f" ] && [ "${f##*/}" != build.log ] || continue
    printf '\n----- %s (last 40 lines) -----\n' "${f#"$root"/}" >&2
    tail -n 40 "$f" >&2
  done
}

# Failure after something was started: logs, stop everything, exit 1.
fail() {
  printf 'demo: FAILED: %s\n' "$*" >&2
  trap - EXIT INT TERM
  show_logs
  stop_all
  exit 1
}

# Polls "$2..." (a command) every 0.1 s until it succeeds; fails when the
# process named $1 dies or ready_timeout passes.
wait_ready() {
  local name=$1 v=${1//-/_} i; shift
  local pid_var=${v}_pid st_var=${v}_st
  for ((i = 0; i < ready_timeout * 10; i++)); do
    "$@" && return 0
    alive "${!pid_var}" "${!st_var}" || fail "$name exited before it was ready (see $logs/$name.log)"
    sleep 0.1
  done
  fail "$name was not ready within ${ready_timeout}s (see $logs/$name.log)"
}

log_has() { grep -q "$2" "$logs/$1.log" 2>/dev/null; }
redis_pong() {
  local reply
  reply=$(timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1"'; printf "PING\r\n" >&3; head -c 5 <&3' 2>/dev/null) || return 1
  [ "$reply" = "+PONG" ]
}
http_ok() { curl -fsS -o /dev/null -m 2 "$1" 2>/dev/null; }

# ------------------------------------------------------------ ports

# True when nothing accepts connections on 127.0.0.1:$1 (a listener on
# 0.0.0.0 or 127.0.0.1 would make our bind fail).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}
taken_ports=()
# pick_port VAR DEFAULT LABEL: honours an explicit $VAR strictly, replaces a
# busy default with a free port.
pick_port() {
  local var=$1 def=$2 label=$3 p
  if [ -n "${!var:-}" ]; then
    p=${!var}
    [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "$var=$p is not a port number"
    port_free "$p" || die "$label port $p ($var) is in use on 127.0.0.1; free it or choose another $var"
  else
    p=$def
    if ! port_free "$p" || [[ " ${taken_ports[*]} " == *" $p "* ]]; then
      p=$(free_port)
      say "$label: default port $def is in use, using $p instead (set $var to choose)"
    fi
  fi
  [[ " ${taken_ports[*]} " == *" $p "* ]] && die "$label port $p is already used by another demo component"
  taken_ports+=("$p")
  printf -v "$var" '%s' "$p"
}

# ------------------------------------------------------------ start

mkdir -p "$DEMO_DIR"
if any_alive; then
  say "a demo stack from an earlier run is still running; stopping it first"
  stop_all
fi
rm -f "$pids_file"
rm -rf "$logs"
mkdir -p "$logs" "$DEMO_DIR/redis"

if [ "${DEMO_SKIP_INSTALL:-0}" != 1 ]; then
  say "installing dependencies (scripts/install-deps.sh)"
  scripts/install-deps.sh
fi
command -v node > /dev/null || die "node is not installed (run scripts/install-deps.sh)"
[ -d tests/e2e/node_modules/@modelcontextprotocol/sdk ] || die "tests/e2e/node_modules is missing (run scripts/install-deps.sh)"

if [ -n "${MCP_AUTH_PROXY_BIN:-}" ]; then
  bin=$MCP_AUTH_PROXY_BIN
  say "using the binary $bin"
else
  say "building build/src/mcp-auth-proxy (meson + ninja; log in ${logs#"$root"/}/build.log)"
  reconf=""
  [ -f build/build.ninja ] && reconf=--reconfigure
  { meson setup $reconf build && ninja -C build src/mcp-auth-proxy; } > "$logs/build.log" 2>&1 \
    || { tail -n 40 "$logs/build.log" >&2; die "the build failed"; }
  bin=$root/build/src/mcp-auth-proxy
fi
[ -x "$bin" ] || die "no executable at $bin"

pick_port DEMO_PROXY_PORT 8080 "proxy"
pick_port DEMO_METRICS_PORT 9090 "proxy metrics"
pick_port DEMO_IDP_PORT 9400 "IdP"
pick_port DEMO_UPSTREAM_PORT 9300 "MCP upstream"
pick_port DEMO_REDIS_PORT 6390 "Redis"

base=http://127.0.0.1:$DEMO_PROXY_PORT
issuer=http://127.0.0.1:$DEMO_IDP_PORT
upstream=http://127.0.0.1:$DEMO_UPSTREAM_PORT/mcp
client_id=mcp-auth-proxy
client_secret=$(openssl rand -hex 24)
signing_secret=$(openssl rand -hex 32)

# From here on, anything that goes wrong stops what was started.
trap 'fail "interrupted"' INT TERM
trap 'rc=$?; [ $rc -ne 0 ] && fail "exit status $rc"' EXIT

say "starting Redis on 127.0.0.1:$DEMO_REDIS_PORT"
start_bg redis redis-server --port "$DEMO_REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
  --save '' --appendonly no --daemonize no --dir "$DEMO_DIR/redis" --loglevel notice
wait_ready redis redis_pong "$DEMO_REDIS_PORT"

say "starting the IdP (oidc-provider) at $issuer"
start_bg idp node tests/e2e/peers/idp.mjs --port "$DEMO_IDP_PORT" \
  --client-id "$client_id" --client-secret "$client_secret" --redirect-uri "$base/callback"
wait_ready idp log_has idp '^IDP_READY '

say "starting the MCP upstream (TypeScript SDK) at $upstream"
start_bg upstream node tests/e2e/peers/mcp-upstream.mjs --port "$DEMO_UPSTREAM_PORT" --path /mcp
wait_ready upstream log_has upstream '^UPSTREAM_READY '

# The proxy gets exactly this environment (env -i), also kept in
# proxy.env (mode 600) so it can be restarted by hand. PROD_MODE=true with
# every secure default: Redis is configured and required, PKCE required,
# consent page and rate limits on; http:// is accepted for the IdP and the
# base URL only because both are loopback addresses (SPEC.md 1.2, 1.3).
# SHUTDOWN_TIMEOUT=5s: an MCP client's open SSE stream must not hold
# `stop` for the 120 s default.
proxy_env=(
  PATH="$PATH"
  PROD_MODE=true
  OIDC_ISSUER_URL="$issuer"
  OIDC_CLIENT_ID="$client_id"
  OIDC_CLIENT_SECRET="$client_secret"
  PROXY_BASE_URL="$base"
  UPSTREAM_MCP_URL="$upstream"
  TOKEN_SIGNING_SECRET="$signing_secret"
  LISTEN_ADDR="127.0.0.1:$DEMO_PROXY_PORT"
  METRICS_ADDR="127.0.0.1:$DEMO_METRICS_PORT"
  REDIS_URL="redis://127.0.0.1:$DEMO_REDIS_PORT/0"
  MCP_RESOURCE_NAME="mcp-auth-proxy demo"
  SHUTDOWN_TIMEOUT=5s
)
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
  [ -n "${!v:-}" ] && proxy_env+=("$v=${!v}")
done
(umask 077 && printf '%s\n' "${proxy_env[@]:1}" > "$DEMO_DIR/proxy.env")

say "starting mcp-auth-proxy at $base (metrics on 127.0.0.1:$DEMO_METRICS_PORT)"
start_bg proxy env -i "${proxy_env[@]}" "$bin"
wait_ready proxy http_ok "$base/healthz"
http_ok "http://127.0.0.1:$DEMO_METRICS_PORT/readyz" || fail "the proxy's /readyz is not 200 (Redis?)"

say "running the scripted MCP client (deploy/demo/client.mjs)"
echo
set +e
timeout --foreground --kill-after=5 "$client_timeout" node deploy/demo/client.mjs \
  --server "$base/mcp" --username alice --password alice-pw 2>&1 | tee "$logs/client.log"
client_rc=${PIPESTATUS[0]}
set -e
echo
[ "$client_rc" = 0 ] || fail "the scripted client failed (exit $client_rc; see $logs/client.log)"
grep -q '^DEMO_CLIENT_OK$' "$logs/client.log" || fail "the scripted client did not report success"

summary() {
  cat <<EOF
demo: SUCCESS: the scripted client logged in as alice and called tools through the proxy
demo: stack on 127.0.0.1:
  mcp-auth-proxy   $base             (metrics and /readyz: http://127.0.0.1:$DEMO_METRICS_PORT)
  IdP              $issuer             (oidc-provider; the proxy's client: $client_id)
  MCP upstream     $upstream
  Redis            redis://127.0.0.1:$DEMO_REDIS_PORT
demo: logs in ${logs#"$root"/}/ (proxy.log, idp.log, upstream.log, redis.log, client.log); PIDs in ${pids_file#"$root"/}
EOF
}

if [ "$mode" = ci ]; then
  summary
  trap - EXIT INT TERM
  stop_all
  if [ "${#unclean[@]}" -gt 0 ]; then
    printf 'demo: FAILED: unclean stop: %s\n' "${unclean[*]}" >&2
    show_logs
    exit 1
  fi
  say "CI mode: everything stopped cleanly"
  exit 0
fi

instructions() {
  cat <<EOF

Point an MCP client at the proxy:
  MCP server URL   $base/mcp
  demo login       alice / alice-pw  (the IdP's login page opens in your browser)

  MCP Inspector:   npx @modelcontextprotocol/inspector
                   then Transport "Streamable HTTP", URL $base/mcp, Connect
  Claude Code:     claude mcp add --transport http demo $base/mcp
                   then /mcp in Claude Code to log in
  The upstream's tools: echo, whoami (shows the X-User-* identity the proxy
  sends), slow_progress, sleep, notify.

EOF
}

summary
instructions
if [ "$mode" = foreground ]; then
  echo "The stack runs in the foreground: press Ctrl-C to stop everything."
  trap 'echo; say "stopping"; trap - EXIT INT TERM; stop_all; exit 0' INT TERM
  while true; do
    while read -r name pid st; do
      if ! alive "$pid" "$st"; then
        fail "$name (pid $pid) exited unexpectedly"
      fi
    done < "$pids_file"
    sleep 1 &
    wait $! || true
  done
fi
trap - EXIT INT TERM
echo "The stack keeps running in the background. Stop it with:  scripts/demo.sh stop"
