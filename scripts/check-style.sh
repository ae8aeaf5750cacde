#!/usr/bin/env bash
# Rules clang-format cannot express (STYLE.md 3.12): banned calls, the base/
# layering rule, comment style, and file/function length warnings. Exits
# non-zero on a violation; length findings are warnings only.
set -uo pipefail
cd "$(dirname "$0")/.."

fail=0
report() { echo "check-style: $*"; fail=1; }
# Source with comments and string literals blanked, line numbers kept.
strip_comments() {
  perl -0777 -pe 's{/\*.*?\*/}{ (my $c = $&) =~ s/[^\n]//g; $c }gse; s{"(?:\\.|[^"\\\n])*"}{""}g; s{//[^\n]*}{}g' "$1"
}

c_files=$(git ls-files 'src/*.c' 'src/*.h' 'src/**/*.c' 'src/**/*.h' 'fuzz/*.c' 'tests/unit/*.c' 'tests/unit/**/*.c' 2>/dev/null | sort -u)
[ -z "$c_files" ] && c_files=$(find src fuzz tests/unit -name '*.[ch]' | sort)

# 1. Banned functions (curl's list, STYLE.md 3.7): unbounded copies and
#    libc number parsers. Matched as calls, outside comments and strings.
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtol|strtoul|strtoll|strtoull|strtod|sscanf|strtok|strncpy|strncat|tmpnam|asctime|ctime|gmtime|localtime)[[:space:]]*\('
for f in $c_files; do
  hits=$(strip_comments "$f" | grep -nE "$banned" || true)
  if [ -n "$hits" ]; then
    while IFS= read -r h; do report "$f:${h%%:*}: banned call: $(echo "${h#*:}" | grep -oE "$banned" | head -1)"; done <<< "$hits"
  fi
done

# 2. base/ knows nothing above it: it includes only base/ headers and
#    system/library headers.
for f in $(echo "$c_files" | grep '^src/base/'); do
  bad=$(grep -nE '^#include "' "$f" | grep -vE '#include "base/' || true)
  [ -n "$bad" ] && report "$f: base/ must include only base/ headers: $bad"
done

# 2b. net/ sits just above base/: the upstream pool, the Redis client and
#     anything else that connects use it, so it may not know any of them.
for f in $(echo "$c_files" | grep '^src/net/'); do
  #     bounds.h is allowed: constants only, and every cap lives there.
  bad=$(grep -nE '^#include "' "$f" | grep -vE '#include "((base|net)/|bounds\.h")' || true)
  [ -n "$bad" ] && report "$f: net/ must include only base/ and net/ headers: $bad"
done

# 3. Pure modules do no I/O: no libevent, curl multi, or store.
for f in src/seal.c src/grants.c src/oauth/redirect_uri.c src/oauth/pkce.c src/http/client_ip.c src/oauth/resource.c; do
  [ -f "$f" ] || continue
  bad=$(grep -nE '#include [<"](event2/|curl/curl.h|store/|worker.h)' "$f" || true)
  [ -n "$bad" ] && report "$f: pure module must not include I/O headers: $bad"
done

# 4. Third-party headers stay in their one home (STYLE.md 3.2).
for f in $c_files; do
  case "$f" in src/oidc/*|src/base/xalloc.c|fuzz/*|tests/*) ;; *)
    grep -qE '#include <cjose/' "$f" && report "$f: cjose is included only in src/oidc/";;
  esac
  case "$f" in src/store/redis*.c|fuzz/*|tests/*) ;; *)
    grep -qE '#include <hiredis' "$f" && report "$f: hiredis is included only in src/store/redis*.c";;
  esac
  case "$f" in src/fetch.c|src/base/url.c|src/oidc/*|fuzz/*|tests/*) ;; *)
    grep -qE '#include <curl/' "$f" && report "$f: curl is included only in fetch.c and base/url.c";;
  esac
done
for f in $(echo "$c_files" | grep -E '^src/.*\.h$'); do
  grep -qE '#include <(jansson|cjose/|hiredis|curl/|event2/|llhttp|openssl/)' "$f" &&
    report "$f: headers forward-declare library types instead of including them"
done

# 5. Committed comments use /* */; // marks temporary debugging.
for f in $c_files; do
  hits=$(sed -e 's/"[^"]*"//g' "$f" | grep -nE '(^|[^:"])//' | grep -vE 'https?://|[a-z]+://' || true)
  [ -n "$hits" ] && report "$f: '//' comment (use /* */): $(echo "$hits" | head -1)"
done

# 6. Every header has #pragma once.
for f in $(echo "$c_files" | grep '\.h$'); do
  grep -q '^#pragma once' "$f" || report "$f: missing #pragma once"
done

# 7. Length warnings (not failures): files past 800 lines, functions past 80.
for f in $(echo "$c_files" | grep '^src/.*\.c$'); do
  n=$(wc -l < "$f")
  [ "$n" -gt 800 ] && echo "check-style: warning: $f has $n lines (split past ~800)"
  awk -v f="$f" '
    /^[a-z_][a-z0-9_]*\(/ { name=$1; sub(/\(.*/, "", name); start=NR }
    /^\{/ { if (start) open=NR }
    /^\}/ { if (open && NR-open > 80) printf "check-style: warning: %s: %s is %d lines\n", f, name, NR-open; open=0; start=0 }
  ' "$f"
done

if [ "$fail" -ne 0 ]; then
  echo "check-style: FAILED"
  exit 1
fi
echo "check-style: ok"
