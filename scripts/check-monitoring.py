#!/usr/bin/env python3
"""Checks deploy/'s Grafana dashboard and Prometheus alert rules.

    scripts/check-monitoring.py                      the shipped files
    scripts/check-monitoring.py [--rules FILE]... [--dashboard FILE]...

1. Every metric name in a dashboard's `expr` fields (and the metric of a
   `label_values(metric, label)` template query) and in a rules file's
   `expr:` values must be a family of docs/metrics.md (the first cell of its
   table rows, `name` | type | ...). A histogram's `_bucket`, `_sum` and
   `_count` series count as their family. Each unknown name prints one line
   "FILE: unknown metric NAME (not a family in docs/metrics.md)".
2. `promtool check rules FILE` for every rules file, and for each dashboard
   a temporary rules file holding its expressions as recording rules (so
   promtool parses every dashboard query; Grafana's `$__rate_interval`
   becomes 5m and other `$variables` `.*`), when promtool is installed
   (Debian's `prometheus` package). Without it the check says so
   and passes, unless CI_REQUIRE_PROMTOOL=1.

Standard library only: the rules' YAML is read just far enough to find
`expr:` values (plain, quoted or block scalars); promtool parses it fully.
Exit status 1 on any failure, 0 otherwise.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CATALOG = os.path.join(ROOT, "docs", "metrics.md")
DEFAULT_RULES = [os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")]
DEFAULT_DASHBOARDS = [os.path.join(ROOT, "deploy", "grafana", "mcp-auth-proxy.json")]

FAMILY_ROW = re.compile(r"^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|\s*(counter|gauge|histogram|summary)\s*\|")
IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")

# PromQL words that are not metric names when they are not followed by "(":
# aggregation operators (`sum by (x) (...)`), set/binary keywords, modifiers.
KEYWORDS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile",
    "and", "or", "unless", "by", "without", "on", "ignoring",
    "group_left", "group_right", "offset", "bool", "atan2",
    "inf", "nan", "start", "end",
}


def catalog_families(path):
    fams = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = FAMILY_ROW.match(line)
            if m:
                fams[m.group(1)] = m.group(2)
    return fams


def metric_names(expr):
    """The metric names an expression selects, in order of appearance."""
    s = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', " ", expr)
    s = re.sub(r"#[^\n]*", " ", s)                      # comments
    s = re.sub(r"\{[^}]*\}", " ", s)                    # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)                   # ranges, subqueries
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r" \1 ", s)
    s = re.sub(r"\boffset\s+-?[0-9a-zA-Z_$]+", " ", s)  # offset 5m
    s = re.sub(r"\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*", " ", s)  # Grafana variables
    s = re.sub(r"(?<![a-zA-Z0-9_:])[0-9][0-9a-zA-Z_.+-]*", " ", s)  # numbers, durations
    names = []
    for m in IDENT.finditer(s):
        word = m.group(0)
        rest = s[m.end():].lstrip()
        if rest.startswith("("):
            continue  # a function or an aggregation: rate(, histogram_quantile(, sum(
        if word.lower() in KEYWORDS:
            continue
        names.append(word)
    return names


def family_of(name, fams):
    if name in fams:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and fams.get(base) == "histogram":
            return base
    return None


def rules_exprs(path):
    """`expr:` values of a rules file, from plain, quoted and block scalars."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    exprs = []
    key = re.compile(r"^(\s*)(?:-\s+)?expr:\s*(.*)$")
    i = 0
    while i < len(lines):
        m = key.match(lines[i])
        i += 1
        if not m:
            continue
        indent, value = len(m.group(1)), m.group(2).strip()
        if value[:1] in ("|", ">"):
            block = []
            while i < len(lines) and (not lines[i].strip() or
                                      len(lines[i]) - len(lines[i].lstrip()) > indent):
                block.append(lines[i])
                i += 1
            exprs.append("\n".join(block))
        elif value[:1] in ('"', "'"):
            exprs.append(value[1:-1].replace('\\"', '"'))
        else:
            exprs.append(value)
    return exprs


