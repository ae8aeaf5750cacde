#!/usr/bin/env bash
# The README's "run it" command. Until the full local stack lands (issue 5),
# it installs the dependencies, builds, and validates the documented example
# configuration with --check-config.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
set -a
. deploy/demo/example.env
set +a
exec build/src/mcp-auth-proxy --check-config
