#include "log.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/decimal.h"
#include "base/rfc3339.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "log_console.h"
#include "metrics.h"

static const char *const level_names[LOG_LEVEL_COUNT] = {
    [LOG_DEBUG] = "debug",
    [LOG_INFO] = "info",
    [LOG_WARN] = "warn",
    [LOG_ERROR] = "error",
};

static _Atomic int min_level = LOG_INFO;
static _Atomic int out_fd = STDOUT_FILENO;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
struct log_buffer;
static _Thread_local struct log_buffer *own_buffer; /* see log_thread_attach */

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
        {"debug", LOG_DEBUG},  {"info", LOG_INFO},   {"warn", LOG_WARN},   {"error", LOG_ERROR},
        {"dpanic", LOG_ERROR}, {"panic", LOG_ERROR}, {"fatal", LOG_ERROR},
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

/* A key byte JSON takes as it is: printable ASCII but quote and backslash. */
static bool
plain_key_byte(char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
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
    /* Keys are literals in the code, nearly always short and plain: then
     * `,"key":` goes in as one append; any other key is escaped. */
    char prefix[40];
    size_t klen = 0;
    while (key[klen] != '\0' && klen < sizeof(prefix) - 4 && plain_key_byte(key[klen])) {
        prefix[2 + klen] = key[klen];
        klen++;
    }
    if (key[klen] == '\0') {
        prefix[0] = ',';
        prefix[1] = '"';
        prefix[2 + klen] = '"';
        prefix[3 + klen] = ':';
        if (buf_append(&l->b, prefix, klen + 4) != 0) {
            field_fail(l, *mark);
            return false;
        }
        return true;
    }
    if (buf_append_str(&l->b, ",\"") != 0 ||
        buf_append_json_escaped(&l->b, slice_from_cstr(key)) != 0 ||
        buf_append_str(&l->b, "\":") != 0) {
        field_fail(l, *mark);
        return false;
    }
    return true;
}

/* "YYYY-MM-DDTHH:MM:SS." of the second last formatted on this thread: a
 * busy thread logs many lines per second and formats the date once. */
static _Thread_local int64_t time_cached_s = INT64_MIN;
static _Thread_local char time_cached[RFC3339_MS_LEN + 1];

void
log_format_time(int64_t unix_ms, char *out)
{
    int64_t s = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
    unsigned ms = (unsigned)(unix_ms - s * 1000);
    if (s != time_cached_s) {
        rfc3339_format_ms(s * 1000, time_cached);
        time_cached_s = s;
    }
    memcpy(out, time_cached, RFC3339_MS_LEN - 4); /* up to and with the '.' */
    out[RFC3339_MS_LEN - 4] = (char)('0' + ms / 100);
    out[RFC3339_MS_LEN - 3] = (char)('0' + ms / 10 % 10);
    out[RFC3339_MS_LEN - 2] = (char)('0' + ms % 10);
    out[RFC3339_MS_LEN - 1] = 'Z';
    out[RFC3339_MS_LEN] = '\0';
}

/* One line buffer per attached thread (log_thread_attach: the workers),
 * reused: a line costs no malloc once the thread has logged a line of its
 * size. A line begun while the buffer is taken (a line built inside
 * another) and lines of other threads get a buffer of their own;
 * log_thread_detach frees it, so no thread leaves one behind. */
static _Thread_local struct buf spare;
static _Thread_local bool spare_taken;
/* A buffer grown past this by a long line is freed instead of kept. */
#define LOG_SPARE_KEEP 4096

static void
line_buf_take(struct log_line *l)
{
    if (!spare_taken && own_buffer != NULL) {
        spare_taken = true;
        l->b = spare;
        l->b.max = LOG_LINE_MAX - 32;
        buf_reset(&l->b);
        l->spare = true;
    } else {
        /* Room for the closing fields is kept back from the cap. */
        buf_init(&l->b, LOG_LINE_MAX - 32);
        l->spare = false;
    }
}

static void
line_buf_release(struct log_line *l)
{
    if (!l->spare) {
        buf_cleanup(&l->b);
        return;
    }
    if (l->b.alloc > LOG_SPARE_KEEP) {
        buf_cleanup(&l->b);
    }
    spare = l->b;
    spare_taken = false;
    l->spare = false;
}

