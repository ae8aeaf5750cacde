/* log: every line is one valid JSON object (checked by parsing it with
 * jansson), escaping, truncation that keeps the line valid, disabled levels
 * that write nothing, log_sample, and whole lines under concurrency.
 * Lines are captured in a memfd installed with log_set_fd(). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/xalloc.h"
#include "bounds.h"
#include "fixtures.h"
#include "base/rfc3339.h"
#include "log.h"
#include "log_reference.h"
#include "metrics.h"

static int capture_fd = -1;

static int
setup(void **state)
{
    (void)state;
    capture_fd = memfd_create("log-capture", 0);
    assert_true(capture_fd >= 0);
    log_set_fd(capture_fd);
    log_set_level(LOG_DEBUG);
    fixture_pin_clock(0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    log_set_fd(STDOUT_FILENO);
    log_set_level(LOG_INFO);
    fixture_unpin_clock();
    close(capture_fd);
    capture_fd = -1;
    return 0;
}

/* Everything written so far, NUL-terminated; *len without the NUL. */
static char *
captured(size_t *len)
{
    off_t size = lseek(capture_fd, 0, SEEK_END);
    assert_true(size >= 0);
    char *text = xmalloc((size_t)size + 1);
    ssize_t got = pread(capture_fd, text, (size_t)size, 0);
    assert_int_equal(got, size);
    text[size] = '\0';
    if (len != NULL) {
        *len = (size_t)size;
    }
    return text;
}

/* Starts a fresh capture. */
static void
clear_capture(void)
{
    assert_int_equal(ftruncate(capture_fd, 0), 0);
    assert_int_equal(lseek(capture_fd, 0, SEEK_SET), 0);
}

