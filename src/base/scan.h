/* Bounded cursor scanners (curl's strparse).
 *
 * A struct scan is a cursor over a slice. Every scanner either consumes
 * what it matched and returns true, or returns false and leaves the cursor
 * where it was; numbers take a maximum and never overflow. Parsers are
 * short chains of these calls instead of strtol/sscanf (which are banned). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

struct scan {
    const char *p;
    const char *end;
};

static inline struct scan
scan_init(struct slice s)
{
    return (struct scan){.p = s.ptr, .end = s.ptr + s.len};
}

static inline bool
scan_eof(const struct scan *s)
{
    return s->p >= s->end;
}

static inline size_t
scan_left(const struct scan *s)
{
    return (size_t)(s->end - s->p);
}

/* What is left, as a slice (the cursor does not move). */
static inline struct slice
scan_rest(const struct scan *s)
{
    return slice_make(s->p, scan_left(s));
}

/* Next byte without consuming it, or -1 at the end. */
static inline int
scan_peek(const struct scan *s)
{
    return scan_eof(s) ? -1 : (unsigned char)*s->p;
}

/* Consumes one byte equal to c. */
bool scan_byte(struct scan *s, char c);
/* Consumes the exact bytes of lit. */
bool scan_lit(struct scan *s, const char *lit);
/* Same, ASCII case-insensitively. */
bool scan_lit_case(struct scan *s, const char *lit);
/* One or more decimal digits, value <= max. Leading zeros are accepted. */
bool scan_u64(struct scan *s, uint64_t max, uint64_t *out);
/* Exactly n decimal digits (for fixed-width fields such as dates). */
bool scan_digits_n(struct scan *s, size_t n, uint64_t *out);
/* Up to (not including) the first byte c; fails when c does not occur.
 * The delimiter is not consumed. */
bool scan_until(struct scan *s, char c, struct slice *out);
/* The next element of a list separated by sep: the bytes up to the next
 * sep (which is consumed) or to the end. False only at the end. Elements
 * come untrimmed, empty ones included; a trailing sep ends the list.
 *   while (scan_list_next(&s, ',', &elem)) { ... }                      */
bool scan_list_next(struct scan *s, char sep, struct slice *out);
/* The longest run (possibly empty) of bytes for which accept() is true. */
struct slice scan_while(struct scan *s, bool (*accept)(unsigned char c));
/* One or more RFC 9110 tchar bytes (a header name or method). */
bool scan_token(struct scan *s, struct slice *out);
/* Skips spaces and tabs; never fails. */
void scan_ows(struct scan *s);

/* Character classes shared by parsers. */
bool scan_is_digit(unsigned char c);
bool scan_is_alpha(unsigned char c);
/* RFC 9110 5.6.2 tchar: ALPHA, DIGIT and !#$%&'*+-.^_`|~, as a bitmap of
 * the 128 ASCII codes; inline, since every byte of every field name of
 * every request goes through it. */
static inline bool
scan_is_tchar(unsigned char c)
{
    static const uint64_t map[2] = {0x03ff6cfa00000000u, 0x57ffffffc7fffffeu};
    return c < 128 && ((map[c >> 6] >> (c & 63)) & 1u) != 0;
}
/* RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
bool scan_is_unreserved(unsigned char c);