def dashboard_exprs(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "expr" and isinstance(v, str):
                    exprs.append(v)
                elif k in ("query", "definition") and isinstance(v, str):
                    m = re.match(r"\s*label_values\(\s*([^,)]+)", v)
                    if m and "," in v:
                        exprs.append(m.group(1))
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return exprs


def check_names(path, exprs, fams):
    failures = 0
    seen = set()
    for expr in exprs:
        for name in metric_names(expr):
            if name in seen:
                continue
            seen.add(name)
            if family_of(name, fams) is None:
                print(f"{os.path.relpath(path, ROOT)}: unknown metric {name} (not a family in docs/metrics.md)")
                failures += 1
    return failures, len(seen), len(exprs)


def dashboard_as_rules(exprs):
    """A rules file with each dashboard expression as a recording rule."""
    out = ["groups:", "  - name: dashboard", "    rules:"]
    for i, expr in enumerate(exprs):
        e = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
        e = re.sub(r"\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*", ".*", e)
        out.append(f"      - record: dashboard:query_{i}")
        out.append("        expr: " + json.dumps(e))  # a JSON string is a YAML string
    return "\n".join(out) + "\n"


def run_promtool(path, rel=None):
    promtool = shutil.which("promtool")
    rel = rel or os.path.relpath(path, ROOT)
    if promtool is None:
        if os.environ.get("CI_REQUIRE_PROMTOOL") == "1":
            print(f"{rel}: promtool not installed and CI_REQUIRE_PROMTOOL=1 (install Debian's prometheus package)")
            return 1
        print(f"{rel}: promtool not installed, rules syntax not checked")
        return 0
    proc = subprocess.run([promtool, "check", "rules", path],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in filter(None, proc.stdout.splitlines()):
        print(f"  promtool: {line}")
    if proc.returncode != 0:
        print(f"{rel}: promtool check rules failed (exit {proc.returncode})")
        return 1
    return 0


def main(argv):
    rules, dashboards = [], []
    it = iter(argv)
    for arg in it:
        if arg in ("--rules", "--dashboard"):
            value = next(it, None)
            if value is None:
                print(f"{arg} needs a file", file=sys.stderr)
                return 2
            (rules if arg == "--rules" else dashboards).append(os.path.abspath(value))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if not rules and not dashboards:
        rules, dashboards = DEFAULT_RULES, DEFAULT_DASHBOARDS
    fams = catalog_families(CATALOG)
    if not fams:
        print("docs/metrics.md: no family rows found")
        return 1
    failures = 0
    for path, reader in [(p, dashboard_exprs) for p in dashboards] + [(p, rules_exprs) for p in rules]:
        try:
            exprs = reader(path)
        except (OSError, ValueError) as e:
            print(f"{os.path.relpath(path, ROOT)}: cannot read: {e}")
            failures += 1
            continue
        if not exprs:
            print(f"{os.path.relpath(path, ROOT)}: no expr found")
            failures += 1
            continue
        bad, names, count = check_names(path, exprs, fams)
        failures += bad
        if not bad:
            print(f"{os.path.relpath(path, ROOT)}: {count} expressions, {names} metric names, all in docs/metrics.md")
    for path in rules:
        failures += run_promtool(path)
    for path in dashboards:
        try:
            exprs = dashboard_exprs(path)
        except (OSError, ValueError):
            continue  # reported above
        with tempfile.NamedTemporaryFile("w", suffix=".yml", encoding="utf-8") as tmp:
            tmp.write(dashboard_as_rules(exprs))
            tmp.flush()
            failures += run_promtool(tmp.name, os.path.relpath(path, ROOT) + " (queries as rules)")
    print("monitoring check: " + ("ok" if failures == 0 else f"{failures} failure(s)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