/* Exactly one line was written: returns it parsed (caller decrefs). */
static json_t *
only_line(size_t *line_len)
{
    size_t len;
    char *text = captured(&len);
    if (len == 0 || text[len - 1] != '\n') {
        fail_msg("no complete line: \"%s\"", text);
    }
    if (memchr(text, '\n', len - 1) != NULL) {
        fail_msg("more than one line: \"%s\"", text);
    }
    json_error_t err;
    /* \u0000 is valid JSON; jansson wants to be told it may appear. */
    json_t *v = json_loadb(text, len - 1, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (v == NULL || !json_is_object(v)) {
        fail_msg("not a JSON object (%s): %s", err.text, text);
    }
    if (line_len != NULL) {
        *line_len = len;
    }
    xfree(text);
    clear_capture();
    return v;
}

static const char *
str_field(json_t *v, const char *key)
{
    json_t *f = json_object_get(v, key);
    if (f == NULL || !json_is_string(f)) {
        fail_msg("field %s missing or not a string", key);
    }
    return json_string_value(f);
}

static void
test_line_shape(void **state)
{
    (void)state;
    struct log_line l;
    log_begin(&l, LOG_WARN, "jwks_refresh_failed");
    log_str(&l, "reason", "timeout");
    log_end(&l);
    size_t len;
    char *text = captured(&len);
    /* Keys in order: time, level, msg, then fields. */
    assert_string_equal(text, "{\"time\":\"2026-05-28T20:26:40.000Z\",\"level\":\"warn\","
                              "\"msg\":\"jwks_refresh_failed\",\"reason\":\"timeout\"}\n");
    xfree(text);
    clear_capture();
    log_event(LOG_ERROR, "startup_failed");
    json_t *v = only_line(NULL);
    assert_string_equal(str_field(v, "level"), "error");
    assert_string_equal(str_field(v, "msg"), "startup_failed");
    assert_int_equal(json_object_size(v), 3);
    json_decref(v);
}

static void
test_field_types(void **state)
{
    (void)state;
    struct log_line l;
    log_begin(&l, LOG_INFO, "request");
    log_int(&l, "min", INT64_MIN);
    log_int(&l, "max", INT64_MAX);
    log_uint(&l, "u", 42);
    log_bool(&l, "yes", true);
    log_bool(&l, "no", false);
    log_double(&l, "dur", 1.25);
    log_slice(&l, "sl", slice_make("a\0b", 3));
    log_raw_json(&l, "groups", SLICE_LIT("[\"a\",\"b\"]"));
    log_end(&l);
    json_t *v = only_line(NULL);
    assert_true(json_integer_value(json_object_get(v, "min")) == INT64_MIN);
    assert_true(json_integer_value(json_object_get(v, "max")) == INT64_MAX);
    assert_int_equal(json_integer_value(json_object_get(v, "u")), 42);
    assert_true(json_is_true(json_object_get(v, "yes")));
    assert_true(json_is_false(json_object_get(v, "no")));
    assert_true(json_real_value(json_object_get(v, "dur")) == 1.25);
    json_t *sl = json_object_get(v, "sl");
    assert_int_equal(json_string_length(sl), 3);
    assert_memory_equal(json_string_value(sl), "a\0b", 3);
    json_t *g = json_object_get(v, "groups");
    assert_true(json_is_array(g));
    assert_int_equal(json_array_size(g), 2);
    json_decref(v);

    /* jansson cannot hold UINT64_MAX as an integer: check the text. */
    log_begin(&l, LOG_INFO, "request");
    log_uint(&l, "umax", UINT64_MAX);
    log_end(&l);
    size_t len;
    char *text = captured(&len);
    assert_non_null(strstr(text, ",\"umax\":18446744073709551615}\n"));
    xfree(text);
    clear_capture();
}

static void
test_non_finite_doubles_stay_valid_json(void **state)
{
    (void)state;
    struct log_line l;
    log_begin(&l, LOG_INFO, "numbers");
    log_double(&l, "nan", NAN);
    log_double(&l, "inf", INFINITY);
    log_double(&l, "ninf", -INFINITY);
    log_double(&l, "big", 1e300);
    log_end(&l);
    json_t *v = only_line(NULL);
    assert_string_equal(str_field(v, "nan"), "NaN");
    assert_string_equal(str_field(v, "inf"), "+Inf");
    assert_string_equal(str_field(v, "ninf"), "-Inf");
    assert_true(json_is_number(json_object_get(v, "big")));
    json_decref(v);
}

static void
test_escaping(void **state)
{
    (void)state;
    char every[128];
    for (int i = 0; i < 128; i++) {
        every[i] = (char)i;
    }
    const char *tricky = "quote\" back\\slash\nnew\rline\ttab\x01\x1f\x7f caf\xc3\xa9";
    struct log_line l;
    log_begin(&l, LOG_INFO, "msg\"with\nescapes");
    log_str(&l, "key\"\n\\", tricky);
    log_slice(&l, "every", slice_make(every, sizeof(every)));
    log_end(&l);
    size_t len;
    char *text = captured(&len);
    /* One physical line, no raw control byte anywhere. */
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f) {
            fail_msg("raw control byte 0x%02x at %zu", c, i);
        }
    }
    xfree(text);
    json_t *v = only_line(NULL);
    assert_string_equal(str_field(v, "msg"), "msg\"with\nescapes");
    assert_string_equal(str_field(v, "key\"\n\\"), tricky);
    json_t *e = json_object_get(v, "every");
    assert_int_equal(json_string_length(e), sizeof(every));
    assert_memory_equal(json_string_value(e), every, sizeof(every));
    json_decref(v);
}

static void
test_truncation_keeps_valid_json(void **state)
{
    (void)state;
    char value[1000];
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    struct log_line l;
    log_begin(&l, LOG_INFO, "big");
    log_str(&l, "first", "kept");
    char key[16];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "f%02d", i);
        log_str(&l, key, value);
    }
    log_int(&l, "after", 1);
    log_end(&l);
    size_t len;
    json_t *v = only_line(&len);
    assert_true(len <= LOG_LINE_MAX);
    assert_string_equal(str_field(v, "first"), "kept");
    assert_true(json_is_true(json_object_get(v, "truncated")));
    /* Whole fields only: every kept value is complete. */
    size_t kept = 0;
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "f%02d", i);
        json_t *f = json_object_get(v, key);
        if (f != NULL) {
            assert_int_equal(json_string_length(f), sizeof(value) - 1);
            kept++;
        }
    }
    assert_true(kept >= 10 && kept < 40);
    /* Nothing after the first dropped field, even if it would fit. */
    assert_null(json_object_get(v, "after"));
    json_decref(v);
}

