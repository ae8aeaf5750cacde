/* proxy/list_filter: which entries of a list answer a caller sees, and
 * which messages are filtered, passed or withheld. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "proxy/list_filter.h"

/* Hidden: names starting with "secret", and "admin". Counts the calls. */
static int calls;
static enum proxy_list_filter_kind last_kind;

static bool
visible(void *arg, enum proxy_list_filter_kind kind, struct slice name)
{
    (void)arg;
    calls++;
    last_kind = kind;
    return !slice_starts_with(name, SLICE_LIT("secret")) && !slice_eq_cstr(name, "admin");
}

struct run {
    enum proxy_list_filter_rc rc;
    size_t hidden;
    char text[4096];
};

static struct run
run_filter(enum proxy_list_filter_kind kind, const char *id, const char *body)
{
    struct proxy_list_filter f;
    assert_int_equal(proxy_list_filter_init(&f, kind, slice_from_cstr(id), visible, NULL), 0);
    struct buf out;
    buf_init(&out, 1 << 16);
    struct run r = {0};
    calls = 0;
    r.rc = proxy_list_filter_message(&f, slice_from_cstr(body), 1 << 20, &out, &r.hidden);
    assert_true(out.len < sizeof(r.text));
    if (out.len > 0) {
        memcpy(r.text, out.ptr, out.len);
    }
    buf_cleanup(&out);
    proxy_list_filter_cleanup(&f);
    return r;
}

static void
test_kind_of(void **state)
{
    (void)state;
    enum proxy_list_filter_kind k;
    assert_true(proxy_list_filter_kind_of(SLICE_LIT("tools/list"), &k));
    assert_int_equal(k, PROXY_LIST_TOOLS);
    assert_true(proxy_list_filter_kind_of(SLICE_LIT("prompts/list"), &k));
    assert_int_equal(k, PROXY_LIST_PROMPTS);
    assert_true(proxy_list_filter_kind_of(SLICE_LIT("resources/list"), &k));
    assert_int_equal(k, PROXY_LIST_RESOURCES);
    assert_true(proxy_list_filter_kind_of(SLICE_LIT("resources/templates/list"), &k));
    assert_int_equal(k, PROXY_LIST_RESOURCE_TEMPLATES);
    assert_false(proxy_list_filter_kind_of(SLICE_LIT("tools/call"), &k));
    assert_false(proxy_list_filter_kind_of(SLICE_LIT("Tools/list"), &k));
    assert_string_equal(proxy_list_filter_call_method(PROXY_LIST_TOOLS), "tools/call");
    assert_string_equal(proxy_list_filter_call_method(PROXY_LIST_PROMPTS), "prompts/get");
    assert_string_equal(proxy_list_filter_call_method(PROXY_LIST_RESOURCE_TEMPLATES),
                        "resources/read");
}

static void
test_init_refuses_odd_ids(void **state)
{
    (void)state;
    struct proxy_list_filter f;
    assert_int_equal(proxy_list_filter_init(&f, PROXY_LIST_TOOLS, SLICE_LIT("null"), visible, NULL),
                     -1);
    assert_int_equal(proxy_list_filter_init(&f, PROXY_LIST_TOOLS, SLICE_LIT("{}"), visible, NULL),
                     -1);
    assert_int_equal(proxy_list_filter_init(&f, PROXY_LIST_TOOLS, SLICE_LIT("1 2"), visible, NULL),
                     -1);
    assert_int_equal(
        proxy_list_filter_init(&f, PROXY_LIST_KIND_COUNT, SLICE_LIT("1"), visible, NULL), -1);
}

