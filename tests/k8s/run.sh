#!/usr/bin/env bash
# The posture check's own tests (scripts/test.sh runs them as a stage):
#   1. every shipped overlay passes scripts/k8s-posture.py;
#   2. every case under tests/k8s/bad/ fails (exit 1) with exactly the lines
#      in its `expect` file, no more, no fewer -- so each case proves that
#      its one mistake is caught and that the rest of the manifests pass;
#   3. the parse of src/config.c's table equals the built binary's --help;
#   4. where kubectl is installed, the script's kustomize resolution equals
#      `kubectl kustomize` for every kustomization above (kubectl is not a
#      Debian package, so without it this part is skipped and says so);
#   5. every shipped kustomization's objects validate against Kubernetes'
#      schemas (tests/k8s/schema/, offline, pinned npm packages), and each
#      case under tests/k8s/bad-schema/ fails with exactly its `expect` lines;
#   6. deploy/Dockerfile's runtime packages cover exactly the libraries the
#      built binary links (scripts/check-image-libs.py), and an altered
#      Dockerfile is caught; the binary runs as uid 10001 with no
#      capabilities on read-only mounts (tests/k8s/run-as-container.sh).
# Prints one line per test and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

posture=scripts/k8s-posture.py
# install-deps.sh installs Debian's python3-yaml for /usr/bin/python3; a
# python3 earlier on PATH (pyenv, a venv) may lack PyYAML.
python3() { if [ -z "${py:-}" ]; then
    py=python3; command python3 -c 'import yaml' 2>/dev/null || py=/usr/bin/python3; fi
  command "$py" "$@"; }
pending=tests/k8s/pending-vars.txt
passed=0
failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }

for overlay in deploy/k8s/overlays/*/; do
  overlay=${overlay%/}
  if out=$(python3 "$posture" --pending "$pending" "$overlay" 2>&1); then
    ok "shipped overlay passes: $overlay"
  else
    bad "shipped overlay fails: $overlay"; echo "$out" | sed 's/^/     /'
  fi
done

for case in tests/k8s/bad/*/; do
  case=${case%/}
  out=$(python3 "$posture" --pending "$pending" "$case" 2>&1)
  rc=$?
  got=$(echo "$out" | sed "s#^$case: ##" | sort)
  want=$(sort "$case/expect")
  if [ "$rc" = 1 ] && [ "$got" = "$want" ]; then
    ok "bad manifests caught: $case"
  else
    bad "bad manifests: $case (exit $rc, want 1)"
    diff <(echo "$want") <(echo "$got") | sed 's/^/     /'
  fi
done

# The check reads variable names, defaults and secret flags by parsing
# src/config.c's table; the binary prints the same table in --help. Where a
# build exists, the two must agree, so a reshaped table cannot blind the check.
bin=${MCP_AUTH_PROXY_BIN:-build/src/mcp-auth-proxy}
if [ -x "$bin" ]; then
  if out=$(python3 "$posture" --compare-help "$bin" 2>&1); then
    ok "src/config.c's table as parsed equals $bin --help"
  else
    bad "src/config.c's table as parsed differs from $bin --help"; echo "$out" | sed 's/^/     /'
  fi
else
  echo "skip table parse vs --help: no binary at $bin"
fi