static void
test_oversized_single_fields(void **state)
{
    (void)state;
    size_t n = LOG_LINE_MAX + 100;
    char *huge = xmalloc(n + 1);
    memset(huge, '\n', n); /* escapes to twice the size */
    huge[n] = '\0';
    static const int kinds = 4;
    for (int kind = 0; kind < kinds; kind++) {
        struct log_line l;
        log_begin(&l, LOG_INFO, "huge");
        switch (kind) {
        case 0:
            log_str(&l, "v", huge);
            break;
        case 1:
            log_str(&l, huge, "v"); /* an enormous key */
            break;
        case 2:
            log_raw_json(&l, "v", slice_make(huge, n));
            break;
        default:
            log_sample(&l, "v", slice_make(huge, n)); /* sampled: fits */
            break;
        }
        log_end(&l);
        size_t len;
        json_t *v = only_line(&len);
        assert_true(len <= LOG_LINE_MAX);
        if (kind < 3) {
            assert_null(json_object_get(v, "v"));
            assert_true(json_is_true(json_object_get(v, "truncated")));
        } else {
            assert_non_null(json_object_get(v, "v"));
            assert_null(json_object_get(v, "truncated"));
        }
        json_decref(v);
    }
    xfree(huge);
}

static void
test_oversized_msg_keeps_valid_json(void **state)
{
    (void)state;
    /* Event names are short constants, but a mistake must not produce a
     * broken line. */
    size_t n = LOG_LINE_MAX * 2;
    char *msg = xmalloc(n + 1);
    memset(msg, 'm', n);
    msg[n] = '\0';
    struct log_line l;
    log_begin(&l, LOG_ERROR, msg);
    log_str(&l, "f", "x");
    log_end(&l);
    size_t len;
    json_t *v = only_line(&len);
    assert_true(len <= LOG_LINE_MAX);
    assert_true(json_is_true(json_object_get(v, "truncated")));
    assert_string_equal(str_field(v, "level"), "error");
    json_decref(v);
    xfree(msg);
}

static void
test_disabled_level_writes_nothing(void **state)
{
    (void)state;
    log_set_level(LOG_WARN);
    assert_false(log_enabled(LOG_DEBUG));
    assert_false(log_enabled(LOG_INFO));
    assert_true(log_enabled(LOG_WARN));
    assert_true(log_enabled(LOG_ERROR));
    struct log_line l;
    log_begin(&l, LOG_INFO, "quiet");
    log_str(&l, "a", "b");
    log_int(&l, "n", 1);
    log_sample(&l, "s", SLICE_LIT("x"));
    log_end(&l);
    log_event(LOG_DEBUG, "quieter");
    size_t len;
    char *text = captured(&len);
    assert_int_equal(len, 0);
    xfree(text);
    log_event(LOG_WARN, "loud");
    json_t *v = only_line(NULL);
    assert_string_equal(str_field(v, "msg"), "loud");
    json_decref(v);
    log_set_level(LOG_DEBUG);
    log_event(LOG_DEBUG, "debug_now");
    v = only_line(NULL);
    assert_string_equal(str_field(v, "level"), "debug");
    json_decref(v);
}

static void
test_sample(void **state)
{
    (void)state;
    struct log_line l;
    log_begin(&l, LOG_INFO, "sample");
    log_sample(&l, "ctl",
               SLICE_LIT("a\x01"
                         "b\nc\x7f"
                         "d\xc3\xa9"
                         "e\"f\\"));
    char exact[LOG_SAMPLE_MAX];
    memset(exact, 'x', sizeof(exact));
    log_sample(&l, "exact", slice_make(exact, sizeof(exact)));
    char longer[LOG_SAMPLE_MAX + 1];
    memset(longer, 'y', sizeof(longer));
    log_sample(&l, "long", slice_make(longer, sizeof(longer)));
    log_sample(&l, "nul", slice_make("a\0b", 3));
    log_sample(&l, "empty", SLICE_NULL);
    log_end(&l);
    json_t *v = only_line(NULL);
    /* Non-printable bytes (and non-ASCII) become '?'; quotes are escaped by
     * the JSON layer, not replaced. */
    assert_string_equal(str_field(v, "ctl"), "a?b?c?d??e\"f\\");
    const char *e = str_field(v, "exact");
    assert_int_equal(strlen(e), LOG_SAMPLE_MAX);
    const char *lg = str_field(v, "long");
    assert_int_equal(strlen(lg), LOG_SAMPLE_MAX + 2);
    assert_int_equal(strncmp(lg + LOG_SAMPLE_MAX, "..", 2), 0);
    assert_string_equal(str_field(v, "nul"), "a?b");
    assert_string_equal(str_field(v, "empty"), "");
    json_decref(v);
}

