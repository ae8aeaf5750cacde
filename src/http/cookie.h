/* http/cookie: the request Cookie header (RFC 6265 4.2.1, 5.4), read as
 * slices into the parsed head. Example line:
 *
 *   Cookie: theme=dark; __Host-mcp_consent_Ab3dE9_x=Zm9v...; sid="abc"
 *
 * Strict in what it reports: a pair is a non-empty RFC 9110 token, '=', and
 * a value of cookie-octets (optionally in one pair of double quotes, which
 * are removed). Lenient only in skipping: a pair that breaks those rules is
 * stepped over, not fatal to the line, because it is usually another
 * application's cookie on the same host and refusing the whole line would
 * lock the user out for it. Pairs are separated by ';' and any run of
 * spaces or tabs (browsers send "; "); several Cookie lines (an HTTP/2
 * front end may split them) are walked in order.
 *
 * Pure: no allocation, no I/O; results point into the input. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"

enum http_cookie_rc {
    HTTP_COOKIE_PAIR = 0, /* *out_name / *out_value set */
    HTTP_COOKIE_SKIPPED,  /* a malformed pair (or an empty one, ";;") was stepped over */
    HTTP_COOKIE_END,      /* nothing left */
    HTTP_COOKIE_RC_COUNT,
};

/* Reads the next pair from *cursor (one Cookie header value) and advances
 * it past the pair and its separator. The value excludes surrounding
 * double quotes. Outputs are set only for HTTP_COOKIE_PAIR. */
enum http_cookie_rc http_cookie_next(struct slice *cursor, struct slice *out_name,
                                     struct slice *out_value);

/* Collects the values of every well-formed cookie named exactly `name`
 * (case-sensitive, RFC 6265 5.4) over the Cookie lines, in order, at most
 * max_values of them (the rest are not reported). At most
 * BOUNDS_COOKIE_PAIRS_MAX pairs are looked at in all, well-formed or not;
 * *out_truncated (may be NULL) says the walk stopped there. Returns the
 * number of values stored. */
size_t http_cookie_find(const struct slice *lines, size_t line_count, struct slice name,
                        struct slice *out_values, size_t max_values, bool *out_truncated);