/* Appends v in decimal: no printf on the path of every log line. */
static int
append_u64(struct buf *b, uint64_t v)
{
    char digits[DECIMAL_U64_MAX];
    return buf_append(b, digits, decimal_format_u64(digits, v));
}

static int
append_i64(struct buf *b, int64_t v)
{
    if (v >= 0) {
        return append_u64(b, (uint64_t)v);
    }
    size_t mark = b->len;
    /* -(v + 1) + 1 is |v| also for INT64_MIN. */
    if (buf_append_byte(b, '-') != 0 || append_u64(b, (uint64_t)(-(v + 1)) + 1) != 0) {
        b->len = mark;
        if (b->ptr != NULL) {
            b->ptr[mark] = '\0';
        }
        return -1;
    }
    return 0;
}

/* "%.6f" of a finite v, byte for byte. Durations (0 up to days) take the
 * direct way: v * 1e6 is off from the exact product by far less than
 * 1e-3, so rounding it to an integer can only differ from printf's exact
 * rounding when it lies within 1e-3 of a half; those, negatives, -0 and
 * large values go to printf. */
static int
append_fixed6(struct buf *b, double v)
{
    if (v >= 0 && v < 1e6 && !signbit(v)) {
        double p = v * 1e6;
        uint64_t k = (uint64_t)p;
        double frac = p - (double)k;
        if (fabs(frac - 0.5) > 1e-3) {
            k += frac > 0.5;
            char text[32];
            char *t = text + sizeof(text);
            uint64_t f = k % 1000000;
            for (int i = 0; i < 6; i++) {
                *--t = (char)('0' + f % 10);
                f /= 10;
            }
            *--t = '.';
            uint64_t w = k / 1000000;
            do {
                *--t = (char)('0' + w % 10);
                w /= 10;
            } while (w != 0);
            return buf_append(b, t, (size_t)(text + sizeof(text) - t));
        }
    }
    return buf_appendf(b, "%.6f", v);
}