static void
test_levels(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool ok;
        enum log_level level;
    } rows[] = {
        {"debug", true, LOG_DEBUG}, {"INFO", true, LOG_INFO},    {"Warn", true, LOG_WARN},
        {"error", true, LOG_ERROR}, {"dpanic", true, LOG_ERROR}, {"panic", true, LOG_ERROR},
        {"FATAL", true, LOG_ERROR}, {"warning", false, 0},       {"", false, 0},
        {"info ", false, 0},        {"trace", false, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        enum log_level lv = LOG_LEVEL_COUNT;
        bool ok = log_level_parse(rows[i].text, &lv);
        if (ok != rows[i].ok || (ok && lv != rows[i].level)) {
            fail_msg("log_level_parse(\"%s\")", rows[i].text);
        }
    }
    assert_string_equal(log_level_str(LOG_DEBUG), "debug");
    assert_string_equal(log_level_str(LOG_INFO), "info");
    assert_string_equal(log_level_str(LOG_WARN), "warn");
    assert_string_equal(log_level_str(LOG_ERROR), "error");
    assert_string_equal(log_level_str(LOG_LEVEL_COUNT), "unknown");
}

enum { THREADS = 8, LINES_PER_THREAD = 500 };

static void *
log_many(void *arg)
{
    int id = (int)(intptr_t)arg;
    char pad[300];
    memset(pad, 'a' + id, sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int i = 0; i < LINES_PER_THREAD; i++) {
        struct log_line l;
        log_begin(&l, LOG_INFO, "concurrent");
        log_int(&l, "thread", id);
        log_int(&l, "i", i);
        log_str(&l, "pad", pad);
        log_end(&l);
    }
    return NULL;
}

static void
test_concurrent_lines_never_interleave(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, log_many, (void *)(intptr_t)i), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    size_t len;
    char *text = captured(&len);
    int per_thread[THREADS] = {0};
    size_t lines = 0;
    for (char *p = text, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        json_error_t err;
        json_t *v = json_loadb(p, (size_t)(nl - p), 0, &err);
        if (v == NULL) {
            fail_msg("line %zu is not JSON: %s", lines, err.text);
        }
        json_int_t id = json_integer_value(json_object_get(v, "thread"));
        assert_true(id >= 0 && id < THREADS);
        per_thread[id]++;
        json_decref(v);
        lines++;
    }
    assert_int_equal(lines, THREADS * LINES_PER_THREAD);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(per_thread[i], LINES_PER_THREAD);
    }
    xfree(text);
    clear_capture();
}

/* ---- buffered lines: per-thread buffers and the writer thread ---- */

enum { BUF_THREADS = 6, BUF_LINES = 2000 };

/* Every thread keeps its buffer until all are done: a thread's ~520 KB of
 * lines then fit its own buffer whatever the scheduling, so none may be
 * dropped. */
static pthread_barrier_t buf_done;

static void *
log_numbered(void *arg)
{
    int id = (int)(intptr_t)arg;
    log_thread_attach();
    char pad[200];
    memset(pad, 'a' + id, sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int i = 0; i < BUF_LINES; i++) {
        struct log_line l;
        log_begin(&l, LOG_INFO, "buffered");
        log_int(&l, "thread", id);
        log_int(&l, "i", i);
        log_str(&l, "pad", pad);
        log_end(&l);
    }
    pthread_barrier_wait(&buf_done);
    log_thread_detach();
    return NULL;
}

/* Several threads with their own buffers, and the shared buffer: every
 * line arrives whole, and each thread's lines in the order it logged. */
