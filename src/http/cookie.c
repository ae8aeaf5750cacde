#include "http/cookie.h"

#include "base/scan.h"
#include "bounds.h"

/* RFC 6265 4.1.1: cookie-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B /
 * %x5D-7E -- visible ASCII except DQUOTE, ',', ';' and '\'. */
static bool
is_cookie_octet(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

static bool
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool
all_cookie_octets(struct slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (!is_cookie_octet((unsigned char)s.ptr[i])) {
            return false;
        }
    }
    return true;
}

/* name=value with the rules of the header comment; false when malformed. */
static bool
split_pair(struct slice pair, struct slice *out_name, struct slice *out_value)
{
    long eq = slice_find_byte(pair, '=');
    if (eq <= 0) {
        return false; /* no '=' (RFC 6265 5.2 would ignore it too), or no name */
    }
    struct slice name = slice_make(pair.ptr, (size_t)eq);
    for (size_t i = 0; i < name.len; i++) {
        if (!scan_is_tchar((unsigned char)name.ptr[i])) {
            return false;
        }
    }
    struct slice value = slice_skip(pair, (size_t)eq + 1);
    if (value.len > 0 && value.ptr[0] == '"') {
        if (value.len < 2 || value.ptr[value.len - 1] != '"') {
            return false;
        }
        value = slice_make(value.ptr + 1, value.len - 2);
    }
    if (!all_cookie_octets(value)) {
        return false;
    }
    *out_name = name;
    *out_value = value;
    return true;
}

enum http_cookie_rc
http_cookie_next(struct slice *cursor, struct slice *out_name, struct slice *out_value)
{
    if (cursor->len == 0) {
        return HTTP_COOKIE_END; /* also keeps NULL + 0 out of the arithmetic */
    }
    const char *p = cursor->ptr;
    const char *end = cursor->ptr + cursor->len;
    while (p < end && is_ows(*p)) {
        p++;
    }
    if (p == end) {
        *cursor = slice_make(end, 0);
        return HTTP_COOKIE_END;
    }
    const char *start = p;
    while (p < end && *p != ';') {
        p++;
    }
    const char *stop = p;
    while (stop > start && is_ows(stop[-1])) {
        stop--;
    }
    /* Step past the ';' now, so a malformed pair never stalls the walk. */
    *cursor = p < end ? slice_make(p + 1, (size_t)(end - p - 1)) : slice_make(end, 0);
    struct slice name, value;
    if (!split_pair(slice_make(start, (size_t)(stop - start)), &name, &value)) {
        return HTTP_COOKIE_SKIPPED;
    }
    *out_name = name;
    *out_value = value;
    return HTTP_COOKIE_PAIR;
}

size_t
http_cookie_find(const struct slice *lines, size_t line_count, struct slice name,
                 struct slice *out_values, size_t max_values, bool *out_truncated)
{
    size_t found = 0;
    size_t seen = 0;
    bool truncated = false;
    for (size_t i = 0; i < line_count && !truncated; i++) {
        struct slice cursor = lines[i];
        for (;;) {
            struct slice n, v;
            enum http_cookie_rc rc = http_cookie_next(&cursor, &n, &v);
            if (rc == HTTP_COOKIE_END) {
                break;
            }
            if (++seen > BOUNDS_COOKIE_PAIRS_MAX) {
                truncated = true;
                break;
            }
            if (rc == HTTP_COOKIE_PAIR && found < max_values && slice_eq(n, name)) {
                out_values[found++] = v;
            }
        }
    }
    if (out_truncated != NULL) {
        *out_truncated = truncated;
    }
    return found;
}
