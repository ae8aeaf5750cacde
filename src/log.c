#include "log.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/rfc3339.h"

static const char *const level_names[LOG_LEVEL_COUNT] = {
    [LOG_DEBUG] = "debug",
    [LOG_INFO] = "info",
    [LOG_WARN] = "warn",
    [LOG_ERROR] = "error",
};

static _Atomic int min_level = LOG_INFO;
static _Atomic int out_fd = STDOUT_FILENO;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

const char *
log_level_str(enum log_level level)
{
    return level < LOG_LEVEL_COUNT ? level_names[level] : "unknown";
}

bool
log_level_parse(const char *text, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } table[] = {
        { "debug", LOG_DEBUG }, { "info", LOG_INFO },    { "warn", LOG_WARN },
        { "error", LOG_ERROR }, { "dpanic", LOG_ERROR }, { "panic", LOG_ERROR },
        { "fatal", LOG_ERROR },
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcasecmp(text, table[i].name) == 0) {
            *out = table[i].level;
            return true;
        }
    }
    return false;
}

void
log_set_level(enum log_level level)
{
    atomic_store(&min_level, (int)level);
}

bool
log_enabled(enum log_level level)
{
    return (int)level >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

void
log_set_fd(int fd)
{
    atomic_store(&out_fd, fd);
}

/* Drops a partly written field: the line ends at the last whole field. */
static void
field_fail(struct log_line *l, size_t mark)
{
    l->truncated = true;
    l->b.len = mark;
    l->b.ptr[mark] = '\0';
}

/* Appends `,"key":` + value; on overflow marks the line truncated and drops
 * the whole field so the line stays valid JSON. */
static bool
field_start(struct log_line *l, const char *key, size_t *mark)
{
    if (!l->on || l->truncated) {
        return false;
    }
    *mark = l->b.len;
    if (buf_append_str(&l->b, ",\"") != 0 ||
        buf_append_json_escaped(&l->b, slice_from_cstr(key)) != 0 ||
        buf_append_str(&l->b, "\":") != 0) {
        field_fail(l, *mark);
        return false;
    }
    return true;
}

void
log_begin(struct log_line *l, enum log_level level, const char *msg)
{
    l->on = log_enabled(level);
    l->truncated = false;
    if (!l->on) {
        return;
    }
    /* Room for the closing fields is kept back from the cap. */
    buf_init(&l->b, LOG_LINE_MAX - 32);
    char ts[RFC3339_MS_LEN + 1];
    rfc3339_format_ms(clock_unix_ms(), ts);
    /* The prefix is far below the cap. A msg that does not fit is left out
     * whole (escaping is all or nothing) and the quote is still closed, so
     * the line stays valid JSON with "truncated":true. */
    if (buf_appendf(&l->b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts,
                    log_level_str(level)) != 0) {
        buf_cleanup(&l->b);
        l->on = false;
        return;
    }
    if (buf_append_json_escaped(&l->b, slice_from_cstr(msg)) != 0) {
        l->truncated = true;
    }
    if (buf_append_byte(&l->b, '"') != 0) {
        buf_cleanup(&l->b);
        l->on = false;
    }
}

void
log_slice(struct log_line *l, const char *key, struct slice value)
{
    size_t mark;
    if (!field_start(l, key, &mark)) {
        return;
    }
    if (buf_append_byte(&l->b, '"') != 0 || buf_append_json_escaped(&l->b, value) != 0 ||
        buf_append_byte(&l->b, '"') != 0) {
        field_fail(l, mark);
    }
}

void
log_str(struct log_line *l, const char *key, const char *value)
{
    log_slice(l, key, slice_from_cstr(value));
}

void
log_sample(struct log_line *l, const char *key, struct slice value)
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
    log_slice(l, key, slice_make(clean, n));
}

void
log_int(struct log_line *l, const char *key, int64_t value)
{
    size_t mark;
    if (field_start(l, key, &mark) && buf_appendf(&l->b, "%lld", (long long)value) != 0) {
        field_fail(l, mark);
    }
}

void
log_uint(struct log_line *l, const char *key, uint64_t value)
{
    size_t mark;
    if (field_start(l, key, &mark) &&
        buf_appendf(&l->b, "%llu", (unsigned long long)value) != 0) {
        field_fail(l, mark);
    }
}

void
log_bool(struct log_line *l, const char *key, bool value)
{
    size_t mark;
    if (field_start(l, key, &mark) && buf_append_str(&l->b, value ? "true" : "false") != 0) {
        field_fail(l, mark);
    }
}

void
log_double(struct log_line *l, const char *key, double value)
{
    size_t mark;
    if (!field_start(l, key, &mark)) {
        return;
    }
    /* JSON has no NaN or infinity ("%f" would print the bare word nan and
     * break the line); write them as strings, as zap does. */
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
log_raw_json(struct log_line *l, const char *key, struct slice json)
{
    size_t mark;
    if (field_start(l, key, &mark) && buf_append_slice(&l->b, json) != 0) {
        field_fail(l, mark);
    }
}

void
log_end(struct log_line *l)
{
    if (!l->on) {
        return;
    }
    /* The cap held back 32 bytes, so the closing always fits. */
    l->b.max = LOG_LINE_MAX;
    int rc = l->truncated ? buf_append_str(&l->b, ",\"truncated\":true") : 0;
    rc |= buf_append_str(&l->b, "}\n");
    if (rc != 0 || l->b.ptr == NULL) {
        buf_cleanup(&l->b);
        l->on = false;
        return; /* cannot happen: the 32 bytes held back always fit */
    }
    const char *p = l->b.ptr;
    size_t left = l->b.len;
    int fd = atomic_load_explicit(&out_fd, memory_order_relaxed);
    /* One write(2) per line is not enough on its own: a pipe only keeps
     * writes of up to PIPE_BUF (4 KiB) whole, a partial write continues in
     * a second call, and some files (memfd) have no atomic file position.
     * The lock keeps each line whole within this process. */
    pthread_mutex_lock(&write_lock);
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break; /* Nowhere to report a failed log write; drop the line. */
        }
        p += n;
        left -= (size_t)n;
    }
    pthread_mutex_unlock(&write_lock);
    buf_cleanup(&l->b);
    l->on = false;
}

void
log_event(enum log_level level, const char *msg)
{
    struct log_line l;
    log_begin(&l, level, msg);
    log_end(&l);
}