static void
test_buffered_lines_whole_and_in_order(void **state)
{
    (void)state;
    metrics_reset();
    assert_true(log_writer_start());
    assert_false(log_writer_start()); /* one writer at a time */
    log_event(LOG_INFO, "from_the_shared_buffer");
    assert_int_equal(pthread_barrier_init(&buf_done, NULL, BUF_THREADS), 0);
    pthread_t t[BUF_THREADS];
    for (int i = 0; i < BUF_THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, log_numbered, (void *)(intptr_t)i), 0);
    }
    for (int i = 0; i < BUF_THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    pthread_barrier_destroy(&buf_done);
    assert_true(log_flush(10000));
    assert_true(log_writer_stop(10000));
    size_t len;
    char *text = captured(&len);
    int next[BUF_THREADS] = {0};
    size_t lines = 0;
    bool shared_seen = false;
    for (char *p = text, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        json_error_t err;
        json_t *v = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &err);
        if (v == NULL) {
            fail_msg("line %zu is not JSON: %s", lines, err.text);
        }
        const char *msg = str_field(v, "msg");
        if (strcmp(msg, "from_the_shared_buffer") == 0) {
            shared_seen = true;
        } else if (strcmp(msg, "buffered") != 0) {
            fail_msg("line %zu: unexpected %.120s", lines, p);
        } else {
            json_int_t id = json_integer_value(json_object_get(v, "thread"));
            assert_true(id >= 0 && id < BUF_THREADS);
            if (json_integer_value(json_object_get(v, "i")) != next[id]) {
                fail_msg("line %zu: thread %d: i %d, want %d: %.120s", lines, (int)id,
                         (int)json_integer_value(json_object_get(v, "i")), next[id], p);
            }
            next[id]++;
        }
        json_decref(v);
        lines++;
    }
    assert_true(shared_seen);
    assert_int_equal(lines, BUF_THREADS * BUF_LINES + 1);
    for (int i = 0; i < BUF_THREADS; i++) {
        assert_int_equal(next[i], BUF_LINES);
    }
    assert_int_equal(metrics_get(METRICS_LOG_LINES_DROPPED), 0);
    xfree(text);
    clear_capture();
    /* Stopped: direct again, the line is there at once. */
    log_event(LOG_INFO, "direct_again");
    json_t *v = only_line(NULL);
    assert_string_equal(str_field(v, "msg"), "direct_again");
    json_decref(v);
}

/* A pipe whose reader has stopped, as small as the kernel allows. */
static void
stalled_pipe(int fds[2])
{
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    (void)fcntl(fds[1], F_SETPIPE_SZ, 4096);
    int fl = fcntl(fds[0], F_GETFL);
    assert_int_equal(fcntl(fds[0], F_SETFL, fl | O_NONBLOCK), 0);
}

/* Logs until the buffer refuses lines (bounded). Returns the lines logged;
 * the caller would hang here if log_end ever waited for the sink. */
static int
log_until_dropping(int first)
{
    char pad[1000];
    memset(pad, 'p', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    uint64_t before = metrics_get(METRICS_LOG_LINES_DROPPED);
    int i = first;
    /* 1 MiB of buffer plus the pipe hold ~1100 such lines; 4x that is
     * plenty, and each log_end must return at once. */
    int limit = first + (int)(4 * BOUNDS_LOG_BUFFER_BYTES / sizeof(pad));
    for (; i < limit; i++) {
        struct log_line l;
        log_begin(&l, LOG_INFO, "stalled");
        log_int(&l, "i", i);
        log_str(&l, "pad", pad);
        log_end(&l);
    }
    assert_true(metrics_get(METRICS_LOG_LINES_DROPPED) > before);
    return i - first;
}

/* Reads what the pipe has until `done` says so or 20 s pass. */
static void
read_pipe_until(int fd, struct buf *got, bool (*done)(const struct buf *got))
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    char chunk[65536];
    while (!done(got)) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 20) {
            fail_msg("the writer did not deliver in 20 s (%zu bytes read)", got->len);
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        (void)poll(&pfd, 1, 50);
        ssize_t n;
        while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
            assert_int_equal(buf_append(got, chunk, (size_t)n), 0);
        }
    }
}

static int stalled_last;

static bool
has_report(const struct buf *got)
{
    return got->len > 0 && strstr(got->ptr, "\"msg\":\"log_lines_dropped\"") != NULL;
}

static bool
has_last(const struct buf *got)
{
    char want[64];
    snprintf(want, sizeof(want), "\"i\":%d,", stalled_last);
    return got->len > 0 && strstr(got->ptr, want) != NULL;
}

/* The sink stops reading: log_end keeps returning, full buffers drop
 * lines and count them, and once the sink reads again every line that was
 * kept arrives in order, followed by a log_lines_dropped line whose counts
 * add up to the lines missing. */