void
log_begin(struct log_line *l, enum log_level level, const char *msg)
{
    l->on = log_enabled(level);
    l->truncated = false;
    l->spare = false;
    if (!l->on) {
        return;
    }
    line_buf_take(l);
    char ts[RFC3339_MS_LEN + 1];
    log_format_time(clock_unix_ms(), ts);
    /* The prefix is far below the cap. A msg that does not fit is left out
     * whole (escaping is all or nothing) and the quote is still closed, so
     * the line stays valid JSON with "truncated":true. */
    if (buf_append(&l->b, "{\"time\":\"", 9) != 0 || buf_append(&l->b, ts, RFC3339_MS_LEN) != 0 ||
        buf_append(&l->b, "\",\"level\":\"", 11) != 0 ||
        buf_append_str(&l->b, log_level_str(level)) != 0 ||
        buf_append(&l->b, "\",\"msg\":\"", 9) != 0) {
        line_buf_release(l);
        l->on = false;
        return;
    }
    if (buf_append_json_escaped(&l->b, slice_from_cstr(msg)) != 0) {
        l->truncated = true;
    }
    if (buf_append_byte(&l->b, '"') != 0) {
        line_buf_release(l);
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
    if (field_start(l, key, &mark) && append_i64(&l->b, value) != 0) {
        field_fail(l, mark);
    }
}

void
log_uint(struct log_line *l, const char *key, uint64_t value)
{
    size_t mark;
    if (field_start(l, key, &mark) && append_u64(&l->b, value) != 0) {
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
        rc = append_fixed6(&l->b, value);
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

/* ---- where finished lines go ----
 *
 * Before log_writer_start() and after log_writer_stop() (start-up, exit,
 * unit tests) a line is written at once under write_lock, as it always
 * was. While the writer runs, a line is copied into the calling thread's
 * buffer (its own after log_thread_attach(), else the shared one) and the
 * writer thread writes it out. A full buffer drops the line and counts it:
 * an event loop never waits for stdout. */

enum log_mode {
    MODE_DIRECT = 0, /* write(2) in the caller */
    MODE_BUFFERED,   /* copy into a buffer; the writer writes */
    MODE_ABANDONED,  /* the writer was stuck at exit: drop and count */
};

/* A ring of whole lines. head and tail count bytes ever appended and
 * written, so head - tail is the fill and neither wraps in practice. The
 * lock is held only for the copy in and for reading or moving the
 * counters; the writer writes [tail, head) without it, while producers
 * append only past head. */
struct log_buffer {
    pthread_mutex_t lock;
    char *ring;
    uint64_t head;
    uint64_t tail;
    uint64_t dropped; /* lines refused since the writer last looked */
    bool owned;       /* attached to a thread (log_thread_attach) */
};

static _Atomic int mode = MODE_DIRECT;
static struct log_buffer *buffers[BOUNDS_LOG_BUFFERS_MAX]; /* [0] is shared */
static _Atomic size_t buffer_count;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* The writer sleeps on wake_cond under wake_lock with writer_idle set; a
 * producer that sees writer_idle (read under its buffer lock, after the
 * writer set it and looked at that buffer) wakes it. flush_cond tells
 * log_flush() and log_writer_stop() that a pass ended. */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond;
static pthread_cond_t flush_cond;
static pthread_once_t conds_once = PTHREAD_ONCE_INIT;
static atomic_bool writer_idle;
static atomic_bool writer_lingering; /* in its pause between two batches */
static bool writer_stop;             /* under wake_lock */
static bool writer_running;          /* under wake_lock */
static unsigned flush_waiters;       /* under wake_lock: callers in wait_flushed */
static pthread_t writer_thread;

/* Writes all of p, waiting for the fd as a blocking write would (also
 * when whoever shares our stdout made it non-blocking); false when the fd
 * refused it. */
static bool
write_all(int fd, const char *p, size_t left)
{
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            (void)poll(&pfd, 1, -1);
            continue;
        }
        if (n <= 0) {
            return false; /* Nowhere to report a failed log write. */
        }
        p += n;
        left -= (size_t)n;
    }
    return true;
}

static void
count_dropped(uint64_t lines)
{
    metrics_add(METRICS_LOG_LINES_DROPPED, lines);
}

static struct log_buffer *
buffer_new(void)
{
    struct log_buffer *b = xcalloc(1, sizeof(*b));
    pthread_mutex_init(&b->lock, NULL);
    b->ring = xmalloc(BOUNDS_LOG_BUFFER_BYTES);
    return b;
}

/* Appends one whole line, or drops it when it does not fit. */
static void
buffer_append(struct log_buffer *b, const char *p, size_t len)
{
    const uint64_t cap = BOUNDS_LOG_BUFFER_BYTES;
    pthread_mutex_lock(&b->lock);
    if (b->head - b->tail + len > cap) {
        b->dropped++;
        pthread_mutex_unlock(&b->lock);
        count_dropped(1);
        return;
    }
    size_t at = (size_t)(b->head % cap);
    size_t first = len < cap - at ? len : cap - at;
    memcpy(b->ring + at, p, first);
    memcpy(b->ring, p + first, len - first);
    b->head += len;
    bool wake = atomic_load_explicit(&writer_idle, memory_order_relaxed);
    /* Past half full the writer's pause is cut short too. */
    bool hurry = b->head - b->tail > cap / 2 &&
                 atomic_load_explicit(&writer_lingering, memory_order_relaxed);
    pthread_mutex_unlock(&b->lock);
    if (hurry && atomic_exchange(&writer_lingering, false)) {
        pthread_mutex_lock(&wake_lock);
        pthread_cond_signal(&wake_cond);
        pthread_mutex_unlock(&wake_lock);
    }
    /* Only the first producer to see the writer asleep pays for the wake-up
     * (a futex call, never a wait). */
    if (wake && atomic_exchange(&writer_idle, false)) {
        pthread_mutex_lock(&wake_lock);
        pthread_cond_signal(&wake_cond);
        pthread_mutex_unlock(&wake_lock);
    }
}

static void
emit(const char *p, size_t len)
{
    switch (atomic_load_explicit(&mode, memory_order_acquire)) {
    case MODE_DIRECT: {
        int fd = atomic_load_explicit(&out_fd, memory_order_relaxed);
        /* One write(2) per line is not enough on its own: a pipe only keeps
         * writes of up to PIPE_BUF (4 KiB) whole, a partial write continues
         * in a second call, and some files (memfd) have no atomic file
         * position. The lock keeps each line whole within this process. */
        pthread_mutex_lock(&write_lock);
        bool ok = write_all(fd, p, len);
        pthread_mutex_unlock(&write_lock);
        if (!ok) {
            count_dropped(1);
        }
        break;
    }
    case MODE_BUFFERED:
        buffer_append(own_buffer != NULL ? own_buffer : buffers[0], p, len);
        break;
    default:
        count_dropped(1);
        break;
    }
}

/* Closes the object and the line; false only if that cannot fit, which
 * the 32 bytes held back by log_begin rule out. */
static bool
line_close(struct log_line *l)
{
    l->b.max = LOG_LINE_MAX;
    int rc = l->truncated ? buf_append_str(&l->b, ",\"truncated\":true") : 0;
    rc |= buf_append_str(&l->b, "}\n");
    return rc == 0 && l->b.ptr != NULL;
}

static _Atomic int line_format = LOG_FORMAT_JSON;

void
log_set_format(enum log_format format)
{
    atomic_store(&line_format, (int)format);
}

/* The console form of a closed line; the JSON line when it cannot be
 * converted (it always can: log_console parses what this file writes). */
static void
emit_console(const struct log_line *l)
{
    struct buf c;
    buf_init(&c, LOG_LINE_MAX * 2);
    if (log_console_format(buf_slice(&l->b), &c) == 0) {
        emit(c.ptr, c.len);
    } else {
        emit(l->b.ptr, l->b.len);
    }
    buf_cleanup(&c);
}

void
log_end(struct log_line *l)
{
    if (!l->on) {
        return;
    }
    if (line_close(l)) {
        if (atomic_load_explicit(&line_format, memory_order_relaxed) == LOG_FORMAT_CONSOLE) {
            emit_console(l);
        } else {
            emit(l->b.ptr, l->b.len);
        }
    }
    line_buf_release(l);
    l->on = false;
}

size_t
log_end_copy(struct log_line *l, char *out, size_t cap)
{
    size_t n = 0;
    if (l->on && line_close(l) && l->b.len <= cap) {
        memcpy(out, l->b.ptr, l->b.len);
        n = l->b.len;
    }
    if (l->on) {
        line_buf_release(l);
    }
    l->on = false;
    return n;
}

/* ---- the writer thread ---- */

static size_t
count_lines(const char *p, size_t len)
{
    size_t n = 0;
    for (const char *nl; len > 0 && (nl = memchr(p, '\n', len)) != NULL; n++) {
        len -= (size_t)(nl + 1 - p);
        p = nl + 1;
    }
    return n;
}

/* Writes [tail, head) of one buffer. Returns the lines the buffer dropped
 * since the last look; *wrote is set when bytes went out. */
static uint64_t
drain_buffer(struct log_buffer *b, int fd, bool *wrote)
{
    const uint64_t cap = BOUNDS_LOG_BUFFER_BYTES;
    pthread_mutex_lock(&b->lock);
    uint64_t head = b->head;
    uint64_t tail = b->tail;
    uint64_t dropped = b->dropped;
    b->dropped = 0;
    pthread_mutex_unlock(&b->lock);
    if (head == tail) {
        return dropped;
    }
    size_t at = (size_t)(tail % cap);
    size_t len = (size_t)(head - tail);
    size_t first = len < cap - at ? len : cap - at;
    /* Blocking writes: this thread exists to wait for the sink. The lock
     * only orders it against MODE_DIRECT writers during the switch. */
    pthread_mutex_lock(&write_lock);
    bool ok = write_all(fd, b->ring + at, first) && write_all(fd, b->ring, len - first);
    pthread_mutex_unlock(&write_lock);
    if (ok) {
        *wrote = true;
    } else {
        count_dropped(count_lines(b->ring + at, first) + count_lines(b->ring, len - first));
    }
    pthread_mutex_lock(&b->lock);
    b->tail = head;
    pthread_mutex_unlock(&b->lock);
    return dropped;
}

/* The report of lines dropped while the sink was stalled, written once the
 * writer gets bytes through again. */
static void
report_dropped(int fd, uint64_t count)
{
    struct log_line l;
    log_begin(&l, LOG_WARN, "log_lines_dropped");
    if (!l.on) {
        return;
    }
    log_uint(&l, "count", count);
    log_str(&l, "reason", "log output not read fast enough; see mcp_auth_log_lines_dropped_total");
    /* Written here, not through log_end: this thread owns the fd. */
    if (line_close(&l)) {
        pthread_mutex_lock(&write_lock);
        (void)write_all(fd, l.b.ptr, l.b.len);
        pthread_mutex_unlock(&write_lock);
    }
    line_buf_release(&l);
}

/* Is any buffer non-empty? Locks each buffer in turn. */
static bool
any_pending(void)
{
    size_t n = atomic_load_explicit(&buffer_count, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&buffers[i]->lock);
        bool pending = buffers[i]->head != buffers[i]->tail;
        pthread_mutex_unlock(&buffers[i]->lock);
        if (pending) {
            return true;
        }
    }
    return false;
}

