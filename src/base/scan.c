#include "base/scan.h"

#include <string.h>
#include <strings.h>

bool
scan_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

bool
scan_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool
scan_is_unreserved(unsigned char c)
{
    return scan_is_alpha(c) || scan_is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool
scan_byte(struct scan *s, char c)
{
    if (scan_eof(s) || *s->p != c) {
        return false;
    }
    s->p++;
    return true;
}

bool
scan_lit(struct scan *s, const char *lit)
{
    size_t n = strlen(lit);
    if (scan_left(s) < n || memcmp(s->p, lit, n) != 0) {
        return false;
    }
    s->p += n;
    return true;
}

bool
scan_lit_case(struct scan *s, const char *lit)
{
    size_t n = strlen(lit);
    if (scan_left(s) < n || strncasecmp(s->p, lit, n) != 0) {
        return false;
    }
    s->p += n;
    return true;
}

bool
scan_u64(struct scan *s, uint64_t max, uint64_t *out)
{
    const char *p = s->p;
    uint64_t v = 0;
    if (p >= s->end || !scan_is_digit((unsigned char)*p)) {
        return false;
    }
    for (; p < s->end && scan_is_digit((unsigned char)*p); p++) {
        uint64_t d = (uint64_t)(*p - '0');
        /* v * 10 + d <= max, without overflow; d > max alone would make
         * max - d wrap around and accept anything. */
        if (d > max || v > (max - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    s->p = p;
    *out = v;
    return true;
}

bool
scan_digits_n(struct scan *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (scan_left(s) < n || n == 0 || n > 19) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s->p[i];
        if (!scan_is_digit(c)) {
            return false;
        }
        v = v * 10 + (uint64_t)(c - '0');
    }
    s->p += n;
    *out = v;
    return true;
}

bool
scan_until(struct scan *s, char c, struct slice *out)
{
    const char *hit = scan_eof(s) ? NULL : memchr(s->p, c, scan_left(s));
    if (hit == NULL) {
        return false;
    }
    *out = slice_make(s->p, (size_t)(hit - s->p));
    s->p = hit;
    return true;
}

bool
scan_list_next(struct scan *s, char sep, struct slice *out)
{
    if (scan_eof(s)) {
        return false;
    }
    if (scan_until(s, sep, out)) {
        s->p++; /* the separator */
    } else {
        *out = scan_rest(s);
        s->p = s->end;
    }
    return true;
}

struct slice
scan_while(struct scan *s, bool (*accept)(unsigned char c))
{
    const char *start = s->p;
    while (s->p < s->end && accept((unsigned char)*s->p)) {
        s->p++;
    }
    return slice_make(start, (size_t)(s->p - start));
}

bool
scan_token(struct scan *s, struct slice *out)
{
    struct slice t = scan_while(s, scan_is_tchar);
    if (t.len == 0) {
        return false;
    }
    *out = t;
    return true;
}

void
scan_ows(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t')) {
        s->p++;
    }
}
