#!/usr/bin/env python3
"""Posture check for mcp-auth-proxy's Kubernetes manifests (docs/kubernetes.md).

    scripts/k8s-posture.py [--pending FILE] PATH...   check each PATH
    scripts/k8s-posture.py --render PATH              print PATH resolved
    scripts/k8s-posture.py --compare-help BINARY      the table parse vs BINARY --help

PATH is a kustomization directory (deploy/k8s/overlays/production), a
directory of YAML files, or one YAML file. Each failure prints one line,
"PATH: what to fix"; the exit status is 1 on any failure, 2 when PATH cannot
be read or uses kustomize beyond the subset below, 0 when it passes.

No kubectl, no network: kustomizations are resolved here, in a subset that
covers what deploy/k8s uses and refuses anything else (exit 2) rather than
check something it did not understand:
  resources (files and directories), namespace, images (name, newName,
  newTag, digest), patches (path or inline patch, strategic merge, the target
  named by the patch's own kind and metadata.name) and patchesStrategicMerge.
Strategic merge: maps merge; null deletes a key; `$patch: delete` removes a
list element or a whole object; lists merge by key for containers,
initContainers, env, volumes, imagePullSecrets (name), volumeMounts
(mountPath), ports (containerPort, or port in a Service) and
topologySpreadConstraints (topologyKey); other lists are replaced.
tests/k8s/run.sh compares this resolution with `kubectl kustomize` where
kubectl exists.

The variables (names, defaults, which are secret) come from the table in
src/config.c, so the check follows the binary: a variable the table does not
know is a failure too (--pending FILE lists names another branch is adding;
a listed name that the table already has is a failure, so the list empties).
"""

import copy
import ipaddress
import json
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.stderr.write("k8s-posture: PyYAML is missing (Debian: apt-get install python3-yaml)\n")
    sys.exit(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_C = os.path.join(ROOT, "src", "config.c")
IMAGE = "mcp-auth-proxy"

# Read by the process but not through the table: libcurl's proxy variables
# (docs/runbook.md) and OpenSSL's CA locations.
ENV_OUTSIDE_TABLE = {
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
    "ALL_PROXY", "all_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR",
}
# A name that says it holds a secret is treated as one even before the
# table knows it (a variable another branch is adding, a typo).
SECRET_NAME_RE = re.compile(r"PASSWORD|SECRET")
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
}
POD_SPEC_PATHS = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
# Memory of the release binary with WORKERS=2, measured by
# tests/k8s/measure-rss.sh (docs/kubernetes.md "Resources"): 15.1 MiB idle,
# 28.2 MiB with 1,000 SSE streams open (13.0 KiB each), 18.7 MiB under 7,800
# bearer-checked POSTs/s. Rounded up; the memory limit must cover idle +
# every body the process may buffer + every connection it may hold.
RSS_IDLE_MIB = 16
RSS_LOADED_MIB = 32
RSS_PER_CONNECTION_KIB = 16
KUSTOMIZATION_FIELDS = {
    "apiVersion", "kind", "resources", "namespace", "images", "patches",
    "patchesStrategicMerge",
}


class Unsupported(Exception):
    """Input the subset does not cover: exit 2, never a silent pass."""


# ------------------------------------------------------------------ #
# The configuration table                                             #
# ------------------------------------------------------------------ #

