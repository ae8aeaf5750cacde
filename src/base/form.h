/* application/x-www-form-urlencoded: decoding of URL query strings and form
 * bodies, and the encoding used to build redirect and IdP URLs (SPEC.md
 * 3.0.6, 3.0.7, 3.3.2).
 *
 * Pure: no I/O, no libevent. Decoding keeps every pair, duplicates included
 * and in order, so a handler can refuse a repeated singleton parameter.
 * Decoded names and values never contain a NUL byte: "%00" (or a raw NUL)
 * is treated like a bad percent-escape, so every decoded string is also a
 * safe C string and nothing downstream can be truncated by it.
 *
 * In base/ (it was http/query) because it is vocabulary, not HTTP/1
 * machinery: oauth/ and oidc/ use it on query strings, bodies and URLs
 * they build, and it needs nothing but base/. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/slice.h"

enum form_mode {
    /* URL query (/authorize, /callback): a pair with a ';' or a bad escape
     * is dropped silently, the rest is kept [Go-ism, SPEC.md 3.0.7]. */
    FORM_MODE_QUERY,
    /* Form body (/token, /consent): the same decoding, but one bad pair
     * fails the whole parse ("malformed form body"). */
    FORM_MODE_BODY,
};

enum form_rc {
    FORM_OK = 0,
    FORM_ERR_MALFORMED, /* body mode only: ';', bad escape or NUL in a pair */
    FORM_ERR_TOO_MANY,  /* a pair past params_max kept ones (both modes) */
    FORM_RC_COUNT,
};

struct form_param {
    struct slice name;  /* decoded; NUL-terminated, no interior NUL */
    struct slice value; /* decoded; NUL-terminated, no interior NUL */
};

/* Read items[0..count) freely, in input order; change only through these
 * functions. */
struct form_params {
    struct form_param *items;
    size_t count;
    char *bytes; /* owns the decoded text the slices point into */
};

/* Decodes raw ("a=1&b=x+y&b=%7E"): pairs split on '&', name and value on the
 * first '=', '+' is a space, "%HH" a byte. Empty segments ("a=1&&b=2") are
 * skipped; "a" alone is name "a" with an empty value; "=v" has an empty
 * name. At most params_max pairs are kept (the caller's cap,
 * BOUNDS_QUERY_PARAMS_MAX): one more non-empty segment is FORM_ERR_TOO_MANY.
 * On FORM_OK *out owns its memory (release with form_params_cleanup); on
 * failure *out is zeroed and needs no cleanup. The result does not point
 * into raw. */
enum form_rc form_parse(struct slice raw, enum form_mode mode, size_t params_max,
                        struct form_params *out) __attribute__((warn_unused_result));
/* Releases the pairs; the struct is then empty and reusable. NULL-safe. */
void form_params_cleanup(struct form_params *p);
/* Stable names for logs: "ok", "malformed", "too_many". */
const char *form_rc_str(enum form_rc rc);

/* The first value of name, or "" when it is absent (never NULL; borrowed
 * from p). *out_count (may be NULL) receives how many times it occurred,
 * so "present but empty" (count 1, value "") and "absent" (count 0) differ. */
const char *form_params_get(const struct form_params *p, const char *name, size_t *out_count);
/* The first of names[0..n) that occurs more than once, or NULL (SPEC.md
 * 3.0.6: "<name> must not be repeated"). Borrowed from names. */
const char *form_params_find_repeated(const struct form_params *p, const char *const *names,
                                      size_t n);

/* Whether a Content-Type header value names the form media type: the part
 * before any ';', without surrounding spaces, equals
 * application/x-www-form-urlencoded ASCII case-insensitively (parameters
 * such as charset are allowed). NULL (header absent) gives false. */
bool form_is_content_type(const char *content_type);

/* Appends s escaped as one form component, the way Go's url.QueryEscape
 * does: A-Z a-z 0-9 '-' '_' '.' '~' as is, space as '+', every other byte
 * as "%HH" (upper-case hex). Returns 0, or -1 at b's cap (b unchanged). */
int form_append_escaped(struct buf *b, struct slice s) __attribute__((warn_unused_result));
/* Appends "name=value", both escaped as above, preceded by '&' unless b is
 * empty or already ends in '?' or '&'. Returns 0, or -1 at b's cap (b
 * unchanged). */
int form_append_encoded(struct buf *b, struct slice name, struct slice value)
    __attribute__((warn_unused_result));
