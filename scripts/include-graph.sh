#!/usr/bin/env bash
# The include graph between modules of src/, one line per edge, "from ->
# to: count" (a folder is a module; each top-level file is "top:<name>"),
# then the total. For comparing the tree before and after a restructuring;
# the rule itself is the floors check in scripts/check-style.sh.
#   scripts/include-graph.sh [repository]
set -uo pipefail
cd "${1:-$(dirname "$0")/..}"
git ls-files 'src/*.c' 'src/*.h' 'src/**/*.c' 'src/**/*.h' | sort -u | while read -r f; do
  rel=${f#src/}
  case "$rel" in */*) from=${rel%%/*} ;; *) from="top:${rel%.[ch]}" ;; esac
  grep -oE '^#include "[^"]+"' "$f" | sed -E 's/^#include "(.*)"/\1/' | while read -r inc; do
    case "$inc" in */*) to=${inc%%/*} ;; *) to="top:${inc%.[ch]}" ;; esac
    [ "$from" != "$to" ] && echo "$from -> $to"
  done
done | sort | uniq -c | awk '{n+=$1; printf "%s %s %s: %d\n", $2, $3, $4, $1} END {print "total cross-module include lines: " n}'