def read_config_table(path=CONFIG_C):
    """Returns {name: {"secret": bool, "required": bool, "default": str|None}}
    from the `vars[]` table of src/config.c."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start = text.find("static const struct config_var vars[] = {")
    end = text.find("\n};", start)
    if start < 0 or end < 0:
        raise Unsupported(f"{path}: no `static const struct config_var vars[]` table")
    table = {}
    body = text[start:end]
    for chunk in re.split(r"\{\s*\.name\s*=\s*", body)[1:]:
        m = re.match(r'"([A-Z0-9_]+)"', chunk)
        if not m:
            continue
        flags = re.search(r"\.flags\s*=\s*([A-Z_ |\s]+)", chunk)
        flags = flags.group(1) if flags else ""
        default = re.search(r'\.def\s*=\s*"((?:[^"\\]|\\.)*)"', chunk)
        table[m.group(1)] = {
            "secret": "CONFIG_VAR_SECRET" in flags,
            "required": "CONFIG_VAR_REQUIRED" in flags,
            "default": default.group(1) if default else None,
            "default_shown": ".def_help" not in chunk,
        }
    if not table:
        raise Unsupported(f"{path}: the vars[] table has no entries")
    return table


def compare_with_help(binary, table):
    """Differences between the table as parsed here and `BINARY --help`,
    which prints the same table: proves the parse, so a reshaped table
    cannot silently blind the check."""
    import subprocess
    text = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30,
                          check=False).stdout
    helped = {}
    for m in re.finditer(r"^  ([A-Z][A-Z0-9_]+)\n      .*\n      (.*)$", text, re.M):
        attrs = m.group(2)
        default = re.match(r"default: (.*?)(?:;|$)", attrs)
        helped[m.group(1)] = {
            "secret": "secret (never printed)" in attrs,
            "required": attrs.startswith("required"),
            "default": default.group(1) if default else None,
        }
    diffs = []
    for n in sorted(set(table) | set(helped)):
        if n not in helped or n not in table:
            diffs.append(f"{n}: {'only in src/config.c' if n in table else 'only in --help'}")
            continue
        t, h = table[n], helped[n]
        for k in ("secret", "required"):
            if t[k] != h[k]:
                diffs.append(f"{n}: {k} is {t[k]} in the parse, {h[k]} in --help")
        if t["default_shown"] and t["default"] is not None and t["default"] != h["default"]:
            diffs.append(f"{n}: default {t['default']!r} in the parse, {h['default']!r} in --help")
    if not helped:
        diffs.append(f"{binary} --help lists no variables")
    return diffs


# ------------------------------------------------------------------ #
# Loading and the kustomize subset                                    #
# ------------------------------------------------------------------ #

def load_yaml_file(path):
    with open(path, encoding="utf-8") as f:
        try:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            raise Unsupported(f"{path}: not valid YAML: {e}")
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d:
            raise Unsupported(f"{path}: a document without kind")
    return docs


def find_kustomization(directory):
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        p = os.path.join(directory, name)
        if os.path.isfile(p):
            return p
    return None


def load(path):
    """The objects PATH stands for, kustomizations resolved."""
    if os.path.isfile(path):
        return load_yaml_file(path)
    if not os.path.isdir(path):
        raise Unsupported(f"{path}: no such file or directory")
    k = find_kustomization(path)
    if k is None:
        objs = []
        for name in sorted(os.listdir(path)):
            if name.endswith((".yaml", ".yml")):
                objs += load_yaml_file(os.path.join(path, name))
        return objs
    return resolve_kustomization(path, k)


def resolve_kustomization(directory, kpath):
    with open(kpath, encoding="utf-8") as f:
        k = yaml.safe_load(f) or {}
    extra = sorted(set(k) - KUSTOMIZATION_FIELDS)
    if extra:
        raise Unsupported(f"{kpath}: kustomization field(s) {', '.join(extra)} are outside the "
                          "subset this check resolves (see scripts/k8s-posture.py)")
    objs = []
    for r in k.get("resources") or []:
        objs += load(os.path.join(directory, r))
    patches = []
    for p in k.get("patchesStrategicMerge") or []:
        patches += load_yaml_file(os.path.join(directory, p))
    for p in k.get("patches") or []:
        if set(p) - {"path", "patch"}:
            raise Unsupported(f"{kpath}: patches with {sorted(set(p) - {'path', 'patch'})} are "
                              "outside the subset (name the target in the patch itself)")
        if "path" in p:
            patches += load_yaml_file(os.path.join(directory, p["path"]))
        else:
            patches += [d for d in yaml.safe_load_all(p["patch"]) if d is not None]
    for patch in patches:
        objs = apply_patch(objs, patch, kpath)
    if "namespace" in k:
        for o in objs:
            if o["kind"] not in CLUSTER_SCOPED:
                o.setdefault("metadata", {})["namespace"] = k["namespace"]
    for img in k.get("images") or []:
        for o in objs:
            for c in containers_of(o, init=True):
                c["image"] = set_image(c.get("image", ""), img)
    return objs


def set_image(image, rule):
    m = re.match(r"^([^@]*?)(?::([^:/@]+))?(?:@(.+))?$", image)
    name, tag, digest = m.group(1), m.group(2), m.group(3)
    if name != rule.get("name"):
        return image
    name = rule.get("newName", name)
    if "digest" in rule:
        return f"{name}@{rule['digest']}"
    tag = rule.get("newTag", tag)
    out = name + (f":{tag}" if tag else "")
    return out + (f"@{digest}" if digest and "newTag" not in rule else "")


def apply_patch(objs, patch, where):
    meta = patch.get("metadata") or {}
    hits = [i for i, o in enumerate(objs)
            if o["kind"] == patch.get("kind")
            and (o.get("metadata") or {}).get("name") == meta.get("name")
            and ("namespace" not in meta
                 or (o.get("metadata") or {}).get("namespace") == meta["namespace"])]
    if len(hits) != 1:
        raise Unsupported(f"{where}: patch for {patch.get('kind')} {meta.get('name')} matches "
                          f"{len(hits)} objects (need exactly one)")
    i = hits[0]
    if patch.get("$patch") == "delete":
        return objs[:i] + objs[i + 1:]
    objs = list(objs)
    objs[i] = smp_merge(objs[i], patch, [])
    return objs


def merge_key(field, items):
    if field in ("containers", "initContainers", "ephemeralContainers", "env", "volumes",
                 "imagePullSecrets"):
        return "name"
    if field == "volumeMounts":
        return "mountPath"
    if field == "topologySpreadConstraints":
        return "topologyKey"
    if field == "ports":
        return "containerPort" if any("containerPort" in x for x in items) else "port"
    return None


def smp_merge(base, patch, path):
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if key.startswith("$"):
            if key == "$patch" and value in ("merge",):
                continue
            raise Unsupported(f"strategic merge directive {key}: {value} at "
                              f"{'.'.join(path) or '(top)'} is outside the subset")
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list) and isinstance(out.get(key), list):
            mk = merge_key(key, out[key] + value)
            out[key] = smp_merge_list(out[key], value, mk, path + [key])
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = smp_merge(out[key], value, path + [key])
        else:
            out[key] = strip_directives(copy.deepcopy(value))
    return out


def strip_directives(value):
    if isinstance(value, list):
        return [strip_directives(v) for v in value
                if not (isinstance(v, dict) and v.get("$patch") == "delete")]
    if isinstance(value, dict):
        return {k: strip_directives(v) for k, v in value.items() if k != "$patch"}
    return value


def smp_merge_list(base, patch, mk, path):
    if mk is None or not all(isinstance(x, dict) for x in base + patch):
        return strip_directives(copy.deepcopy(patch))
    out = copy.deepcopy(base)
    for item in patch:
        idx = [i for i, x in enumerate(out) if x.get(mk) == item.get(mk)]
        if item.get("$patch") == "delete":
            out = [x for x in out if x.get(mk) != item.get(mk)]
        elif idx:
            out[idx[0]] = smp_merge(out[idx[0]], item, path)
        else:
            out.append(strip_directives(copy.deepcopy(item)))
    return out


# ------------------------------------------------------------------ #
# Helpers over objects                                                #
# ------------------------------------------------------------------ #

def dig(obj, *keys, default=None):
    for k in keys:
        if not isinstance(obj, dict) or k not in obj:
            return default
        obj = obj[k]
    return obj


def pod_spec(obj):
    keys = POD_SPEC_PATHS.get(obj.get("kind"))
    return dig(obj, *keys) if keys else None


def containers_of(obj, init=False):
    spec = pod_spec(obj) or {}
    out = list(spec.get("containers") or [])
    return out + list(spec.get("initContainers") or []) if init else out


def image_name(image):
    return re.split(r"[:@]", (image or "").rsplit("/", 1)[-1])[0]


def name_of(obj):
    return dig(obj, "metadata", "name", default="?")


def ns_of(obj):
    return dig(obj, "metadata", "namespace", default="")


def selector_matches(selector, labels):
    """A LabelSelector (matchLabels and matchExpressions) against labels;
    an empty selector matches everything, a missing one nothing."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        op, key, values = e.get("operator"), e.get("key"), e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def addr_port(text):
    m = re.search(r":(\d+)$", text or "")
    return int(m.group(1)) if m else None


