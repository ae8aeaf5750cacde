#!/usr/bin/env python3
"""The container's runtime packages against the libraries the binary links.

    scripts/check-image-libs.py [--dockerfile FILE] [BINARY]

BINARY defaults to build/src/mcp-auth-proxy (build it as deploy/Dockerfile
does: meson setup --buildtype=release -Db_ndebug=false). FILE defaults to
deploy/Dockerfile. The packages of its last stage's `apt-get install` are
compared with what the binary needs on this Debian 12 machine, which is
what the image's build stage is:

  1. every library the binary names itself (ELF NEEDED, read with objdump)
     comes from a package the runtime stage lists by name (libc6 excepted:
     it is in every Debian image), so no library arrives only by luck of
     another package's dependencies;
  2. every listed package but ca-certificates provides such a library, so
     the image carries nothing the binary no longer links;
  3. every library `ldd` shows (the whole load-time closure) belongs to a
     package in the Depends closure of the listed ones, read from dpkg's
     database (offline), so apt-get brings it into the image.

One line per failure, "check-image-libs: what to fix"; exit 1 on any, 2
when it cannot run (no binary, no objdump, a library dpkg does not know),
0 with a summary line when the two agree. tests/k8s/run.sh runs it in CI.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Packages the runtime stage installs for something other than a linked
# library: the CA bundle OpenSSL and libcurl read for HTTPS.
NOT_LIBRARIES = {"ca-certificates"}
# In debian:12-slim already (every binary links it).
IN_BASE_IMAGE = {"libc6"}


class CannotRun(Exception):
    pass


def run(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        raise CannotRun(f"{' '.join(argv)}: {e}")


def runtime_packages(dockerfile):
    """The package names of the last stage's `apt-get install`."""
    with open(dockerfile, encoding="utf-8") as f:
        text = f.read()
    # Join continuation lines, drop comments, keep the last stage.
    lines = []
    for ln in text.splitlines():
        if ln.lstrip().startswith("#"):
            continue
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + ln.strip()
        else:
            lines.append(ln.strip())
    stages = [i for i, ln in enumerate(lines) if re.match(r"(?i)^FROM\s", ln)]
    if not stages:
        raise CannotRun(f"{dockerfile}: no FROM line")
    pkgs = []
    for ln in lines[stages[-1]:]:
        if not re.match(r"(?i)^RUN\s", ln):
            continue
        for cmd in re.split(r"&&|;", ln[3:]):
            words = cmd.split()
            if "apt-get" in words and "install" in words:
                after = words[words.index("install") + 1:]
                pkgs += [w for w in after if not w.startswith("-") and "=" not in w[:1]]
    if not pkgs:
        raise CannotRun(f"{dockerfile}: the last stage has no `apt-get install`")
    return pkgs