/* Hidden tools go; key order, nextCursor, _meta and unknown fields stay. */
static void
test_tools_filtered_order_kept(void **state)
{
    (void)state;
    struct run r = run_filter(
        PROXY_LIST_TOOLS, "7",
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[{\"name\":\"echo\",\"x\":1},"
        "{\"name\":\"secret_delete\"},{\"name\":\"admin\"},{\"name\":\"add\"}],"
        "\"nextCursor\":\"c2\",\"_meta\":{\"k\":[1,2]},\"zz\":true}}");
    assert_int_equal(r.rc, PROXY_LIST_FILTER_REWRITTEN);
    assert_int_equal(r.hidden, 2);
    assert_int_equal(calls, 4);
    assert_int_equal(last_kind, PROXY_LIST_TOOLS);
    assert_string_equal(
        r.text, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[{\"name\":\"echo\","
                "\"x\":1},{\"name\":\"add\"}],\"nextCursor\":\"c2\",\"_meta\":{\"k\":[1,2]},"
                "\"zz\":true}}");
}

/* Nothing hidden: PASS, the caller sends the input's own bytes. */
static void
test_nothing_hidden_passes(void **state)
{
    (void)state;
    struct run r = run_filter(PROXY_LIST_TOOLS, "7",
                              "{ \"id\" : 7, \"result\": {\"tools\": [{\"name\":\"echo\"}]} }");
    assert_int_equal(r.rc, PROXY_LIST_FILTER_PASS);
    assert_int_equal(r.hidden, 0);
    assert_string_equal(r.text, "");
    /* Every entry hidden: an empty page, cursor kept. */
    r = run_filter(
        PROXY_LIST_TOOLS, "7",
        "{\"id\":7,\"result\":{\"tools\":[{\"name\":\"secret\"}],\"nextCursor\":\"n\"}}");
    assert_int_equal(r.rc, PROXY_LIST_FILTER_REWRITTEN);
    assert_string_equal(r.text, "{\"id\":7,\"result\":{\"tools\":[],\"nextCursor\":\"n\"}}");
}

static void
test_each_kind_by_its_key(void **state)
{
    (void)state;
    struct run r = run_filter(PROXY_LIST_PROMPTS, "\"p\"",
                              "{\"id\":\"p\",\"result\":{\"prompts\":[{\"name\":\"secretp\"},"
                              "{\"name\":\"hi\"}]}}");
    assert_int_equal(r.rc, PROXY_LIST_FILTER_REWRITTEN);
    assert_string_equal(r.text, "{\"id\":\"p\",\"result\":{\"prompts\":[{\"name\":\"hi\"}]}}");
    /* Resources by uri: a "name" saying "secret" changes nothing. */
    r = run_filter(PROXY_LIST_RESOURCES, "1",
                   "{\"id\":1,\"result\":{\"resources\":[{\"uri\":\"secret://a\",\"name\":\"ok\"},"
                   "{\"uri\":\"file:///ok\",\"name\":\"secret\"}]}}");
    assert_int_equal(r.rc, PROXY_LIST_FILTER_REWRITTEN);
    assert_string_equal(r.text, "{\"id\":1,\"result\":{\"resources\":[{\"uri\":\"file:///ok\","
                                "\"name\":\"secret\"}]}}");
    assert_int_equal(last_kind, PROXY_LIST_RESOURCES);
    r = run_filter(
        PROXY_LIST_RESOURCE_TEMPLATES, "1",
        "{\"id\":1,\"result\":{\"resourceTemplates\":[{\"uriTemplate\":\"secret://{x}\"},"
        "{\"uriTemplate\":\"file:///{p}\",\"uri\":\"secret\"}]}}");
    assert_int_equal(r.rc, PROXY_LIST_FILTER_REWRITTEN);
    assert_string_equal(r.text, "{\"id\":1,\"result\":{\"resourceTemplates\":[{\"uriTemplate\":"
                                "\"file:///{p}\",\"uri\":\"secret\"}]}}");
}

/* An entry without its name string cannot be judged: hidden. */
static void
test_unnamed_entries_hidden(void **state)
{
    (void)state;
    struct run r = run_filter(PROXY_LIST_TOOLS, "1",
                              "{\"id\":1,\"result\":{\"tools\":[{\"name\":1},{},\"echo\",null,"
                              "{\"name\":\"ok\"}]}}");
    assert_int_equal(r.rc, PROXY_LIST_FILTER_REWRITTEN);
    assert_int_equal(r.hidden, 4);
    assert_string_equal(r.text, "{\"id\":1,\"result\":{\"tools\":[{\"name\":\"ok\"}]}}");
}

/* Errors, notifications, server requests pass; a result for another id,
 * a batch holding a result, unreadable or duplicate-key JSON are withheld. */
static void
test_pass_and_withhold(void **state)
{
    (void)state;
    assert_int_equal(
        run_filter(PROXY_LIST_TOOLS, "1", "{\"id\":1,\"error\":{\"code\":-1,\"message\":\"m\"}}")
            .rc,
        PROXY_LIST_FILTER_PASS);
    assert_int_equal(
        run_filter(PROXY_LIST_TOOLS, "1", "{\"method\":\"notifications/progress\",\"params\":{}}")
            .rc,
        PROXY_LIST_FILTER_PASS);
    assert_int_equal(run_filter(PROXY_LIST_TOOLS, "1", "[{\"method\":\"x\"}]").rc,
                     PROXY_LIST_FILTER_PASS);
    assert_int_equal(
        run_filter(PROXY_LIST_TOOLS, "1", "{\"id\":2,\"result\":{\"tools\":[{\"name\":\"a\"}]}}")
            .rc,
        PROXY_LIST_FILTER_WITHHELD);
    assert_int_equal(run_filter(PROXY_LIST_TOOLS, "1", "{\"result\":{\"tools\":[]}}").rc,
                     PROXY_LIST_FILTER_WITHHELD);
    assert_int_equal(
        run_filter(PROXY_LIST_TOOLS, "1", "[{\"id\":1,\"result\":{\"tools\":[{\"name\":\"s\"}]}}]")
            .rc,
        PROXY_LIST_FILTER_WITHHELD);
    assert_int_equal(run_filter(PROXY_LIST_TOOLS, "1", "{\"id\":1,\"result\":").rc,
                     PROXY_LIST_FILTER_WITHHELD);
    assert_int_equal(run_filter(PROXY_LIST_TOOLS, "1",
                                "{\"id\":1,\"result\":{\"tools\":[]},\"result\":{\"tools\":"
                                "[{\"name\":\"secret\"}]}}")
                         .rc,
                     PROXY_LIST_FILTER_WITHHELD);
    assert_int_equal(run_filter(PROXY_LIST_TOOLS, "1", "").rc, PROXY_LIST_FILTER_WITHHELD);
}

/* The request's id in another spelling is still the request's id. */
static void
test_loose_ids(void **state)
{
    (void)state;
    static const char *const spellings[][2] = {
        {"1", "1.0"}, {"1", "\"1\""}, {"\"1\"", "1"}, {"1.0", "1"}, {"\"a\"", "\"a\""},
    };
    char body[256];
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        snprintf(body, sizeof(body), "{\"id\":%s,\"result\":{\"tools\":[{\"name\":\"secret\"}]}}",
                 spellings[i][1]);
        struct run r = run_filter(PROXY_LIST_TOOLS, spellings[i][0], body);
        assert_int_equal(r.rc, PROXY_LIST_FILTER_REWRITTEN);
        assert_int_equal(r.hidden, 1);
    }
    assert_int_equal(
        run_filter(PROXY_LIST_TOOLS, "\"b\"", "{\"id\":\"a\",\"result\":{\"tools\":[]}}").rc,
        PROXY_LIST_FILTER_WITHHELD);
}

/* Past max_bytes: withheld, not passed. A rewrite past out's cap too. */
static void
test_caps(void **state)
{
    (void)state;
    struct proxy_list_filter f;
    assert_int_equal(proxy_list_filter_init(&f, PROXY_LIST_TOOLS, SLICE_LIT("1"), visible, NULL),
                     0);
    const char *body = "{\"id\":1,\"result\":{\"tools\":[{\"name\":\"secret\"},{\"name\":\"a\"}]}}";
    struct buf out;
    buf_init(&out, 8);
    size_t hidden = 9;
    assert_int_equal(proxy_list_filter_message(&f, slice_from_cstr(body), 10, &out, &hidden),
                     PROXY_LIST_FILTER_WITHHELD);
    assert_int_equal(hidden, 0);
    assert_int_equal(proxy_list_filter_message(&f, slice_from_cstr(body), 1000, &out, &hidden),
                     PROXY_LIST_FILTER_WITHHELD);
    buf_cleanup(&out);
    proxy_list_filter_cleanup(&f);
}

static void
test_format_error(void **state)
{
    (void)state;
    struct proxy_list_filter f;
    assert_int_equal(
        proxy_list_filter_init(&f, PROXY_LIST_TOOLS, SLICE_LIT("\"q\\\"1\""), visible, NULL), 0);
    struct buf out;
    buf_init(&out, 256);
    assert_int_equal(proxy_list_filter_format_error(&f, "too big", &out), 0);
    assert_string_equal(buf_cstr(&out),
                        "{\"jsonrpc\":\"2.0\",\"id\":\"q\\\"1\",\"error\":{\"code\":"
                        "-32603,\"message\":\"too big\"}}");
    buf_cleanup(&out);
    proxy_list_filter_cleanup(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_of),
        cmocka_unit_test(test_init_refuses_odd_ids),
        cmocka_unit_test(test_tools_filtered_order_kept),
        cmocka_unit_test(test_nothing_hidden_passes),
        cmocka_unit_test(test_each_kind_by_its_key),
        cmocka_unit_test(test_unnamed_entries_hidden),
        cmocka_unit_test(test_pass_and_withhold),
        cmocka_unit_test(test_loose_ids),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_format_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