static void
test_stalled_sink_drops_counts_and_reports(void **state)
{
    (void)state;
    metrics_reset();
    int fds[2];
    stalled_pipe(fds);
    log_set_fd(fds[1]);
    log_thread_attach();
    assert_true(log_writer_start());
    int n = log_until_dropping(0);
    uint64_t dropped = metrics_get(METRICS_LOG_LINES_DROPPED);
    assert_true(dropped > 0 && dropped < (uint64_t)n);
    /* The sink recovers: what was kept arrives, then the report; a line
     * logged after that is kept again. */
    struct buf got;
    buf_init(&got, 64 * 1024 * 1024);
    read_pipe_until(fds[0], &got, has_report);
    stalled_last = n;
    struct log_line l;
    log_begin(&l, LOG_INFO, "stalled");
    log_int(&l, "i", n);
    log_str(&l, "pad", "after");
    log_end(&l);
    read_pipe_until(fds[0], &got, has_last);
    assert_true(log_writer_stop(10000));
    log_thread_detach();
    log_set_fd(capture_fd);
    ssize_t r;
    char chunk[65536];
    while ((r = read(fds[0], chunk, sizeof(chunk))) > 0) {
        assert_int_equal(buf_append(&got, chunk, (size_t)r), 0);
    }
    const char *text = buf_cstr(&got);
    int expect = 0;
    uint64_t missing = 0;
    uint64_t reported = 0;
    for (const char *p = text, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        json_error_t err;
        json_t *v = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &err);
        if (v == NULL) {
            fail_msg("not a whole JSON line: %s", err.text);
        }
        if (strcmp(str_field(v, "msg"), "log_lines_dropped") == 0) {
            assert_string_equal(str_field(v, "level"), "warn");
            reported += (uint64_t)json_integer_value(json_object_get(v, "count"));
        } else {
            int i = (int)json_integer_value(json_object_get(v, "i"));
            assert_true(i >= expect); /* in order; a gap is dropped lines */
            missing += (uint64_t)(i - expect);
            expect = i + 1;
        }
        json_decref(v);
    }
    assert_int_equal(expect, n + 1);
    assert_int_equal(missing, dropped);
    assert_int_equal(reported, dropped);
    assert_int_equal(metrics_get(METRICS_LOG_LINES_DROPPED), dropped);
    buf_cleanup(&got);
    close(fds[0]);
    close(fds[1]);
}

static bool
pipe_drained_and_writer_gone(const struct buf *got)
{
    (void)got;
    return log_writer_stop(0);
}

/* At exit a stalled sink cannot hold the process: the stop gives up after
 * its deadline, and later lines are dropped and counted instead of
 * blocking. Once the sink reads again the stuck writer ends by itself. */
static void
test_stop_with_stalled_sink_is_bounded(void **state)
{
    (void)state;
    metrics_reset();
    int fds[2];
    stalled_pipe(fds);
    log_set_fd(fds[1]);
    log_thread_attach();
    assert_true(log_writer_start());
    (void)log_until_dropping(0);
    assert_false(log_flush(100));
    struct timespec t0;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_false(log_writer_stop(300));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* Generous: the point is that it returns, not how fast. */
    assert_true(t1.tv_sec - t0.tv_sec < 10);
    assert_false(log_writer_stop(0)); /* still stuck; asked again: no wait */
    uint64_t before = metrics_get(METRICS_LOG_LINES_DROPPED);
    log_event(LOG_ERROR, "after_the_stop");
    assert_int_equal(metrics_get(METRICS_LOG_LINES_DROPPED), before + 1);
    log_thread_detach();
    /* The reader comes back: the abandoned writer finishes its write, sees
     * it was given up on, and ends; logging is direct again. */
    struct buf got;
    buf_init(&got, 64 * 1024 * 1024);
    read_pipe_until(fds[0], &got, pipe_drained_and_writer_gone);
    buf_cleanup(&got);
    log_set_fd(capture_fd);
    log_event(LOG_INFO, "direct_after_abandon");
    json_t *v = only_line(NULL);
    assert_string_equal(str_field(v, "msg"), "direct_after_abandon");
    json_decref(v);
    close(fds[0]);
    close(fds[1]);
}

/* ---- the builder against the one before issue 13 (log_reference.c) ---- */

/* Strings the escaper and the log line must treat exactly as before. */
static const struct {
    const char *text;
    size_t len;
} tricky[] = {
#define S(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1                                                                       \
    }
    S(""),
    S("plain"),
    S("/mcp"),
    S("\"quoted\""),
    S("back\\slash\\"),
    S("\\\"\\\""),
    S("\n\r\t\b\f\v"),
    S("\x01\x02\x1f\x7f"),
    S("nul\0inside"),
    S("\0"),
    S("tail ctl\x1b"),
    S("\xff\xfe invalid utf-8 \xc3\x28 \xa0\xa1 \xe2\x82 \xf0\x28\x8c\xbc"),
    S("caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80"),
    S("line sep \xe2\x80\xa8 para sep \xe2\x80\xa9"),
    S("</script><!-- \xc0\xaf overlong"),
    S("{\"jsonrpc\":\"2.0\",\"id\":1}"),
    S("\x7f\x80\x9f\xa0\xbf\xc0"),