# Input outside the kustomize subset is refused (exit 2), never checked
# half-understood.
for case in tests/k8s/unsupported/*/; do
  case=${case%/}
  out=$(python3 "$posture" "$case" 2>&1)
  rc=$?
  if [ "$rc" = 2 ] && echo "$out" | grep -qF "$(cat "$case/expect")"; then
    ok "outside the subset, refused: $case"
  else
    bad "outside the subset: $case (exit $rc, want 2)"; echo "$out" | sed 's/^/     /'
  fi
done

# Compares two YAML streams as sets of objects; lists of maps are compared
# without their order (kustomize puts patched-in list entries first).
same_objects() {
  python3 - "$1" "$2" <<'PY'
import json, sys, yaml
def canon(v):
    if isinstance(v, dict):
        return {k: canon(x) for k, x in v.items()}
    if isinstance(v, list):
        items = [canon(x) for x in v]
        if all(isinstance(x, dict) for x in items):
            items.sort(key=lambda x: json.dumps(x, sort_keys=True))
        return items
    return v
def objs(path):
    with open(path) as f:
        return sorted(json.dumps(canon(d), sort_keys=True) for d in yaml.safe_load_all(f) if d)
a, b = objs(sys.argv[1]), objs(sys.argv[2])
if a != b:
    for x in sorted(set(a) ^ set(b)):
        print(("only in ours:   " if x in a else "only in kubectl:") + " " + x[:300])
    sys.exit(1)
PY
}
if command -v kubectl >/dev/null 2>&1 && timeout 60 kubectl kustomize deploy/k8s/base >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  for dir in deploy/k8s/base deploy/k8s/overlays/*/ tests/k8s/bad/*/; do
    dir=${dir%/}
    [ -f "$dir/kustomization.yaml" ] || continue
    if ! timeout 60 kubectl kustomize "$dir" >"$tmp/kubectl.yaml" 2>"$tmp/err"; then
      bad "kubectl kustomize failed: $dir"; sed 's/^/     /' "$tmp/err"; continue
    fi
    python3 "$posture" --render "$dir" >"$tmp/ours.yaml" 2>"$tmp/err" || {
      bad "render failed: $dir"; sed 's/^/     /' "$tmp/err"; continue; }
    if diffs=$(same_objects "$tmp/ours.yaml" "$tmp/kubectl.yaml"); then
      ok "resolution matches kubectl kustomize: $dir"
    else
      bad "resolution differs from kubectl kustomize: $dir"; echo "$diffs" | sed 's/^/     /'
    fi
  done
  rm -rf "$tmp"
else
  echo "skip resolution vs kubectl kustomize: no working kubectl on this machine"
fi

# Schema: every object of every shipped kustomization, as rendered above,
# against Kubernetes' OpenAPI schemas from npm (tests/k8s/schema/validate.mjs:
# types, required fields, and no field the API does not know); each case
# under tests/k8s/bad-schema/ must fail with exactly its `expect` lines.
# The schemas come from tests/k8s/schema/node_modules, which
# scripts/install-deps.sh installs (npm ci): missing, the check fails.
to_json() {
  python3 -c 'import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)'
}
if [ -d tests/k8s/schema/node_modules/kubernetes-models ] \
    && [ -d tests/k8s/schema/node_modules/@kubernetes/client-node ]; then
  for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
    dir=${dir%/}
    if out=$(python3 "$posture" --render "$dir" | to_json | node tests/k8s/schema/validate.mjs "$dir" 2>&1); then
      ok "schema: $out"
    else
      bad "schema: $dir does not validate"; echo "$out" | sed 's/^/     /'
    fi
  done
  for case in tests/k8s/bad-schema/*/; do
    case=${case%/}
    out=$(python3 "$posture" --render "$case" | to_json | node tests/k8s/schema/validate.mjs "$case" 2>&1)
    rc=$?
    got=$(echo "$out" | sed "s#^$case: ##" | sort)
    want=$(sort "$case/expect")
    if [ "$rc" = 1 ] && [ "$got" = "$want" ]; then
      ok "schema errors caught: $case"
    else
      bad "schema errors: $case (exit $rc, want 1)"
      diff <(echo "$want") <(echo "$got") | sed 's/^/     /'
    fi
  done
else
  bad "schema check: tests/k8s/schema/node_modules is missing (scripts/install-deps.sh runs npm ci there)"
fi

# The container image: deploy/Dockerfile's runtime packages against the
# libraries the built binary links (scripts/check-image-libs.py), and a
# Dockerfile with one library dropped and an unused one added must fail.
if [ -x "$bin" ]; then
  if out=$(python3 scripts/check-image-libs.py "$bin" 2>&1); then
    ok "image libraries: $out"
  else
    bad "image libraries: deploy/Dockerfile and $bin disagree"; echo "$out" | sed 's/^/     /'
  fi
  tmp=$(mktemp -d)
  sed -e 's/ libyaml-0-2 / /' -e 's/^\( *\)ca-certificates \\$/\1ca-certificates libevent-2.1-7 \\/' \
    deploy/Dockerfile > "$tmp/Dockerfile"
  out=$(python3 scripts/check-image-libs.py --dockerfile "$tmp/Dockerfile" "$bin" 2>&1)
  rc=$?
  if [ "$rc" = 1 ] && echo "$out" | grep -q "links libyaml-0.so.2 from package libyaml-0-2, which .* does not install" \
      && echo "$out" | grep -q "installs libevent-2.1-7, which provides no library" \
      && [ "$(echo "$out" | wc -l)" = 3 ]; then
    ok "image libraries: a dropped and an unused runtime package are caught"
  else
    bad "image libraries: the altered Dockerfile was not caught as expected (exit $rc)"; echo "$out" | sed 's/^/     /'
  fi
  rm -rf "$tmp"
  # The binary loads and answers as the container runs it: uid 10001, no
  # capabilities, no_new_privs, every mount read-only (run-as-container.sh;
  # docs/deploy.md says what that does and does not simulate).
  if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v setpriv >/dev/null; then
    if out=$(tests/k8s/run-as-container.sh "$bin" --version 2>&1) && echo "$out" | grep -q '^mcp-auth-proxy '; then
      ok "as the container user on a read-only root: $out"
    else
      bad "the binary does not run as uid 10001 on a read-only root"; echo "$out" | sed 's/^/     /'
    fi
  else
    echo "skip read-only root as uid 10001: needs root, unshare and setpriv"
  fi
else
  echo "skip image libraries vs deploy/Dockerfile: no binary at $bin"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
