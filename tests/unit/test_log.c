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
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/xalloc.h"
#include "fixtures.h"
#include "log.h"

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
    log_sample(&l, "ctl", SLICE_LIT("a\x01" "b\nc\x7f" "d\xc3\xa9" "e\"f\\"));
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
        { "debug", true, LOG_DEBUG }, { "INFO", true, LOG_INFO },  { "Warn", true, LOG_WARN },
        { "error", true, LOG_ERROR }, { "dpanic", true, LOG_ERROR }, { "panic", true, LOG_ERROR },
        { "FATAL", true, LOG_ERROR }, { "warning", false, 0 },       { "", false, 0 },
        { "info ", false, 0 },        { "trace", false, 0 },
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
    int per_thread[THREADS] = { 0 };
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