def packages_of(paths):
    """{path: Debian package that ships it}, from one `dpkg -S` over the
    path ldd printed and the forms usrmerge makes equal (/lib vs /usr/lib,
    the file a symlink resolves to)."""
    forms = {}
    for path in paths:
        cands = {path, os.path.realpath(path)}
        for c in list(cands):
            cands.add("/usr" + c if c.startswith("/lib") else c[4:] if c.startswith("/usr/lib") else c)
        for c in cands:
            forms.setdefault(c, set()).add(path)
    try:
        out = subprocess.run(["dpkg", "-S"] + sorted(forms), capture_output=True, text=True,
                             timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CannotRun(f"dpkg -S: {e}")
    found = {}
    for line in out.splitlines():
        m = re.match(r"^([^:,\s]+)(?::[a-z0-9]+)?: (/\S+)$", line)
        if m and m.group(2) in forms:
            for path in forms[m.group(2)]:
                found.setdefault(path, m.group(1))
    missing = sorted(set(paths) - set(found))
    if missing:
        raise CannotRun(f"dpkg -S knows no package for {', '.join(missing)}")
    return found


def linked_libraries(binary):
    """({soname: path} of every library ldd shows, set of NEEDED sonames)."""
    needed = set(re.findall(r"^\s*NEEDED\s+(\S+)", run(["objdump", "-p", binary]), re.M))
    paths = {}
    for line in run(["ldd", binary]).splitlines():
        m = re.match(r"^\s*(\S+)\s+=>\s+(/\S+)", line)
        if m:
            paths[m.group(1)] = m.group(2)
        m = re.match(r"^\s*(/\S+ld-linux[^\s]*)\s", line)
        if m:
            paths[os.path.basename(m.group(1))] = m.group(1)
        if "not found" in line:
            raise CannotRun(f"ldd {binary}: {line.strip()}")
    missing = [n for n in needed if n not in paths]
    if missing:
        raise CannotRun(f"ldd {binary} does not resolve {', '.join(sorted(missing))}")
    return paths, needed


def depends_closure(roots):
    """Installed packages reachable from ROOTS through Depends and
    Pre-Depends in dpkg's database (the first installed alternative)."""
    installed = {}
    out = run(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\t${Pre-Depends}, ${Depends}\t${Provides}\n"])
    provides = {}
    for line in out.splitlines():
        name, status, deps, prov = (line.split("\t") + ["", "", ""])[:4]
        if not status.startswith("ii"):
            continue
        installed[name] = deps
        for p in prov.split(","):
            p = p.strip().split(" ")[0]
            if p:
                provides.setdefault(p, name)
    seen, todo = set(), list(roots)
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        for clause in installed.get(pkg, "").split(","):
            for alt in clause.split("|"):
                name = alt.strip().split(" ")[0].split(":")[0]
                if not name:
                    continue
                name = name if name in installed else provides.get(name, "")
                if name:
                    todo.append(name)
                    break
    return seen, set(installed)


def check(dockerfile, binary):
    listed = runtime_packages(dockerfile)
    paths, needed = linked_libraries(binary)
    by_path = packages_of(set(paths.values()))
    pkg_of = {so: by_path[p] for so, p in paths.items()}
    direct = {pkg_of[so] for so in needed}
    failures = []
    for so in sorted(needed):
        p = pkg_of[so]
        if p not in listed and p not in IN_BASE_IMAGE:
            failures.append(f"{binary} links {so} from package {p}, which {dockerfile}'s "
                            f"runtime stage does not install: add {p} to its apt-get install")
    for p in listed:
        if p not in direct and p not in NOT_LIBRARIES:
            failures.append(f"{dockerfile}'s runtime stage installs {p}, which provides no "
                            f"library {binary} links: remove it (or say in this script why "
                            "it is needed)")
    closure, installed = depends_closure([p for p in listed if p])
    missing_here = [p for p in listed if p not in installed]
    for p in missing_here:
        failures.append(f"{dockerfile} installs {p}, which is not installed on this build "
                        "machine, so its dependencies cannot be checked: a misspelt name?")
    for so in sorted(paths):
        p = pkg_of[so]
        if p not in closure and p not in IN_BASE_IMAGE and not missing_here:
            failures.append(f"ldd shows {so} (package {p}), which no runtime package depends "
                            f"on: add {p} to {dockerfile}'s runtime apt-get install")
    return failures, listed, paths, direct


def main(argv):
    args = list(argv)
    dockerfile = os.path.join(ROOT, "deploy", "Dockerfile")
    if args[:1] == ["--dockerfile"] and len(args) >= 2:
        dockerfile, args = args[1], args[2:]
    if len(args) > 1 or any(a.startswith("-") for a in args):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    binary = args[0] if args else os.path.join(ROOT, "build", "src", "mcp-auth-proxy")
    try:
        if not os.access(binary, os.X_OK):
            raise CannotRun(f"no executable at {binary}: build it first")
        failures, listed, paths, direct = check(dockerfile, binary)
    except (CannotRun, OSError) as e:
        print(f"check-image-libs: {e}")
        return 2
    for f in failures:
        print(f"check-image-libs: {f}")
    if failures:
        return 1
    print(f"check-image-libs: ok: {len(listed)} runtime packages cover the {len(direct)} "
          f"packages of the libraries the binary links and all {len(paths)} libraries ldd shows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
