#!/bin/sh
# Instructions per request added by UPSTREAM_IDENTITY_ASSERTION (signing
# one ES256 assertion and appending its header), with callgrind: 1001 and
# 1 requests' header blocks with and without it (bench/identity-sign.c).
# Uses the library in build/ (OpenSSL is the system's either way).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${BENCH_DIR:-$(mktemp -d)}
# llhttp's SSE4.2 build (meson.build) exists on x86-64 only.
sse42=""
[ "$(uname -m)" = x86_64 ] && sse42=libllhttp_sse42.a
ninja -C build src/libmap.a libllhttp.a $sse42 >/dev/null
libs=$(pkg-config --libs libevent_core libevent_extra libevent_openssl libevent_pthreads \
  libcurl libssl libcrypto jansson cjose hiredis libpcre2-8 libidn2)
# shellcheck disable=SC2086
cc -std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc -Ibuild \
  -o "$out/identity-sign" bench/identity-sign.c build/src/libmap.a build/libllhttp.a ${sse42:+build/$sse42} $libs \
  -lunistring -lm -lpthread
count() {
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1.${2:-on}" "$out/identity-sign" "$@" \
    2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
on1=$(count 1)
on1001=$(count 1001)
off1=$(count 1 off)
off1001=$(count 1001 off)
echo "header block with the assertion: $(( (on1001 - on1) / 1000 )) instructions per request"
echo "header block without it:         $(( (off1001 - off1) / 1000 )) instructions per request"
echo "added by UPSTREAM_IDENTITY_ASSERTION: $(( ((on1001 - on1) - (off1001 - off1)) / 1000 )) per request"
echo "(callgrind files in $out: callgrind_annotate --inclusive=yes $out/cg.1001.on)"
