#include "log_console.h"

#include <string.h>

/* Scans one JSON value starting at *p; returns its end (one past), or NULL.
 * Strings honour backslash escapes; arrays and objects nest. */
static const char *
value_end(const char *p, const char *end)
{
    if (p >= end) {
        return NULL;
    }
    if (*p == '"') {
        for (p++; p < end; p++) {
            if (*p == '\\') {
                p++;
            } else if (*p == '"') {
                return p + 1;
            }
        }
        return NULL;
    }
    if (*p == '[' || *p == '{') {
        unsigned depth = 0;
        for (; p < end; p++) {
            if (*p == '"') {
                const char *s = value_end(p, end);
                if (s == NULL) {
                    return NULL;
                }
                p = s - 1;
            } else if (*p == '[' || *p == '{') {
                depth++;
            } else if ((*p == ']' || *p == '}') && --depth == 0) {
                return p + 1;
            }
        }
        return NULL;
    }
    while (p < end && *p != ',' && *p != '}') {
        p++;
    }
    return p;
}

/* A string value as is, without its quotes, when that reads unambiguously. */
static bool
bare_ok(struct slice inner)
{
    if (inner.len == 0) {
        return false;
    }
    for (size_t i = 0; i < inner.len; i++) {
        char c = inner.ptr[i];
        if (c == ' ' || c == '"' || c == '=' || c == '\\') {
            return false;
        }
    }
    return true;
}

static int
append_value(struct buf *out, struct slice v)
{
    if (v.len >= 2 && v.ptr[0] == '"' && bare_ok(slice_make(v.ptr + 1, v.len - 2))) {
        return buf_append(out, v.ptr + 1, v.len - 2);
    }
    return buf_append_slice(out, v);
}

/* The inside of a string value with no escapes (the time, the level). */
static bool
plain_string(struct slice v, struct slice *inner)
{
    if (v.len < 2 || v.ptr[0] != '"' || v.ptr[v.len - 1] != '"' ||
        memchr(v.ptr, '\\', v.len) != NULL) {
        return false;
    }
    *inner = slice_make(v.ptr + 1, v.len - 2);
    return true;
}

static int
append_level(struct buf *out, struct slice level)
{
    char up[8];
    size_t n = level.len < 5 ? level.len : 5;
    for (size_t i = 0; i < n; i++) {
        char c = level.ptr[i];
        up[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    while (n < 5) {
        up[n++] = ' ';
    }
    return buf_append(out, up, 5);
}

static int
convert(struct slice json, struct buf *out)
{
    const char *p = json.ptr;
    const char *end = json.ptr + json.len;
    while (end > p && (end[-1] == '\n' || end[-1] == '\r')) {
        end--;
    }
    if (p >= end || *p != '{' || end[-1] != '}') {
        return -1;
    }
    end--; /* the closing brace */
    p++;
    unsigned index = 0;
    while (p < end) {
        if (index > 0) {
            if (*p != ',') {
                return -1;
            }
            p++;
        }
        const char *k_end = value_end(p, end);
        if (k_end == NULL || *p != '"' || k_end >= end || *k_end != ':') {
            return -1;
        }
        struct slice key = slice_make(p + 1, (size_t)(k_end - p - 2));
        p = k_end + 1;
        const char *v_end = value_end(p, end);
        if (v_end == NULL) {
            return -1;
        }
        struct slice v = slice_make(p, (size_t)(v_end - p));
        p = v_end;
        struct slice inner;
        int rc;
        /* log.c writes time, level and msg first, in that order. */
        if (index == 0) {
            rc = slice_eq_cstr(key, "time") && plain_string(v, &inner)
                     ? buf_append_slice(out, inner)
                     : -1;
        } else if (index == 1) {
            rc = slice_eq_cstr(key, "level") && plain_string(v, &inner)
                     ? buf_append_byte(out, ' ') || append_level(out, inner)
                     : -1;
        } else if (index == 2) {
            rc = slice_eq_cstr(key, "msg") ? buf_append_byte(out, ' ') || append_value(out, v) : -1;
        } else {
            rc = buf_append_byte(out, ' ') || buf_append_slice(out, key) ||
                 buf_append_byte(out, '=') || append_value(out, v);
        }
        if (rc != 0) {
            return -1;
        }
        index++;
    }
    return index >= 3 ? buf_append_byte(out, '\n') : -1;
}

int
log_console_format(struct slice json, struct buf *out)
{
    size_t mark = out->len;
    if (convert(json, out) != 0) {
        out->len = mark;
        if (out->ptr != NULL) {
            out->ptr[mark] = '\0';
        }
        return -1;
    }
    return 0;
}
