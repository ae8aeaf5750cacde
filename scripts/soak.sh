#!/usr/bin/env bash
# The soak (on demand, never in CI): builds the release binary and runs
# tests/e2e/soak/soak.mjs -- SOAK_MINUTES (default 30) of mixed load on
# loopback while Redis, the IdP, the upstream and the log sink fail on a
# schedule -- then prints the outcome table (also written to
# .soak/report.md). Exit status 0 when every check passed.
#
#   make soak                              30 minutes
#   SOAK_MINUTES=5 SOAK_SSE_STREAMS=200 make soak
#   SKIP_INSTALL=1 SKIP_BUILD=1 ...        reuse what is there
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${SKIP_INSTALL:-0}" = 1 ] || scripts/install-deps.sh
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
  ninja -C build >/dev/null
fi
# 1,000 streams are 2,000+ descriptors in the proxy and as many here.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
export MCP_AUTH_PROXY_BIN="${MCP_AUTH_PROXY_BIN:-$(pwd)/build/src/mcp-auth-proxy}"
exec node tests/e2e/soak/soak.mjs
