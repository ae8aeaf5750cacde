/* http/trace: W3C Trace Context. A valid traceparent is kept (a future
 * version as version 00), anything malformed is refused with a reason and
 * replaced by a fresh one; tracestate members are checked one by one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/trace.h"

#define GOOD "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static const char *
parse(const char *text, char out[HTTP_TRACEPARENT_LEN + 1])
{
    return http_trace_parse_traceparent(slice_from_cstr(text), out);
}

static void
test_valid_traceparent_is_kept(void **state)
{
    (void)state;
    char out[HTTP_TRACEPARENT_LEN + 1] = "";
    assert_null(parse(GOOD, out));
    assert_string_equal(out, GOOD);
    /* Flags other than 01 pass as they are. */
    assert_null(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", out));
    assert_string_equal(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    /* A later version: its first four fields, as version 00; more fields
     * after a '-' are ignored. */
    assert_null(parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever", out));
    assert_string_equal(out, GOOD);
    assert_null(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", out));
    assert_string_equal(out, GOOD);
}

static void
test_malformed_traceparent_is_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",          /* short */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",        /* v00 + extra */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",        /* v00 + space */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",         /* version ff */
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",         /* version hex */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",         /* upper case */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",         /* zero trace */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",         /* zero parent */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",         /* separator */
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",         /* separator */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",         /* separator */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",         /* flags hex */
        "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01",         /* trace hex */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",         /* parent hex */
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",        /* future, no '-' */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX: y", /* smuggling */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[HTTP_TRACEPARENT_LEN + 1] = "untouched";
        const char *why = parse(bad[i], out);
        if (why == NULL) {
            fail_msg("accepted: %s", bad[i]);
        }
        assert_string_equal(out, "untouched");
    }
}

static void
test_generated_traceparent_is_valid_and_fresh(void **state)
{
    (void)state;
    char a[HTTP_TRACEPARENT_LEN + 1];
    char b[HTTP_TRACEPARENT_LEN + 1];
    http_trace_generate(a);
    http_trace_generate(b);
    char check[HTTP_TRACEPARENT_LEN + 1];
    assert_null(parse(a, check));
    assert_string_equal(check, a);
    assert_int_equal(strlen(a), HTTP_TRACEPARENT_LEN);
    assert_memory_equal(a + 52, "-01", 3); /* sampled: upstream samplers keep it */
    assert_string_not_equal(a, b);
}

static void
test_trace_from_fields(void **state)
{
    (void)state;
    struct http_trace t;
    struct slice one = slice_from_cstr(GOOD);
    http_trace_from_fields(&one, 1, &t);
    assert_true(t.incoming);
    assert_string_equal(t.traceparent, GOOD);
    struct slice id = http_trace_id(&t);
    assert_int_equal(id.len, HTTP_TRACE_ID_LEN);
    assert_memory_equal(id.ptr, "4bf92f3577b34da6a3ce929d0e0e4736", HTTP_TRACE_ID_LEN);
    /* None, a malformed one, two: a fresh trace, never the client's. */
    http_trace_from_fields(NULL, 0, &t);
    assert_false(t.incoming);
    struct slice bad = slice_from_cstr("00-zzz");
    http_trace_from_fields(&bad, 1, &t);
    assert_false(t.incoming);
    assert_null(strstr(t.traceparent, "zzz"));
    struct slice two[2] = {one, one};
    http_trace_from_fields(two, 2, &t);
    assert_false(t.incoming);
    assert_string_not_equal(t.traceparent, GOOD);
}

static void
test_tracestate_members(void **state)
{
    (void)state;
    size_t m = 0;
    assert_null(http_trace_check_tracestate(slice_from_cstr("congo=t61rcWkgMzE"), &m));
    assert_int_equal(m, 1);
    assert_null(http_trace_check_tracestate(
        slice_from_cstr("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE,,tenant@vendor=a b"), &m));
    assert_int_equal(m, 3);
    assert_null(http_trace_check_tracestate(slice_from_cstr(""), &m));
    assert_int_equal(m, 0);
    static const char *const bad[] = {
        "novalue",
        "=v",
        "Upper=v",
        "k=",
        "k=a\tb",
        "k=a=b",
        "9@vendor=v\x01",
        "k=\x7f",
        "@vendor=v",
        "tenant@=v",
        "tenant@Vendor=v",
        "k!=v",
        "tenant@vendorvendorvendor=v", /* system-id longer than 14 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (http_trace_check_tracestate(slice_from_cstr(bad[i]), &m) == NULL) {
            fail_msg("accepted: %s", bad[i]);
        }
    }
    /* 33 members, and 513 bytes, are over the bounds. */
    char many[33 * 6 + 1];
    size_t len = 0;
    for (int i = 0; i < 33; i++) {
        len += (size_t)snprintf(many + len, sizeof(many) - len, "%sk%02d=v", i ? "," : "", i);
    }
    assert_non_null(http_trace_check_tracestate(slice_from_cstr(many), &m));
    char big[600];
    memset(big, 'a', sizeof(big));
    memcpy(big, "k=", 2);
    assert_non_null(http_trace_check_tracestate(slice_make(big, 513), &m));
    assert_null(http_trace_check_tracestate(slice_make(big, 258), &m));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_traceparent_is_kept),
        cmocka_unit_test(test_malformed_traceparent_is_refused),
        cmocka_unit_test(test_generated_traceparent_is_valid_and_fresh),
        cmocka_unit_test(test_trace_from_fields),
        cmocka_unit_test(test_tracestate_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
