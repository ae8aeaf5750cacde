#include "oidc/form.h"

#include <jansson.h>

#include "base/scan.h"
#include "base/xalloc.h"

int
oidc_form_escape(struct buf *b, struct slice value)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < value.len; i++) {
        unsigned char c = (unsigned char)value.ptr[i];
        int rc;
        if (scan_is_unreserved(c)) {
            rc = buf_append_byte(b, (char)c);
        } else if (c == ' ') {
            rc = buf_append_byte(b, '+');
        } else {
            char esc[3] = { '%', hex[c >> 4], hex[c & 0x0f] };
            rc = buf_append(b, esc, sizeof(esc));
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

int
oidc_form_append(struct buf *b, const char *key, struct slice value)
{
    if ((b->len > 0 && buf_append_byte(b, '&') != 0) ||
        oidc_form_escape(b, slice_from_cstr(key)) != 0 || buf_append_byte(b, '=') != 0 ||
        oidc_form_escape(b, value) != 0) {
        return -1;
    }
    return 0;
}

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes one component into out (at least in.len bytes); returns the
 * decoded length, or -1 for a bad escape or a NUL. */
static long
unescape(struct slice in, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.ptr[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (in.len - i < 3) {
                return -1;
            }
            int hi = hex_value((unsigned char)in.ptr[i + 1]);
            int lo = hex_value((unsigned char)in.ptr[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0') {
            return -1;
        }
        out[n++] = (char)c;
    }
    return (long)n;
}

static int
add_pair(json_t *obj, struct slice pair)
{
    long eq = slice_find_byte(pair, '=');
    struct slice key = eq < 0 ? pair : slice_make(pair.ptr, (size_t)eq);
    struct slice val = eq < 0 ? SLICE_NULL : slice_skip(pair, (size_t)eq + 1);
    char *k = xmalloc(key.len + 1);
    char *v = xmalloc(val.len + 1);
    int rc = -1;
    long klen = unescape(key, k);
    long vlen = unescape(val, v);
    if (klen < 0 || vlen < 0) {
        goto out;
    }
    k[klen] = '\0';
    json_t *s = json_stringn(v, (size_t)vlen);
    if (s == NULL) {
        goto out; /* not UTF-8 */
    }
    /* First occurrence wins (url.Values.Get); keys are UTF-8 checked too. */
    if (json_object_get(obj, k) != NULL) {
        json_decref(s);
        rc = 0;
        goto out;
    }
    rc = json_object_set_new(obj, k, s) == 0 ? 0 : -1;
out:
    xfree(k);
    xfree(v);
    return rc;
}

int
oidc_form_to_json(struct slice text, struct json_t **out)
{
    json_t *obj = json_object();
    struct scan sc = scan_init(text);
    while (!scan_eof(&sc)) {
        struct slice pair;
        if (!scan_until(&sc, '&', &pair)) {
            pair = scan_rest(&sc);
            sc.p = sc.end;
        } else {
            (void)scan_byte(&sc, '&');
        }
        if (pair.len == 0) {
            continue;
        }
        if (add_pair(obj, pair) != 0) {
            json_decref(obj);
            return -1;
        }
    }
    *out = obj;
    return 0;
}
