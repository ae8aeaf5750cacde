#include "http/trace.h"

#include <stdint.h>
#include <string.h>

#include "base/hex.h"
#include "base/rand.h"
#include "bounds.h"

static bool
is_lower_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* n lowercase hex digits at p, not all '0'. *all_zero reports the latter. */
static bool
hex_run(const char *p, size_t n, bool *all_zero)
{
    *all_zero = true;
    for (size_t i = 0; i < n; i++) {
        if (!is_lower_hex((unsigned char)p[i])) {
            return false;
        }
        if (p[i] != '0') {
            *all_zero = false;
        }
    }
    return true;
}

const char *
http_trace_parse_traceparent(struct slice v, char out[HTTP_TRACEPARENT_LEN + 1])
{
    const char *p = v.ptr;
    bool zero;
    if (v.len < HTTP_TRACEPARENT_LEN) {
        return "traceparent is shorter than 55 characters";
    }
    if (!hex_run(p, 2, &zero)) {
        return "traceparent version is not two lowercase hex digits";
    }
    if (p[0] == 'f' && p[1] == 'f') {
        return "traceparent version ff is invalid";
    }
    /* Version 00 is exactly 55 characters; a later version may append
     * fields after another '-', which a version-00 reader ignores. */
    bool v00 = p[0] == '0' && p[1] == '0';
    if (v00 ? v.len != HTTP_TRACEPARENT_LEN
            : (v.len > HTTP_TRACEPARENT_LEN && p[HTTP_TRACEPARENT_LEN] != '-')) {
        return "traceparent has trailing characters";
    }
    if (p[2] != '-' || p[35] != '-' || p[52] != '-') {
        return "traceparent fields are not separated by '-'";
    }
    if (!hex_run(p + 3, 32, &zero)) {
        return "trace-id is not 32 lowercase hex digits";
    }
    if (zero) {
        return "trace-id is all zeros";
    }
    if (!hex_run(p + 36, 16, &zero)) {
        return "parent-id is not 16 lowercase hex digits";
    }
    if (zero) {
        return "parent-id is all zeros";
    }
    if (!hex_run(p + 53, 2, &zero)) {
        return "trace-flags is not two lowercase hex digits";
    }
    memcpy(out, p, HTTP_TRACEPARENT_LEN);
    out[0] = '0';
    out[1] = '0';
    out[HTTP_TRACEPARENT_LEN] = '\0';
    return NULL;
}

void
http_trace_generate(char out[HTTP_TRACEPARENT_LEN + 1])
{
    uint8_t r[24];
    do {
        rand_pool_bytes(r, sizeof(r));
        /* All-zero ids are invalid; 2^-64 and 2^-128, but cheap to rule out. */
    } while (memcmp(r, (const uint8_t[24]){0}, 16) == 0 ||
             memcmp(r + 16, (const uint8_t[8]){0}, 8) == 0);
    char hex[49];
    hex_encode(r, sizeof(r), hex);
    memcpy(out, "00-", 3);
    memcpy(out + 3, hex, 32);
    out[35] = '-';
    memcpy(out + 36, hex + 32, 16);
    memcpy(out + 52, "-01", 3);
    out[HTTP_TRACEPARENT_LEN] = '\0';
}

static bool
is_lcalpha(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

static bool
is_key_char(unsigned char c)
{
    return is_lcalpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/';
}

/* key = simple-key / tenant-id "@" system-id (Trace Context 3.3.1.3.1). */
static const char *
check_key(struct slice k)
{
    if (k.len == 0) {
        return "tracestate member has an empty key";
    }
    long at = slice_find_byte(k, '@');
    if (at < 0) {
        if (k.len > 256 || !is_lcalpha((unsigned char)k.ptr[0])) {
            return "tracestate key is not a simple key";
        }
    } else if (at == 0 || at > 241 || k.len - (size_t)at - 1 == 0 || k.len - (size_t)at - 1 > 14 ||
               !is_lcalpha((unsigned char)k.ptr[at + 1])) {
        return "tracestate key is not a multi-tenant key";
    }
    for (size_t i = 0; i < k.len; i++) {
        if ((long)i != at && !is_key_char((unsigned char)k.ptr[i])) {
            return "tracestate key has a character outside [a-z0-9_*/-]";
        }
    }
    return NULL;
}

/* value = 0*255(chr) nblk-chr; chr = SP / nblk-chr; nblk-chr is printable
 * ASCII except ',' and '='. */
static const char *
check_value(struct slice v)
{
    if (v.len == 0 || v.len > 256 || v.ptr[v.len - 1] == ' ') {
        return "tracestate value is empty, too long or ends in a space";
    }
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=') {
            return "tracestate value has a character outside its set";
        }
    }
    return NULL;
}

const char *
http_trace_check_tracestate(struct slice value, size_t *members)
{
    *members = 0;
    if (value.len > BOUNDS_TRACESTATE_MAX) {
        return "tracestate is longer than 512 bytes";
    }
    struct slice rest = value;
    for (;;) {
        long comma = slice_find_byte(rest, ',');
        struct slice m = comma < 0 ? rest : slice_make(rest.ptr, (size_t)comma);
        /* OWS around members: spaces and tabs. */
        m = slice_trim_ows(m);
        if (m.len > 0) {
            long eq = slice_find_byte(m, '=');
            if (eq < 0) {
                return "tracestate member has no '='";
            }
            const char *why = check_key(slice_make(m.ptr, (size_t)eq));
            if (why == NULL) {
                why = check_value(slice_make(m.ptr + eq + 1, m.len - (size_t)eq - 1));
            }
            if (why != NULL) {
                return why;
            }
            if (++*members > BOUNDS_TRACESTATE_MEMBERS_MAX) {
                return "tracestate has more than 32 members";
            }
        }
        if (comma < 0) {
            return NULL;
        }
        rest = slice_make(rest.ptr + comma + 1, rest.len - (size_t)comma - 1);
    }
}

void
http_trace_from_fields(const struct slice *values, size_t n, struct http_trace *out)
{
    /* Two traceparent lines are ambiguous: neither is trusted. */
    out->incoming = n == 1 && http_trace_parse_traceparent(values[0], out->traceparent) == NULL;
    if (!out->incoming) {
        http_trace_generate(out->traceparent);
    }
}

struct slice
http_trace_id(const struct http_trace *t)
{
    return slice_make(t->traceparent + 3, HTTP_TRACE_ID_LEN);
}
