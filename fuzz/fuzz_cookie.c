/* Fuzz target: the request Cookie header (http/cookie.h) and the browser
 * binding checks built on it (oauth/binding.h). The input is split at '\n'
 * into Cookie lines (several lines are legal on the wire).
 *
 * Properties: the walk of a line always ends, each step moves the cursor
 * forward and inside the line; every reported pair has a non-empty token
 * name and a value of cookie-octets, both inside the input; the find
 * reports no more than asked, only pairs of that exact name, and in the
 * order the walk sees them; the binding check accepts only the secret that
 * hashes to the flow's bh, and copies out exactly that; the request-site
 * rule on the same bytes as Origin / Sec-Fetch-Site never crashes and
 * never accepts an Origin other than the base's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/scan.h"
#include "bounds.h"
#include "http/cookie.h"
#include "oauth/binding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINES_MAX 64
#define BASE "https://auth.example.com"
/* RFC 7636 Appendix B: a binding secret and its hash. */
#define SECRET "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define HASH "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static bool
inside(struct slice part, struct slice whole)
{
    return part.len == 0 || (part.ptr >= whole.ptr && part.ptr + part.len <= whole.ptr + whole.len);
}

static void
check_pair(struct slice name, struct slice value, struct slice line)
{
    if (name.len == 0 || !inside(name, line) || !inside(value, line)) {
        abort();
    }
    for (size_t i = 0; i < name.len; i++) {
        if (!scan_is_tchar((unsigned char)name.ptr[i])) {
            abort();
        }
    }
    for (size_t i = 0; i < value.len; i++) {
        unsigned char c = (unsigned char)value.ptr[i];
        if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\') {
            abort();
        }
    }
}

/* Walks one line; returns the number of steps (pairs and skips). */
static size_t
walk(struct slice line, struct slice want, size_t *out_want_count)
{
    struct slice cursor = line;
    size_t steps = 0;
    for (;;) {
        size_t before = cursor.len;
        struct slice name, value;
        enum http_cookie_rc rc = http_cookie_next(&cursor, &name, &value);
        if (rc == HTTP_COOKIE_END) {
            if (cursor.len != 0) {
                abort();
            }
            return steps;
        }
        if (cursor.len >= before || !inside(cursor, line)) {
            abort(); /* no progress, or the cursor left the line */
        }
        steps++;
        if (rc == HTTP_COOKIE_PAIR) {
            check_pair(name, value, line);
            if (slice_eq(name, want)) {
                (*out_want_count)++;
            }
        } else if (rc != HTTP_COOKIE_SKIPPED) {
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slice in = slice_make((const char *)data, size);
    struct slice lines[LINES_MAX];
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size && n < LINES_MAX; i++) {
        if (i == size || data[i] == '\n') {
            lines[n++] = slice_make(in.ptr + start, i - start);
            start = i + 1;
        }
    }

    /* The walk, and a find that must agree with it. */
    const struct slice want = slice_from_cstr("__Host-mcp_consent_E9Melhoa");
    size_t steps = 0, want_count = 0;
    for (size_t i = 0; i < n; i++) {
        steps += walk(lines[i], want, &want_count);
    }
    struct slice values[BOUNDS_COOKIE_SAME_NAME_MAX];
    bool truncated = false;
    size_t found =
        http_cookie_find(lines, n, want, values, BOUNDS_COOKIE_SAME_NAME_MAX, &truncated);
    if (found > BOUNDS_COOKIE_SAME_NAME_MAX || truncated != (steps > BOUNDS_COOKIE_PAIRS_MAX)) {
        abort();
    }
    if (!truncated &&
        found !=
            (want_count < BOUNDS_COOKIE_SAME_NAME_MAX ? want_count : BOUNDS_COOKIE_SAME_NAME_MAX)) {
        abort();
    }

    /* The binding: OK only with the secret itself. */
    for (int secure = 0; secure < 2; secure++) {
        char got[OAUTH_BINDING_SECRET_LEN + 1] = "";
        enum oauth_binding_rc rc =
            oauth_binding_check(OAUTH_BINDING_COOKIE_CONSENT, HASH, secure, lines, n, got);
        if (rc == OAUTH_BINDING_OK && strcmp(got, SECRET) != 0) {
            abort();
        }
        if (rc == OAUTH_BINDING_OK && secure == 1 && found == 0) {
            abort(); /* accepted without the cookie being there */
        }
        if (rc >= OAUTH_BINDING_RC_COUNT || rc == OAUTH_BINDING_ERR_UNBOUND) {
            abort();
        }
    }

    /* The same bytes as Origin and Sec-Fetch-Site lines. */
    enum oauth_binding_site_rc src = oauth_binding_check_site(BASE, lines, n, lines, n);
    if (src == OAUTH_BINDING_SITE_OK) {
        for (size_t i = 0; i < n; i++) {
            struct slice o = slice_trim_ows(lines[i]);
            if (!slice_case_eq_cstr(o, BASE)) {
                abort();
            }
        }
    }
    return 0;
}
