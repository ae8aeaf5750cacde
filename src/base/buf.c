#include "base/buf.h"

#include <stdio.h>
#include <string.h>

#include "base/swar.h"
#include "base/xalloc.h"

void
buf_init(struct buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->alloc = 0;
    b->max = max;
}

void
buf_cleanup(struct buf *b)
{
    xfree(b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->alloc = 0;
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->ptr != NULL) {
        b->ptr[0] = '\0';
    }
}

/* Makes room for `extra` more bytes plus the terminator, or fails at max. */
static int
reserve(struct buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra) {
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->alloc) {
        return 0;
    }
    size_t grown = b->alloc ? b->alloc : 64;
    while (grown < need) {
        grown *= 2;
    }
    if (grown > b->max + 1) {
        grown = b->max + 1;
    }
    b->ptr = xrealloc(b->ptr, grown);
    b->alloc = grown;
    return 0;
}

int
buf_reserve(struct buf *b, size_t extra)
{
    return reserve(b, extra);
}

int
buf_append_grow(struct buf *b, const void *data, size_t len)
{
    if (reserve(b, len) != 0) {
        return -1;
    }
    if (len > 0) {
        memcpy(b->ptr + b->len, data, len);
    }
    b->len += len;
    b->ptr[b->len] = '\0';
    return 0;
}

int
buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
    va_list probe;
    va_copy(probe, ap);
    int n = vsnprintf(NULL, 0, fmt, probe);
    va_end(probe);
    if (n < 0 || reserve(b, (size_t)n) != 0) {
        return -1;
    }
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int
buf_appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void
buf_vappendf_best(struct buf *b, const char *fmt, va_list ap)
{
    va_list probe;
    va_copy(probe, ap);
    int n = vsnprintf(NULL, 0, fmt, probe);
    va_end(probe);
    size_t room = b->max - b->len;
    size_t take = n < 0 ? 0 : (size_t)n < room ? (size_t)n : room;
    if (take == 0 || reserve(b, take) != 0) {
        return;
    }
    /* vsnprintf writes take bytes and the terminator, cutting the rest. */
    vsnprintf(b->ptr + b->len, take + 1, fmt, ap);
    b->len += take;
}

void
buf_appendf_best(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf_best(b, fmt, ap);
    va_end(ap);
}

/* Bytes that buf_append_json_escaped() cannot copy as they are: quote,
 * backslash, the C0 controls and DEL -- a table, since the log line runs
 * every byte of its values through it (32 to a row). */
static const unsigned char json_escaped_byte[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static bool
json_needs_escape(unsigned char c)
{
    return json_escaped_byte[c] != 0;
}

/* How many bytes from p on need no escaping: whole words while no byte of
 * the word needs it, then byte by byte. Log values and JSON replies are
 * mostly such runs. */
static size_t
json_plain_run(const char *p, size_t n)
{
    size_t i = 0;
    /* Short strings (most log values and keys) go byte by byte: a word
     * test costs more than it saves below two words. */
    for (; n >= 16 && n - i >= 8; i += 8) {
        uint64_t w = swar_load(p + i);
        if (swar_has_below(w, 0x20) || swar_has_byte(w, '"') || swar_has_byte(w, '\\') ||
            swar_has_byte(w, 0x7f)) {
            break;
        }
    }
    while (i < n && !json_needs_escape((unsigned char)p[i])) {
        i++;
    }
    return i;
}

/* Copies each run of plain bytes whole and escapes the byte that ends it;
 * the log line and the JSON replies spend most of their bytes in runs. */
int
buf_append_json_escaped(struct buf *b, struct slice s)
{
    static const char hexdig[] = "0123456789abcdef";
    size_t start_len = b->len;
    size_t i = 0;
    while (i < s.len) {
        size_t run = i + json_plain_run(s.ptr + i, s.len - i);
        if (run > i && buf_append(b, s.ptr + i, run - i) != 0) {
            goto fail;
        }
        if (run == s.len) {
            break;
        }
        unsigned char c = (unsigned char)s.ptr[run];
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t n = 2;
        if (c == '\n') {
            esc[1] = 'n';
        } else if (c == '\r') {
            esc[1] = 'r';
        } else if (c == '\t') {
            esc[1] = 't';
        } else if (c != '"' && c != '\\') {
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hexdig[c >> 4];
            esc[5] = hexdig[c & 0xf];
            n = 6;
        }
        if (buf_append(b, esc, n) != 0) {
            goto fail;
        }
        i = run + 1;
    }
    return 0;
fail:
    /* All or nothing: roll back a partial string. */
    b->len = start_len;
    if (b->ptr != NULL) {
        b->ptr[b->len] = '\0';
    }
    return -1;
}

const char *
buf_cstr(const struct buf *b)
{
    return b->ptr ? b->ptr : "";
}

struct slice
buf_slice(const struct buf *b)
{
    return slice_make(buf_cstr(b), b->len);
}

char *
buf_take(struct buf *b)
{
    char *p = b->ptr ? b->ptr : xstrdup("");
    b->ptr = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}
