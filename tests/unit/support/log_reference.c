#include "log_reference.h"

#include <math.h>
#include <stdio.h>

#include "log.h"

/* ---- verbatim from src/base/buf.c before issue 13 ---- */

int
log_reference_json_escaped(struct buf *b, struct slice s)
{
    static const char hexdig[] = "0123456789abcdef";
    size_t start_len = b->len;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        int rc;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            rc = buf_append(b, esc, 2);
        } else if (c == '\n') {
            rc = buf_append(b, "\\n", 2);
        } else if (c == '\r') {
            rc = buf_append(b, "\\r", 2);
        } else if (c == '\t') {
            rc = buf_append(b, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[6] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 0xf]};
            rc = buf_append(b, esc, 6);
        } else {
            rc = buf_append(b, &s.ptr[i], 1);
        }
        if (rc != 0) {
            /* All or nothing: roll back a partial escape sequence. */
            b->len = start_len;
            if (b->ptr != NULL) {
                b->ptr[b->len] = '\0';
            }
            return -1;
        }
    }
    return 0;
}

/* ---- from src/log.c before issue 13; the time text is passed in ---- */

static void
field_fail(struct log_reference_line *l, size_t mark)
{
    l->truncated = true;
    l->b.len = mark;
    l->b.ptr[mark] = '\0';
}

static bool
field_start(struct log_reference_line *l, const char *key, size_t *mark)
{
    if (!l->on || l->truncated) {
        return false;
    }
    *mark = l->b.len;
    if (buf_append_str(&l->b, ",\"") != 0 ||
        log_reference_json_escaped(&l->b, slice_from_cstr(key)) != 0 ||
        buf_append_str(&l->b, "\":") != 0) {
        field_fail(l, *mark);
        return false;
    }
    return true;
}

void
log_reference_begin(struct log_reference_line *l, const char *time, const char *level,
                    const char *msg)
{
    l->on = true;
    l->truncated = false;
    buf_init(&l->b, LOG_LINE_MAX - 32);
    if (buf_appendf(&l->b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", time, level) != 0) {
        buf_cleanup(&l->b);
        l->on = false;
        return;
    }
    if (log_reference_json_escaped(&l->b, slice_from_cstr(msg)) != 0) {
        l->truncated = true;
    }
    if (buf_append_byte(&l->b, '"') != 0) {
        buf_cleanup(&l->b);
        l->on = false;
    }
}

void
log_reference_slice(struct log_reference_line *l, const char *key, struct slice value)
{
    size_t mark;
    if (!field_start(l, key, &mark)) {
        return;
    }
    if (buf_append_byte(&l->b, '"') != 0 || log_reference_json_escaped(&l->b, value) != 0 ||
        buf_append_byte(&l->b, '"') != 0) {
        field_fail(l, mark);
    }
}

void
log_reference_sample(struct log_reference_line *l, const char *key, struct slice value)
{
    char clean[LOG_SAMPLE_MAX + 3];
    size_t n = value.len < LOG_SAMPLE_MAX ? value.len : LOG_SAMPLE_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)value.ptr[i];
        clean[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (value.len > n) {
        clean[n++] = '.';
        clean[n++] = '.';
    }
    log_reference_slice(l, key, slice_make(clean, n));
}

void
log_reference_int(struct log_reference_line *l, const char *key, int64_t value)
{
    size_t mark;
    if (field_start(l, key, &mark) && buf_appendf(&l->b, "%lld", (long long)value) != 0) {
        field_fail(l, mark);
    }
}

void
log_reference_uint(struct log_reference_line *l, const char *key, uint64_t value)
{
    size_t mark;
    if (field_start(l, key, &mark) && buf_appendf(&l->b, "%llu", (unsigned long long)value) != 0) {
        field_fail(l, mark);
    }
}

void
log_reference_bool(struct log_reference_line *l, const char *key, bool value)
{
    size_t mark;
    if (field_start(l, key, &mark) && buf_append_str(&l->b, value ? "true" : "false") != 0) {
        field_fail(l, mark);
    }
}

void
log_reference_double(struct log_reference_line *l, const char *key, double value)
{
    size_t mark;
    if (!field_start(l, key, &mark)) {
        return;
    }
    int rc;
    if (isnan(value)) {
        rc = buf_append_str(&l->b, "\"NaN\"");
    } else if (isinf(value)) {
        rc = buf_append_str(&l->b, value > 0 ? "\"+Inf\"" : "\"-Inf\"");
    } else {
        rc = buf_appendf(&l->b, "%.6f", value);
    }
    if (rc != 0) {
        field_fail(l, mark);
    }
}

void
log_reference_raw_json(struct log_reference_line *l, const char *key, struct slice json)
{
    size_t mark;
    if (field_start(l, key, &mark) && buf_append_slice(&l->b, json) != 0) {
        field_fail(l, mark);
    }
}

struct slice
log_reference_close(struct log_reference_line *l)
{
    if (!l->on) {
        return SLICE_NULL;
    }
    l->b.max = LOG_LINE_MAX;
    int rc = l->truncated ? buf_append_str(&l->b, ",\"truncated\":true") : 0;
    rc |= buf_append_str(&l->b, "}\n");
    return rc == 0 && l->b.ptr != NULL ? buf_slice(&l->b) : SLICE_NULL;
}

void
log_reference_cleanup(struct log_reference_line *l)
{
    buf_cleanup(&l->b);
    l->on = false;
}
