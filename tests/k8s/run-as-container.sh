#!/usr/bin/env bash
# Runs a command the way the container runs mcp-auth-proxy under the
# Kubernetes manifests, as far as a machine without a container engine
# can (docs/deploy.md "What was and was not executed"):
#   - uid/gid 10001 with no supplementary groups (Dockerfile USER,
#     runAsUser/runAsGroup),
#   - no capabilities, none inheritable, an empty bounding set and
#     no_new_privs (capabilities.drop: [ALL], allowPrivilegeEscalation: false),
#   - every mount read-only, /tmp included (readOnlyRootFilesystem: true with
#     no emptyDir), in a private mount namespace of its own.
# What it does not give: the image's file set (the host's libraries are
# visible; scripts/check-image-libs.py checks the image's list instead),
# the seccomp profile, the cgroup memory limit, the network namespace.
#
#   tests/k8s/run-as-container.sh build/src/mcp-auth-proxy --version
#   cd tests/e2e && MCP_AUTH_PROXY_BIN=$PWD/../k8s/run-as-container.sh \
#     node --test --test-concurrency=1 proxy.test.mjs                 # e2e
#
# With no arguments, or a first one that is an option, it runs the proxy
# (CONTAINER_SIM_BIN, else build/src/mcp-auth-proxy) with them, so the
# script can stand in for MCP_AUTH_PROXY_BIN (the e2e helpers start the
# proxy with a clean environment, hence a default and not a variable). The PID
# stays the same from this script to the binary (exec all the way: unshare
# without --fork, then setpriv), so a caller that stops it by PID stops
# the binary. Needs root (to make the namespace), util-linux's unshare and
# setpriv.
set -euo pipefail
export PATH=${PATH:-/usr/sbin:/usr/bin:/sbin:/bin}
if [ $# = 0 ] || [ "${1#-}" != "$1" ]; then
  set -- "${CONTAINER_SIM_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/src/mcp-auth-proxy}" "$@"
fi
[ "$(id -u)" = 0 ] || { echo "$0: needs root to build the namespace" >&2; exit 2; }
uid=${CONTAINER_SIM_UID:-10001}
# Inside the new mount namespace: remount every mount read-only (deepest
# first does not matter for remount), then drop to the image's user.
# shellcheck disable=SC2016
exec unshare --mount --propagation private -- /bin/sh -c '
  uid=$1; shift
  awk "{ print \$2 }" /proc/self/mounts | sort -u | while read -r m; do
    case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
    mount -o remount,bind,ro "$m" 2>/dev/null || true
  done
  if touch /tmp/.container-sim-probe 2>/dev/null || touch /.container-sim-probe 2>/dev/null; then
    echo "run-as-container: a mount stayed writable" >&2; exit 2
  fi
  exec setpriv --reuid "$uid" --regid "$uid" --clear-groups --no-new-privs \
    --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- "$@"
' run-as-container "$uid" "$@"