static void
deadline_after(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *
writer_main(void *arg)
{
    (void)arg;
    uint64_t unreported = 0;
    for (;;) {
        int fd = atomic_load_explicit(&out_fd, memory_order_relaxed);
        bool wrote = false;
        size_t n = atomic_load_explicit(&buffer_count, memory_order_acquire);
        for (size_t i = 0; i < n && atomic_load(&mode) == MODE_BUFFERED; i++) {
            unreported += drain_buffer(buffers[i], fd, &wrote);
        }
        if (atomic_load(&mode) != MODE_BUFFERED) {
            break; /* abandoned while a write was stuck: the process is exiting */
        }
        if (unreported > 0 && (wrote || !any_pending())) {
            report_dropped(fd, unreported);
            unreported = 0;
        }
        pthread_mutex_lock(&wake_lock);
        pthread_cond_broadcast(&flush_cond);
        if (wrote && !writer_stop && flush_waiters == 0) {
            /* Lines are flowing: gather for a moment instead of sleeping
             * until woken, so their producers see no flag and pay for no
             * wake-up (a flush or a stop cuts the pause short). */
            struct timespec ts;
            deadline_after(&ts, BOUNDS_LOG_WRITER_LINGER_MS);
            atomic_store(&writer_lingering, true);
            (void)pthread_cond_timedwait(&wake_cond, &wake_lock, &ts);
            atomic_store(&writer_lingering, false);
            pthread_mutex_unlock(&wake_lock);
            continue;
        }
        if (any_pending()) {
            pthread_mutex_unlock(&wake_lock);
            continue; /* busy: producers see no flag and pay for no wake-up */
        }
        /* Sleep only when every buffer was seen empty after writer_idle
         * was set: a producer appending later sees the flag and wakes us. */
        atomic_store(&writer_idle, true);
        if (!any_pending()) {
            if (writer_stop) {
                pthread_mutex_unlock(&wake_lock);
                break;
            }
            struct timespec ts;
            deadline_after(&ts, BOUNDS_LOG_WRITER_IDLE_MS);
            while (atomic_load(&writer_idle) && !writer_stop) {
                if (pthread_cond_timedwait(&wake_cond, &wake_lock, &ts) == ETIMEDOUT) {
                    break;
                }
            }
        }
        atomic_store(&writer_idle, false);
        pthread_mutex_unlock(&wake_lock);
    }
    pthread_mutex_lock(&wake_lock);
    writer_running = false;
    pthread_cond_broadcast(&flush_cond);
    pthread_mutex_unlock(&wake_lock);
    return NULL;
}

static struct log_buffer *
register_buffer(void)
{
    size_t n = atomic_load_explicit(&buffer_count, memory_order_relaxed);
    if (n >= BOUNDS_LOG_BUFFERS_MAX) {
        return NULL;
    }
    buffers[n] = buffer_new();
    atomic_store_explicit(&buffer_count, n + 1, memory_order_release);
    return buffers[n];
}

void
log_thread_attach(void)
{
    if (own_buffer != NULL) {
        return;
    }
    pthread_mutex_lock(&registry_lock);
    if (atomic_load(&buffer_count) == 0) {
        (void)register_buffer(); /* [0]: the shared one */
    }
    size_t n = atomic_load(&buffer_count);
    struct log_buffer *b = NULL;
    for (size_t i = 1; i < n && b == NULL; i++) {
        if (!buffers[i]->owned) {
            b = buffers[i]; /* a finished thread's; its lines stay ahead */
        }
    }
    if (b == NULL) {
        b = register_buffer();
    }
    if (b != NULL) {
        b->owned = true;
        own_buffer = b;
    }
    pthread_mutex_unlock(&registry_lock);
}

void
log_thread_detach(void)
{
    if (own_buffer == NULL) {
        return;
    }
    pthread_mutex_lock(&registry_lock);
    own_buffer->owned = false;
    own_buffer = NULL;
    pthread_mutex_unlock(&registry_lock);
    if (!spare_taken) {
        buf_cleanup(&spare);
    }
}

/* Timed waits use CLOCK_MONOTONIC: a wall-clock step must not stretch or
 * cut the exit flush. */
static void
init_conds(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wake_cond, &attr);
    pthread_cond_init(&flush_cond, &attr);
    pthread_condattr_destroy(&attr);
}