#undef S
};

/* The new escaper gives the old bytes and the same all-or-nothing result
 * at every cap, for every byte value and the table above. */
static void
test_escaper_matches_reference(void **state)
{
    (void)state;
    char all[256];
    for (int i = 0; i < 256; i++) {
        all[i] = (char)i;
    }
    struct slice inputs[sizeof(tricky) / sizeof(tricky[0]) + 257];
    size_t count = 0;
    for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
        inputs[count++] = slice_make(tricky[i].text, tricky[i].len);
    }
    for (int i = 0; i < 256; i++) {
        inputs[count++] = slice_make(all + i, 1);
    }
    inputs[count++] = slice_make(all, sizeof(all));
    for (size_t i = 0; i < count; i++) {
        for (size_t cap = 0; cap < 1600; cap += cap < 80 ? 1 : 97) {
            struct buf want;
            struct buf got;
            buf_init(&want, cap);
            buf_init(&got, cap);
            int rw = log_reference_json_escaped(&want, inputs[i]);
            int rg = buf_append_json_escaped(&got, inputs[i]);
            assert_int_equal(rg, rw);
            assert_int_equal(got.len, want.len);
            assert_memory_equal(buf_cstr(&got), buf_cstr(&want), want.len + 1);
            buf_cleanup(&want);
            buf_cleanup(&got);
        }
    }
}

/* A line built field by field, by both builders; NULL-terminated keys. */
static void
build_both(struct log_line *l, struct log_reference_line *r, const char *msg, struct slice text,
           double d)
{
    log_begin(l, LOG_WARN, msg);
    assert_true(l->on);
    char time[RFC3339_MS_LEN + 1];
    memcpy(time, l->b.ptr + 9, RFC3339_MS_LEN);
    time[RFC3339_MS_LEN] = '\0';
    log_reference_begin(r, time, "warn", msg);
    log_slice(l, "path", text);
    log_reference_slice(r, "path", text);
    log_sample(l, "sample", text);
    log_reference_sample(r, "sample", text);
    log_int(l, "status", 499);
    log_reference_int(r, "status", 499);
    log_double(l, "duration", d);
    log_reference_double(r, "duration", d);
    log_int(l, "req_bytes", -1);
    log_reference_int(r, "req_bytes", -1);
    log_int(l, "min", INT64_MIN);
    log_reference_int(r, "min", INT64_MIN);
    log_int(l, "max", INT64_MAX);
    log_reference_int(r, "max", INT64_MAX);
    log_uint(l, "resp_bytes", UINT64_MAX);
    log_reference_uint(r, "resp_bytes", UINT64_MAX);
    log_uint(l, "zero", 0);
    log_reference_uint(r, "zero", 0);
    log_bool(l, "aborted", true);
    log_reference_bool(r, "aborted", true);
    log_raw_json(l, "list", slice_from_cstr("[1,2]"));
    log_reference_raw_json(r, "list", slice_from_cstr("[1,2]"));
    log_slice(l, "k\"ey\x01", text);
    log_reference_slice(r, "k\"ey\x01", text);
}

static void
assert_same_line(struct log_line *l, struct log_reference_line *r)
{
    static char got[LOG_LINE_MAX + 64];
    size_t n = log_end_copy(l, got, sizeof(got));
    struct slice want = log_reference_close(r);
    assert_non_null(want.ptr);
    if (n != want.len || memcmp(got, want.ptr, n) != 0) {
        print_error("got  %.*s\nwant %.*s\n", (int)n, got, (int)want.len, want.ptr);
        fail();
    }
    log_reference_cleanup(r);
}

/* Doubles "%.6f" would round either way, durations as write_access_log
 * makes them, halves, -0, huge and tiny values. */
static const double doubles[] = {
    0.0, -0.0,      0.0000005,      0.0000015,  0.0000025,      1e-7,          0.000001, 0.1234565,
    1.5, 2.0000005, 999999.9999995, 1e6,        1e15,           1e300,         -1.25,    5e-324,
    NAN, INFINITY,  -INFINITY,      123.456789, 0.000499999999, 86400.0000005,
};

