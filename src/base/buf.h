/* struct buf: an owned, growable, always NUL-terminated byte buffer with a
 * hard maximum fixed at buf_init (curl's dynbuf).
 *
 * Appends that would pass the maximum fail and leave the buffer unchanged;
 * nothing grows without bound. Read the fields freely; change them only
 * through these functions. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/slice.h"

struct buf {
    char *ptr;    /* NULL until the first append; then NUL-terminated */
    size_t len;   /* bytes held, not counting the terminator */
    size_t alloc; /* bytes allocated */
    size_t max;   /* len never exceeds this */
};

#define BUF_WUR __attribute__((warn_unused_result))

void buf_init(struct buf *b, size_t max);
/* Frees the bytes; the buffer is empty and reusable with the same max. */
void buf_cleanup(struct buf *b);
/* Empties the buffer but keeps its allocation. */
void buf_reset(struct buf *b);

/* Makes room for extra more bytes at once: a caller that knows about how
 * much it will append saves the doublings from 64 bytes up. A hint only:
 * past max it does nothing (and returns -1), and every append still checks
 * max, so callers may ignore the result. Contents never change. */
int buf_reserve(struct buf *b, size_t extra);

/* Each append returns 0, or -1 when the result would pass max (buffer
 * unchanged). */
int buf_append_grow(struct buf *b, const void *data, size_t len) BUF_WUR;

/* The appends below run a hundred times or more per proxied request (the
 * upstream head, the header lists, the access-log line), so the case that
 * fits the allocation is inline: one compare, the copy, the terminator;
 * only growing and the max check past the allocation take the call. */
static inline BUF_WUR int
buf_append(struct buf *b, const void *data, size_t len)
{
    /* Room for the bytes and the terminator, and within max (a caller may
     * lower max below what was allocated, as the log line does). */
    if (len < b->alloc - b->len && len <= b->max - b->len) {
        if (len > 0) {
            memcpy(b->ptr + b->len, data, len);
        }
        b->len += len;
        b->ptr[b->len] = '\0';
        return 0;
    }
    return buf_append_grow(b, data, len);
}

static inline BUF_WUR int
buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

static inline BUF_WUR int
buf_append_slice(struct buf *b, struct slice s)
{
    return buf_append(b, s.ptr, s.len);
}

static inline BUF_WUR int
buf_append_byte(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}
int buf_appendf(struct buf *b, const char *fmt, ...) BUF_WUR __attribute__((format(printf, 2, 3)));
int buf_vappendf(struct buf *b, const char *fmt, va_list ap) BUF_WUR
    __attribute__((format(printf, 2, 0)));
/* Best effort, for sentences whose start is what matters (error reasons,
 * reports): appends as much of the formatted text as fits under max and
 * cuts the rest. Never fails, so callers have no result to ignore. */
void buf_appendf_best(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vappendf_best(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Appends s as the body of a JSON string (no surrounding quotes): escapes
 * quote, backslash and every control byte; other bytes pass through. */
int buf_append_json_escaped(struct buf *b, struct slice s) BUF_WUR;

/* The contents as a C string: "" when empty, never NULL. Borrowed. */
const char *buf_cstr(const struct buf *b);
struct slice buf_slice(const struct buf *b);

/* Hands the bytes to the caller (free with xfree) and empties the buffer.
 * Never NULL: an empty buffer yields an allocated "". */
char *buf_take(struct buf *b);
