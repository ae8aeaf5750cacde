/* log_console: LOG_FORMAT=console turns each JSON line log.c builds into
 * one readable line; values that could mislead keep their JSON quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "log.h"
#include "log_console.h"

static void
convert(const char *json, const char *want)
{
    struct buf out;
    buf_init(&out, 1 << 16);
    int rc = log_console_format(slice_from_cstr(json), &out);
    if (want == NULL) {
        assert_int_equal(rc, -1);
        assert_int_equal(out.len, 0);
    } else {
        assert_int_equal(rc, 0);
        assert_string_equal(buf_cstr(&out), want);
    }
    buf_cleanup(&out);
}

static void
test_fields_become_key_value(void **state)
{
    (void)state;
    convert("{\"time\":\"2026-12-06T05:00:00.123Z\",\"level\":\"info\",\"msg\":\"request\","
            "\"request_id\":\"Ab3\",\"status\":200,\"duration\":0.004000,\"aborted\":true,"
            "\"groups\":[\"a\",\"b c\"]}\n",
            "2026-12-06T05:00:00.123Z INFO  request request_id=Ab3 status=200 duration=0.004000 "
            "aborted=true groups=[\"a\",\"b c\"]\n");
    convert("{\"time\":\"2026-12-06T05:00:00.123Z\",\"level\":\"error\",\"msg\":\"x\"}",
            "2026-12-06T05:00:00.123Z ERROR x\n");
}

/* A value with a space, a quote, '=' or an escape stays JSON: a client's
 * text can neither fake a field nor reach the terminal as a control byte. */
static void
test_untrusted_values_stay_quoted(void **state)
{
    (void)state;
    convert("{\"time\":\"T\",\"level\":\"warn\",\"msg\":\"m\",\"path\":\"/a status=500\","
            "\"ua\":\"\\u001b[31mred\",\"q\":\"a\\\"b\",\"empty\":\"\"}",
            "T WARN  m path=\"/a status=500\" ua=\"\\u001b[31mred\" q=\"a\\\"b\" empty=\"\"\n");
}

static void
test_not_a_log_line_is_refused(void **state)
{
    (void)state;
    convert("", NULL);
    convert("not json", NULL);
    convert("{\"level\":\"info\",\"time\":\"T\",\"msg\":\"m\"}", NULL); /* order */
    convert("{\"time\":\"T\",\"level\":\"info\"}", NULL);               /* no msg */
    convert("{\"time\":\"T\",\"level\":\"info\",\"msg\":\"m\",\"k\":\"open}", NULL);
    convert("{\"time\":\"T\",\"level\":\"info\",\"msg\":\"m\",\"k\":[1,2}", NULL);
    convert("{\"time\":\"T\",\"level\":\"info\",\"msg\":\"m\" \"k\":1}", NULL);
}

/* Every line log.c writes converts (the round trip through the real
 * builder), including a truncated one. */
static void
test_log_lines_convert(void **state)
{
    (void)state;
    struct log_line l;
    log_begin(&l, LOG_WARN, "jwks_refresh_failed");
    log_str(&l, "reason", "timeout after 5s");
    log_int(&l, "n", -3);
    log_uint(&l, "u", 7);
    log_bool(&l, "b", false);
    log_double(&l, "d", 1.5);
    log_sample(&l, "s", slice_from_cstr("a\x01z"));
    log_raw_json(&l, "j", slice_from_cstr("{\"x\":[1,{\"y\":\"}\"}]}"));
    char line[4096];
    size_t n = log_end_copy(&l, line, sizeof(line));
    assert_true(n > 0);
    struct buf out;
    buf_init(&out, 1 << 16);
    assert_int_equal(log_console_format(slice_make(line, n), &out), 0);
    const char *c = buf_cstr(&out);
    assert_non_null(strstr(c, " WARN  jwks_refresh_failed reason=\"timeout after 5s\" n=-3 u=7 "
                              "b=false d=1.500000 s=a?z j={\"x\":[1,{\"y\":\"}\"}]}\n"));
    buf_cleanup(&out);
}

static void
test_cap_resets_output(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 20);
    assert_int_equal(buf_append_str(&out, "kept"), 0);
    assert_int_equal(log_console_format(slice_from_cstr("{\"time\":\"2026-12-06T05:00:00.123Z\","
                                                        "\"level\":\"info\",\"msg\":\"m\"}"),
                                        &out),
                     -1);
    assert_string_equal(buf_cstr(&out), "kept");
    buf_cleanup(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_become_key_value),
        cmocka_unit_test(test_untrusted_values_stay_quoted),
        cmocka_unit_test(test_not_a_log_line_is_refused),
        cmocka_unit_test(test_log_lines_convert),
        cmocka_unit_test(test_cap_resets_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