static void
test_lines_match_reference(void **state)
{
    (void)state;
    for (int attached = 0; attached < 2; attached++) {
        if (attached) {
            log_thread_attach(); /* the reused per-thread buffer */
        }
        for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
            for (size_t k = 0; k < sizeof(doubles) / sizeof(doubles[0]); k++) {
                struct log_line l;
                struct log_reference_line r;
                struct slice text = slice_make(tricky[i].text, tricky[i].len);
                build_both(&l, &r, i % 2 ? "request" : "m\"sg\n", text, doubles[k]);
                assert_same_line(&l, &r);
            }
        }
        /* Durations of every sub-millisecond shape. */
        for (uint64_t ns = 0; ns < 3000000; ns += 777) {
            struct log_line l;
            struct log_reference_line r;
            build_both(&l, &r, "request", slice_from_cstr("/mcp"), (double)ns / 1e9);
            assert_same_line(&l, &r);
        }
        log_thread_detach();
    }
}

/* Long values at and around the caps: the field that no longer fits is
 * dropped whole and the line says "truncated", exactly as before; a line
 * built while another is open (its own buffer) too. */
static void
test_long_lines_match_reference(void **state)
{
    (void)state;
    log_thread_attach();
    size_t big = LOG_LINE_MAX + 100;
    char *text = xmalloc(big);
    for (size_t i = 0; i < big; i++) {
        text[i] = i % 97 == 0 ? '"' : i % 89 == 0 ? '\x01' : (char)('a' + i % 26);
    }
    static const size_t lens[] = {0,
                                  100,
                                  5000,
                                  LOG_LINE_MAX / 2,
                                  LOG_LINE_MAX - 400,
                                  LOG_LINE_MAX - 200,
                                  LOG_LINE_MAX - 120,
                                  LOG_LINE_MAX - 60,
                                  LOG_LINE_MAX - 32,
                                  LOG_LINE_MAX,
                                  LOG_LINE_MAX + 100};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (int nested = 0; nested < 2; nested++) {
            struct log_line outer;
            if (nested) {
                log_begin(&outer, LOG_INFO, "outer");
            }
            struct log_line l;
            struct log_reference_line r;
            build_both(&l, &r, "request", slice_make(text, lens[i]), 0.25);
            assert_same_line(&l, &r);
            /* A msg past the cap. */
            text[lens[i] < big ? lens[i] : big - 1] = '\0';
            log_begin(&l, LOG_WARN, text);
            char time[RFC3339_MS_LEN + 1];
            memcpy(time, l.b.ptr + 9, RFC3339_MS_LEN);
            time[RFC3339_MS_LEN] = '\0';
            log_reference_begin(&r, time, "warn", text);
            log_str(&l, "after", "x");
            log_reference_slice(&r, "after", slice_from_cstr("x"));
            assert_same_line(&l, &r);
            text[lens[i] < big ? lens[i] : big - 1] = 'z';
            if (nested) {
                char scratch[64];
                (void)log_end_copy(&outer, scratch, sizeof(scratch));
            }
        }
    }
    xfree(text);
    log_thread_detach();
}

/* The per-second time cache gives rfc3339_format_ms's text, also when the
 * second changes back and forth and before 1970. */
static void
test_time_matches_rfc3339(void **state)
{
    (void)state;
    static const int64_t starts[] = {0,
                                     -1,
                                     -1000,
                                     -86400001,
                                     999,
                                     1000,
                                     1780000000999,
                                     1780000001000,
                                     253402300799999,
                                     253402300800000,
                                     1767225599999};
    for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
        for (int64_t d = -1500; d <= 1500; d += 7) {
            for (int back = 0; back < 2; back++) {
                int64_t ms = back ? starts[i] - d : starts[i] + d;
                char want[RFC3339_MS_LEN + 1];
                char got[RFC3339_MS_LEN + 1];
                rfc3339_format_ms(ms, want);
                log_format_time(ms, got);
                assert_string_equal(got, want);
            }
        }
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_line_shape),
        T(test_field_types),
        T(test_non_finite_doubles_stay_valid_json),
        T(test_escaping),
        T(test_truncation_keeps_valid_json),
        T(test_oversized_single_fields),
        T(test_oversized_msg_keeps_valid_json),
        T(test_disabled_level_writes_nothing),
        T(test_sample),
        T(test_levels),
        T(test_concurrent_lines_never_interleave),
        T(test_buffered_lines_whole_and_in_order),
        T(test_stalled_sink_drops_counts_and_reports),
        T(test_stop_with_stalled_sink_is_bounded),
        T(test_escaper_matches_reference),
        T(test_lines_match_reference),
        T(test_long_lines_match_reference),
        T(test_time_matches_rfc3339),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