def quantity(text, cpu=False):
    """A Kubernetes quantity as bytes (memory) or cores (cpu); None when it
    is not one the check can read."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?", str(text).strip())
    if not m:
        return None
    units = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
             "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}
    if cpu and m.group(2) not in (None, "m"):
        return None
    return float(m.group(1)) * units[m.group(2)]


def duration_seconds(text):
    """Go-style durations as SHUTDOWN_TIMEOUT takes them (120s, 2m, 1m30s)."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)", text or "")
    if not parts or "".join(a + b for a, b in parts) != text:
        return None
    return sum(float(a) * units[b] for a, b in parts)


# ------------------------------------------------------------------ #
# The checks                                                          #
# ------------------------------------------------------------------ #

class Posture:
    def __init__(self, objs, table, pending):
        self.objs = objs
        self.table = table
        self.pending = pending
        self.failures = []

    def fail(self, msg):
        if msg not in self.failures:
            self.failures.append(msg)

    def of_kind(self, kind, ns=None):
        return [o for o in self.objs if o.get("kind") == kind and (ns is None or ns_of(o) == ns)]

    def run(self):
        for name in sorted(self.pending & set(self.table)):
            self.fail(f"{name} is in src/config.c's table now: delete its line from the "
                      "pending list")
        for s in self.of_kind("Secret"):
            if s.get("data") or s.get("stringData"):
                self.fail(f"Secret {name_of(s)} ships its values in the manifests: create it "
                          "from your secret manager and drop it from the kustomization")
        deps = [o for o in self.of_kind("Deployment")
                if any(image_name(c.get("image")) == IMAGE for c in containers_of(o))]
        if len(deps) != 1:
            self.fail(f"{len(deps)} Deployments run the {IMAGE} image: the posture check "
                      "needs exactly one")
            return self.failures
        self.dep = deps[0]
        self.ns = ns_of(self.dep)
        self.spec = pod_spec(self.dep)
        self.labels = dig(self.dep, "spec", "template", "metadata", "labels", default={}) or {}
        cs = [c for c in containers_of(self.dep) if image_name(c.get("image")) == IMAGE]
        self.c = cs[0]
        self.read_env()
        self.check_env_known()
        self.check_modes()
        self.check_secrets()
        self.check_ports_and_services()
        self.check_security_context()
        self.check_probes_and_shutdown()
        self.check_resources_and_image()
        self.check_network_policies()
        self.check_disruption_and_scaling()
        return self.failures

    # -- environment ---------------------------------------------------
    def read_env(self):
        """self.env: name -> ("literal", value) | ("secret", ref) | ("configmap", ref)
        | ("other", None); self.secret_envfrom: an envFrom secretRef exists."""
        self.env = {}
        self.secret_envfrom = False
        configmaps = {name_of(o): o for o in self.of_kind("ConfigMap", self.ns)}
        for ef in self.c.get("envFrom") or []:
            prefix = ef.get("prefix", "")
            if "secretRef" in ef:
                self.secret_envfrom = True
            elif "configMapRef" in ef:
                ref = ef["configMapRef"].get("name")
                cm = configmaps.get(ref)
                if cm is None:
                    self.fail(f"envFrom ConfigMap {ref} is not in the manifests: the check "
                              "cannot see its variables; ship it or use env entries")
                    continue
                for k, v in (cm.get("data") or {}).items():
                    self.env[prefix + k] = ("configmap", f"ConfigMap {ref}", v)
        seen = set()
        for e in self.c.get("env") or []:
            n = e.get("name")
            if n in seen:
                self.fail(f"env {n} is set twice: keep one entry")
            seen.add(n)
            vf = e.get("valueFrom")
            if vf is None:
                v = e.get("value", "")
                if not isinstance(v, str):
                    # YAML reads true, 120 or 1.0 unquoted as non-strings,
                    # which the API server refuses for an env value.
                    self.fail(f"env {n} has the unquoted value {v!r}: quote it (env values "
                              "are strings)")
                self.env[n] = ("literal", None, str(v).lower() if isinstance(v, bool) else str(v))
            elif "secretKeyRef" in vf:
                self.env[n] = ("secret", f"Secret {vf['secretKeyRef'].get('name')}", None)
            elif "configMapKeyRef" in vf:
                ref = vf["configMapKeyRef"]
                cm = configmaps.get(ref.get("name"))
                val = dig(cm, "data", ref.get("key")) if cm else None
                self.env[n] = ("configmap", f"ConfigMap {ref.get('name')}", val)
            else:
                self.env[n] = ("other", None, None)

    def value(self, name):
        """The effective text of a variable: its literal or ConfigMap value,
        else the table's default; None when it comes from elsewhere."""
        src = self.env.get(name)
        if src is None:
            return dig(self.table, name, "default")
        return src[2] if src[0] in ("literal", "configmap") else None

    def check_env_known(self):
        for n in sorted(self.env):
            if n in self.table or n in ENV_OUTSIDE_TABLE or n in self.pending:
                continue
            self.fail(f"env {n} is not a variable of mcp-auth-proxy (src/config.c's table): "
                      "fix its name or remove it")

    def check_modes(self):
        for n in ("PROD_MODE", "REDIS_REQUIRED"):
            src = self.env.get(n)
            if src is None:
                self.fail(f'{n} is not set: add env {n}="true" to the proxy container')
            elif self.value(n) != "true":
                self.fail(f'{n} is not "true": set env {n}="true"')
        if "REDIS_URL" not in self.env and not (
                "REDIS_SENTINELS" in self.env and "REDIS_SENTINEL_MASTER" in self.env):
            self.fail("no Redis is configured: set REDIS_URL from a Secret, or "
                      "REDIS_SENTINELS and REDIS_SENTINEL_MASTER")

    def check_secrets(self):
        secret = {n for n, v in self.table.items() if v["secret"]}
        secret |= {n for n in self.env if SECRET_NAME_RE.search(n)}
        for n in sorted(secret):
            src = self.env.get(n)
            if src is None:
                if self.table.get(n, {}).get("required") and not self.secret_envfrom:
                    self.fail(f"{n} is not set: take it from a Secret (valueFrom.secretKeyRef)")
            elif src[0] == "literal":
                self.fail(f"{n} has a literal value in the manifests: take it from a Secret "
                          "(valueFrom.secretKeyRef)")
            elif src[0] == "configmap":
                self.fail(f"{n} comes from {src[1]}: take it from a Secret "
                          "(valueFrom.secretKeyRef)")
            elif src[0] != "secret":
                self.fail(f"{n} comes from neither a Secret nor a literal: take it from a "
                          "Secret (valueFrom.secretKeyRef)")

    # -- ports and Services ---------------------------------------------
    def target_port(self, tp):
        if isinstance(tp, int):
            return tp
        for p in self.c.get("ports") or []:
            if p.get("name") == tp:
                return p.get("containerPort")
        return tp

    def check_ports_and_services(self):
        self.public_port = addr_port(self.value("LISTEN_ADDR"))
        self.metrics_port = addr_port(self.value("METRICS_ADDR"))
        if self.public_port is None or self.metrics_port is None:
            self.fail("LISTEN_ADDR or METRICS_ADDR has no port the check can read: write "
                      "them as host:port literals")
            return
        if self.public_port == self.metrics_port:
            self.fail(f"METRICS_ADDR shares port {self.metrics_port} with LISTEN_ADDR: give "
                      "the metrics listener its own port")
        public_svcs = []
        for svc in self.of_kind("Service", self.ns):
            if not selector_matches(dig(svc, "spec", "selector", default={}) or {}, self.labels) \
                    or not dig(svc, "spec", "selector"):
                continue
            ports = dig(svc, "spec", "ports", default=[]) or []
            targets = {self.target_port(p.get("targetPort", p.get("port"))) for p in ports}
            exposed = dig(svc, "spec", "type", default="ClusterIP") in ("LoadBalancer", "NodePort")
            if self.public_port in targets or exposed:
                public_svcs.append(svc)
                if self.metrics_port in targets:
                    self.fail(f"Service {name_of(svc)} is public and exposes the metrics port "
                              f"{self.metrics_port}: remove that port (metrics have their own "
                              "ClusterIP Service)")
            if exposed and self.public_port not in targets:
                self.fail(f"Service {name_of(svc)} is of type {svc['spec']['type']}: metrics "
                          "and other ports must stay ClusterIP")
        if not any(self.public_port in {self.target_port(p.get("targetPort", p.get("port")))
                                        for p in dig(s, "spec", "ports", default=[]) or []}
                   for s in public_svcs):
            self.fail(f"no Service exposes the public port {self.public_port}: add one "
                      "(service.yaml)")
        metrics_svc_ports = set()
        for svc in self.of_kind("Service", self.ns):
            for p in dig(svc, "spec", "ports", default=[]) or []:
                if self.target_port(p.get("targetPort", p.get("port"))) == self.metrics_port:
                    metrics_svc_ports.add((name_of(svc), p.get("port"), p.get("name")))
        for ing in self.of_kind("Ingress", self.ns):
            for b in ingress_backends(ing):
                svc, port = dig(b, "service", "name"), dig(b, "service", "port") or {}
                for (sname, sport, spname) in metrics_svc_ports:
                    if svc == sname and (port.get("number") == sport
                                         or (spname and port.get("name") == spname)):
                        self.fail(f"Ingress {name_of(ing)} routes to the metrics port: route "
                                  "only the public Service's port")

    # -- pod and container security ---------------------------------------
    def check_security_context(self):
        psc = self.spec.get("securityContext") or {}
        csc = self.c.get("securityContext") or {}

        def eff(key):
            return csc[key] if key in csc else psc.get(key)
        if eff("runAsNonRoot") is not True:
            self.fail("runAsNonRoot is not true: set securityContext.runAsNonRoot: true")
        if eff("runAsUser") == 0:
            self.fail("the proxy runs as user 0 (root): set runAsUser to a non-zero id "
                      "(the image's user is 10001)")
        if csc.get("readOnlyRootFilesystem") is not True:
            self.fail("readOnlyRootFilesystem is not true: set it in the proxy container's "
                      "securityContext")
        if csc.get("allowPrivilegeEscalation") is not False:
            self.fail("allowPrivilegeEscalation is not false: set it in the proxy container's "
                      "securityContext")
        if csc.get("privileged") is True:
            self.fail("the proxy container is privileged: remove privileged: true")
        caps = csc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            self.fail('capabilities do not drop ALL: set capabilities.drop: ["ALL"]')
        if caps.get("add"):
            self.fail(f"capabilities add {caps['add']}: the proxy needs none, remove them")
        seccomp = dig(csc, "seccompProfile", "type") or dig(psc, "seccompProfile", "type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            self.fail("no seccomp profile: set securityContext.seccompProfile.type: "
                      "RuntimeDefault")
        for k in ("hostNetwork", "hostPID", "hostIPC"):
            if self.spec.get(k) is True:
                self.fail(f"{k} is true: remove it")

    def check_probes_and_shutdown(self):
        def probe(kind, path, port, port_name):
            got = dig(self.c, kind, "httpGet")
            if not got or got.get("path") != path or self.target_port(got.get("port")) != port:
                self.fail(f"{kind} is not GET {path} on the {port_name} port {port}: set "
                          f"{kind}.httpGet {{path: {path}, port: {port}}} (docs/runbook.md)")
        probe("readinessProbe", "/readyz", self.metrics_port, "metrics")
        probe("livenessProbe", "/healthz", self.public_port, "public")
        shutdown = duration_seconds(self.value("SHUTDOWN_TIMEOUT") or "")
        if shutdown is None:
            self.fail("SHUTDOWN_TIMEOUT is not a duration the check can read: write it as "
                      "a literal such as 120s")
            return
        pre = dig(self.c, "lifecycle", "preStop", "exec", "command") or []
        pre_s = float(pre[-1]) if pre and "sleep" in pre[0] and re.fullmatch(r"\d+", pre[-1]) \
            else 0.0
        grace = self.spec.get("terminationGracePeriodSeconds", 30)
        need = int(shutdown + pre_s) + 5
        if grace < need:
            self.fail(f"terminationGracePeriodSeconds {grace} does not cover SHUTDOWN_TIMEOUT "
                      f"({int(shutdown)}s) + preStop ({int(pre_s)}s): raise it to at least "
                      f"{need}")
        keys = {t.get("topologyKey") for t in self.spec.get("topologySpreadConstraints") or []}
        if "kubernetes.io/hostname" not in keys:
            self.fail("no topologySpreadConstraints on kubernetes.io/hostname: replicas may "
                      "share a node")

    # -- resources, sizing variables, image ------------------------------
    def literal_int(self, name):
        v = self.value(name)
        return int(v) if v is not None and re.fullmatch(r"\d+", v) else None

    def check_resources_and_image(self):
        res = self.c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        cpu = quantity(req["cpu"], cpu=True) if "cpu" in req else None
        if cpu is None:
            self.fail("no CPU request: set resources.requests.cpu (the HPA's utilisation and "
                      "WORKERS are sized from it)")
        mem_req = quantity(req["memory"]) if "memory" in req else None
        mem_lim = quantity(lim["memory"]) if "memory" in lim else None
        if mem_req is None:
            self.fail(f"no memory request: set resources.requests.memory to at least "
                      f"{RSS_LOADED_MIB}Mi (the measured working set, docs/kubernetes.md)")
        elif mem_req < RSS_LOADED_MIB << 20:
            self.fail(f"memory request {req['memory']} is below the measured working set: set "
                      f"at least {RSS_LOADED_MIB}Mi (docs/kubernetes.md)")
        if mem_lim is None:
            self.fail("no memory limit: set resources.limits.memory (docs/kubernetes.md "
                      "\"Resources\" says how to size it)")
        elif mem_req is not None and mem_lim < mem_req:
            self.fail(f"memory limit {lim['memory']} is below the request {req['memory']}: "
                      "raise the limit")
        conns = self.literal_int("MAX_CLIENT_CONNECTIONS")
        if not conns:
            self.fail("MAX_CLIENT_CONNECTIONS is not set: its default follows the descriptor "
                      "limit (up to 100000 connections), which no memory limit covers; set it "
                      "(the manifests use \"10000\")")
        body = self.literal_int("REQUEST_BODY_BUFFER_MAX")
        if body is None:
            self.fail("REQUEST_BODY_BUFFER_MAX is not a number the check can read: write "
                      "it as a literal count of bytes")
        if mem_lim is not None and conns and body is not None:
            need = RSS_IDLE_MIB + body / (1 << 20) + conns * RSS_PER_CONNECTION_KIB / 1024
            if mem_lim < need * (1 << 20):
                self.fail(f"memory limit {lim['memory']} does not cover {RSS_IDLE_MIB} MiB idle "
                          f"+ REQUEST_BODY_BUFFER_MAX ({body / (1 << 20):g} MiB) + "
                          f"MAX_CLIENT_CONNECTIONS x {RSS_PER_CONNECTION_KIB} KiB "
                          f"({conns * RSS_PER_CONNECTION_KIB / 1024:g} MiB): raise it to at "
                          f"least {int(-(-need // 1))}Mi or lower those variables")
        workers = self.literal_int("WORKERS")
        if workers is None:
            self.fail("WORKERS is not set: its default counts the node's CPUs, not the pod's "
                      "share; set it near the CPU request")
        elif cpu is not None and workers > max(1, -(-cpu * 2 // 1)):
            self.fail(f"WORKERS {workers} is more than twice the CPU request {req['cpu']}: "
                      "lower it, or raise the request")
        image = self.c.get("image") or ""
        tag = re.match(r"^[^@]*?(?::([^:/@]+))?(@.+)?$", image)
        if not tag.group(2) and tag.group(1) in (None, "latest"):
            self.fail(f"image {image} is not pinned: set a version tag or a digest "
                      "(kustomization images: newTag / digest)")

    # -- NetworkPolicy ---------------------------------------------------
    def np_port_covers(self, ports, port):
        if not ports:
            return True
        for p in ports:
            pp = p.get("port")
            if pp is None or self.target_port(pp) == port:
                return True
            if isinstance(pp, int) and p.get("endPort") and pp <= port <= p["endPort"]:
                return True
        return False

    def check_network_policies(self):
        mine = [p for p in self.of_kind("NetworkPolicy", self.ns)
                if selector_matches(dig(p, "spec", "podSelector", default={}) or {},
                                    self.labels)]
        isolating = [p for p in mine
                     if "Ingress" in (dig(p, "spec", "policyTypes")
                                      or ["Ingress"])]
        if not isolating:
            self.fail("no NetworkPolicy isolates the proxy's pods: add a default-deny policy "
                      "selecting them (policyTypes: [Ingress, Egress])")
            return
        for p in isolating:
            for rule in dig(p, "spec", "ingress", default=[]) or []:
                peers = rule.get("from") or []
                ports = rule.get("ports") or []
                open_all = not peers or any(is_open_peer(x) for x in peers)
                if open_all:
                    self.fail(f"NetworkPolicy {name_of(p)} admits every source: name the "
                              "ingress controller's namespace and pods in from")
                if self.np_port_covers(ports, self.public_port) and \
                        self.np_port_covers(ports, self.metrics_port):
                    self.fail(f"NetworkPolicy {name_of(p)} admits its sources to the public "
                              "and the metrics port alike: list the ports of each rule")
                elif self.np_port_covers(ports, self.metrics_port) and \
                        any("ipBlock" in x for x in peers):
                    self.fail(f"NetworkPolicy {name_of(p)} admits addresses (ipBlock) to the "
                              "metrics port: admit only the monitoring namespace")

    # -- PDB and HPA -----------------------------------------------------
    def check_disruption_and_scaling(self):
        pdbs = [p for p in self.of_kind("PodDisruptionBudget", self.ns)
                if selector_matches(dig(p, "spec", "selector"), self.labels)]
        if not pdbs:
            self.fail("no PodDisruptionBudget covers the proxy's pods: add one "
                      "(maxUnavailable: 1)")
        for p in pdbs:
            s = p.get("spec") or {}
            if s.get("maxUnavailable") in (0, "0%") or s.get("minAvailable") == "100%":
                self.fail(f"PodDisruptionBudget {name_of(p)} allows no disruption, so node "
                          "drains hang: use maxUnavailable: 1")
        hpas = [h for h in self.of_kind("HorizontalPodAutoscaler", self.ns)
                if dig(h, "spec", "scaleTargetRef", "kind") == "Deployment"
                and dig(h, "spec", "scaleTargetRef", "name") == name_of(self.dep)]
        if not hpas:
            self.fail(f"no HorizontalPodAutoscaler targets Deployment {name_of(self.dep)}: "
                      "add one (autoscaling/v2, minReplicas: 2)")
        for h in hpas:
            n = dig(h, "spec", "minReplicas", default=1)
            if n < 2:
                self.fail(f"HorizontalPodAutoscaler {name_of(h)} has minReplicas {n}: set "
                          "at least 2")
        r = dig(self.dep, "spec", "replicas")
        if r is not None and r < 2:
            self.fail(f"Deployment {name_of(self.dep)} has replicas {r}: remove the field "
                      "(the HPA owns the count) or set at least 2")


def is_open_peer(peer):
    """A NetworkPolicy peer that admits everyone: an empty peer, every
    namespace with every pod, or an ipBlock covering every address."""
    if not peer:
        return True
    if "ipBlock" in peer:
        cidr = peer["ipBlock"].get("cidr", "")
        try:
            return ipaddress.ip_network(cidr, strict=False).prefixlen == 0 and \
                not peer["ipBlock"].get("except")
        except ValueError:
            return False
    ns = peer.get("namespaceSelector")
    pod = peer.get("podSelector")
    return ns is not None and not ns and (pod is None or not pod)


def ingress_backends(ing):
    spec = ing.get("spec") or {}
    out = [spec["defaultBackend"]] if spec.get("defaultBackend") else []
    for rule in spec.get("rules") or []:
        for p in dig(rule, "http", "paths", default=[]) or []:
            if p.get("backend"):
                out.append(p["backend"])
    return out


def read_pending(path):
    if not path:
        return set()
    with open(path, encoding="utf-8") as f:
        return {ln.split("#", 1)[0].strip() for ln in f} - {""}


def main(argv):
    args = list(argv)
    pending_file = None
    render = False
    if args[:1] == ["--compare-help"] and len(args) == 2:
        diffs = compare_with_help(args[1], read_config_table())
        for d in diffs:
            print(f"k8s-posture: table parse vs --help: {d}")
        return 1 if diffs else 0
    if args[:1] == ["--render"]:
        render = True
        args = args[1:]
    if args[:1] == ["--pending"] and len(args) >= 2:
        pending_file = args[1]
        args = args[2:]
    if not args or any(a.startswith("-") for a in args):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    try:
        if render:
            for path in args:
                sys.stdout.write(yaml.safe_dump_all(load(path), sort_keys=True))
            return 0
        table = read_config_table()
        pending = read_pending(pending_file)
        bad = False
        for path in args:
            failures = Posture(load(path), table, pending).run()
            for f in failures:
                print(f"{path}: {f}")
            if not failures:
                print(f"{path}: ok")
            bad = bad or bool(failures)
        return 1 if bad else 0
    except (Unsupported, OSError) as e:
        sys.stderr.write(f"k8s-posture: {e}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