bool
log_writer_start(void)
{
    pthread_once(&conds_once, init_conds);
    pthread_mutex_lock(&registry_lock);
    if (atomic_load(&buffer_count) == 0) {
        (void)register_buffer();
    }
    pthread_mutex_unlock(&registry_lock);
    pthread_mutex_lock(&wake_lock);
    if (writer_running) {
        pthread_mutex_unlock(&wake_lock);
        return false;
    }
    writer_stop = false;
    atomic_store(&writer_idle, false);
    atomic_store(&mode, MODE_BUFFERED);
    /* The writer blocks no signal the control loop needs: it is created
     * with every signal blocked, so SIGTERM always reaches the loop. */
    sigset_t all;
    sigset_t old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    bool ok = pthread_create(&writer_thread, NULL, writer_main, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    writer_running = ok;
    if (!ok) {
        atomic_store(&mode, MODE_DIRECT);
    }
    pthread_mutex_unlock(&wake_lock);
    return ok;
}

/* Waits, with wake_lock held, until every buffer is empty (each byte in it
 * was written) or ts passes. The writer broadcasts flush_cond after each
 * pass. */
static bool
wait_flushed(const struct timespec *ts)
{
    flush_waiters++;
    bool ok = false;
    for (;;) {
        pthread_mutex_unlock(&wake_lock);
        bool pending = any_pending();
        pthread_mutex_lock(&wake_lock);
        if (!pending) {
            ok = true;
            break;
        }
        if (!writer_running) {
            break;
        }
        atomic_store(&writer_idle, false);
        pthread_cond_signal(&wake_cond);
        if (pthread_cond_timedwait(&flush_cond, &wake_lock, ts) == ETIMEDOUT) {
            break;
        }
    }
    flush_waiters--;
    return ok;
}

bool
log_flush(uint64_t timeout_ms)
{
    struct timespec ts;
    deadline_after(&ts, timeout_ms);
    pthread_mutex_lock(&wake_lock);
    bool ok = !writer_running || wait_flushed(&ts);
    pthread_mutex_unlock(&wake_lock);
    return ok;
}

bool
log_writer_stop(uint64_t timeout_ms)
{
    struct timespec ts;
    deadline_after(&ts, timeout_ms);
    pthread_mutex_lock(&wake_lock);
    if (!writer_running) {
        /* Never started, or abandoned and since ended: direct again. */
        atomic_store(&mode, MODE_DIRECT);
        pthread_mutex_unlock(&wake_lock);
        return true;
    }
    if (atomic_load(&mode) == MODE_ABANDONED) {
        pthread_mutex_unlock(&wake_lock); /* still stuck; already given up on */
        return false;
    }
    writer_stop = true;
    atomic_store(&writer_idle, false);
    pthread_cond_signal(&wake_cond);
    bool timed_out = false;
    while (writer_running && !timed_out) {
        timed_out = pthread_cond_timedwait(&flush_cond, &wake_lock, &ts) == ETIMEDOUT;
    }
    bool clean = !writer_running;
    pthread_mutex_unlock(&wake_lock);
    if (clean) {
        pthread_join(writer_thread, NULL);
        atomic_store(&mode, MODE_DIRECT);
        /* A line another thread buffered between the writer's last look
         * and the switch above goes out here. */
        bool wrote = false;
        uint64_t dropped = 0;
        size_t n = atomic_load(&buffer_count);
        int fd = atomic_load(&out_fd);
        for (size_t i = 0; i < n; i++) {
            dropped += drain_buffer(buffers[i], fd, &wrote);
        }
        if (dropped > 0) {
            report_dropped(fd, dropped);
        }
        return true;
    }
    /* The sink is stuck and the process is leaving: what is buffered is
     * lost and what is still logged is dropped and counted. The writer, if
     * its write ever returns, sees the mode and ends. */
    atomic_store(&mode, MODE_ABANDONED);
    pthread_detach(writer_thread);
    return false;
}

void
log_event(enum log_level level, const char *msg)
{
    struct log_line l;
    log_begin(&l, level, msg);
    log_end(&l);
}
