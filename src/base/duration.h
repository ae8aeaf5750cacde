/* Go duration text (time.ParseDuration / Duration.String), the syntax of
 * every duration variable in SPEC.md 1.2.
 *
 * Grammar: [-+] then one or more <number><unit>, where a number is digits
 * with an optional fraction ("1.5", ".5", "5.") and a unit is ns, us, µs
 * (U+00B5 or U+03BC), ms, s, m or h: "120s", "1h30m", "2.5s", "-1m". A lone
 * "0" (optionally signed) is zero; any other number needs a unit, so "7d",
 * "10" and "" are refused. Results outside the int64 nanosecond range are
 * refused, never wrapped. Pure: no allocation, no I/O. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/slice.h"

/* Longest duration_format() text plus its NUL: "2562047h47m16.854775807s"
 * is 24 bytes; 32 leaves room. */
#define DURATION_TEXT_MAX 32

#define DURATION_NS_PER_US 1000ULL
#define DURATION_NS_PER_MS 1000000ULL
#define DURATION_NS_PER_S 1000000000ULL
#define DURATION_NS_PER_M (60ULL * DURATION_NS_PER_S)
#define DURATION_NS_PER_H (60ULL * DURATION_NS_PER_M)

/* Full Go semantics, sign included: *out_ns in [INT64_MIN, INT64_MAX].
 * False (and *out_ns untouched) on any syntax error or overflow. */
bool duration_parse_signed(struct slice text, int64_t *out_ns);

/* Same syntax, but a negative result is refused ("-0s" is zero and
 * accepted). *out_ns is at most INT64_MAX. */
bool duration_parse(struct slice text, uint64_t *out_ns);

/* Go's Duration.String for a non-negative value: "0s", "750ms", "1.5µs",
 * "2m30s", "1h0m0s". Writes a NUL-terminated string into out, which must
 * hold DURATION_TEXT_MAX bytes. duration_parse() of the text gives ns back. */
void duration_format(uint64_t ns, char out[DURATION_TEXT_MAX]);
