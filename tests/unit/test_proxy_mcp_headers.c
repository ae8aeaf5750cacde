/* proxy/mcp_headers: the 2026-07-28 Mcp-Method / Mcp-Name request headers
 * against the peeked body (basic/transports/streamable-http.mdx "Standard
 * headers", "Value encoding"), and the peek's call_* fields they use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/jsonrpc_peek.h"
#include "proxy/mcp_headers.h"

/* Checks the headers (NULL: not sent) against body; returns the reason. */
static const char *
check(const char *body, const char *method, const char *name)
{
    struct proxy_jsonrpc_peek p;
    proxy_jsonrpc_peek_parse_call(slice_from_cstr(body), 1 << 20, &p);
    struct proxy_mcp_headers h = {0};
    if (method != NULL) {
        h.method[h.method_count++] = slice_from_cstr(method);
    }
    if (name != NULL) {
        h.name[h.name_count++] = slice_from_cstr(name);
    }
    const char *reason = proxy_mcp_headers_check(&h, &p);
    proxy_jsonrpc_peek_cleanup(&p);
    return reason;
}

#define CALL(tool)                                                                                 \
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":" tool "}}"
#define READ(uri)                                                                                  \
    "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"resources/read\",\"params\":{\"uri\":" uri "}}"
#define PROMPT                                                                                     \
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"prompts/get\",\"params\":{\"name\":\"greet\"}}"
#define LIST "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}"

static void
test_agreeing_headers_pass(void **state)
{
    (void)state;
    assert_null(check(CALL("\"search\""), NULL, NULL)); /* legacy client: nothing to check */
    assert_null(check(CALL("\"search\""), "tools/call", "search"));
    assert_null(check(CALL("\"search\""), "tools/call", NULL)); /* a missing name: the upstream's */
    assert_null(check(CALL("\"search\""), NULL, "search"));
    assert_null(check(PROMPT, "prompts/get", "greet"));
    assert_null(check(READ("\"file:///a.txt\""), "resources/read", "file:///a.txt"));
    assert_null(check(LIST, "tools/list", NULL));
    assert_null(check("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
                      "notifications/initialized", NULL));
    /* Base64 forms: non-ASCII ("caf\xc3\xa9" = "Y2Fmw6k="), a space inside,
     * leading whitespace, and a value that looks like the sentinel. */
    assert_null(check(CALL("\"caf\\u00e9\""), "tools/call", "=?base64?Y2Fmw6k=?="));
    assert_null(check(CALL("\"a b\""), "tools/call", "=?base64?YSBi?="));
    assert_null(check(CALL("\" x\""), "tools/call", "=?base64?IHg=?="));
    assert_null(check(CALL("\"=?base64?x?=\""), "tools/call", "=?base64?PT9iYXNlNjQ/eD89?="));
    assert_null(check(READ("\"file:///\\u65e5.txt\""), "resources/read",
                      "=?base64?ZmlsZTovLy/ml6UudHh0?="));
}

static void
test_mismatches_refused(void **state)
{
    (void)state;
    static const struct {
        const char *body, *method, *name, *want;
    } rows[] = {
        {CALL("\"search\""), "tools/list", NULL, "Mcp-Method header does not match"},
        {CALL("\"search\""), "Tools/Call", NULL, "Mcp-Method header does not match"},
        {CALL("\"search\""), "tools/call ", NULL, "Mcp-Method header does not match"},
        {CALL("\"search\""), "tools/call", "delete", "Mcp-Name header does not match"},
        {CALL("\"search\""), "tools/call", "Search", "Mcp-Name header does not match"},
        {CALL("\"search\""), "tools/call", "=?base64?ZGVsZXRl?=", "Mcp-Name header does not match"},
        {CALL("\"search\""), "tools/call", "=?base64?c2VhcmNo?", "Mcp-Name header does not match"},
        {CALL("\"search\""), "tools/call", "=?base64?c2VhcmNo?=", NULL},
        {CALL("\"search\""), "tools/call", "=?base64?c2VhcmNo=?=", "invalid base64"},
        {CALL("\"search\""), "tools/call", "=?base64?c2Vhc mNo?=", "invalid base64"},
        {CALL("\"a\""), "tools/call", "=?base64?YQ?=", "invalid base64"},         /* unpadded */
        {CALL("\"a\""), "tools/call", "=?base64?YR==?=", "invalid base64"},       /* stray bits */
        {CALL("\"\\u00ff\""), "tools/call", "=?base64?w_8=?=", "invalid base64"}, /* url alphabet */
        {READ("\"file:///a\""), "resources/read", "file:///b", "Mcp-Name header does not match"},
        /* resources/read is named by its uri, not a name. */
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"name\":\"x\","
         "\"uri\":\"u\"}}",
         "resources/read", "x", "Mcp-Name header does not match"},
        {LIST, "tools/list", "search", "names no tool"},
        {PROMPT, "tools/call", "greet", "Mcp-Method header does not match"},
        {"[" LIST "]", "tools/list", NULL, "not one JSON-RPC request"},
        {"not json", "tools/list", NULL, "not one JSON-RPC request"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1}", "tools/list", NULL, "not one JSON-RPC request"},
        {"", NULL, "x", "not one JSON-RPC request"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *got = check(rows[i].body, rows[i].method, rows[i].name);
        if (rows[i].want == NULL ? got != NULL
                                 : (got == NULL || strstr(got, rows[i].want) == NULL)) {
            fail_msg("row %zu: got \"%s\", want \"%s\"", i, got ? got : "(pass)",
                     rows[i].want ? rows[i].want : "(pass)");
        }
    }
}

static void
test_repeated_headers_refused(void **state)
{
    (void)state;
    struct proxy_jsonrpc_peek p;
    proxy_jsonrpc_peek_parse_call(slice_from_cstr(CALL("\"search\"")), 1 << 20, &p);
    struct proxy_mcp_headers h = {
        .method = {SLICE_LIT("tools/call"), SLICE_LIT("tools/call")},
        .method_count = 2,
    };
    assert_non_null(strstr(proxy_mcp_headers_check(&h, &p), "repeated"));
    h = (struct proxy_mcp_headers){
        .name = {SLICE_LIT("search"), SLICE_LIT("search")},
        .name_count = 2,
    };
    assert_non_null(strstr(proxy_mcp_headers_check(&h, &p), "repeated"));
    proxy_jsonrpc_peek_cleanup(&p);
}

/* The peek's call_* fields: unsanitised, exact lengths, the id as JSON. */
static void
test_peek_call_fields(void **state)
{
    (void)state;
    struct proxy_jsonrpc_peek p;
    proxy_jsonrpc_peek_parse_call(slice_from_cstr(CALL("\"a/b c\\u00e9\"")), 1 << 20, &p);
    assert_int_equal(p.kind, PROXY_JSONRPC_SINGLE);
    assert_string_equal(p.call_method, "tools/call");
    assert_int_equal(p.call_name_len, strlen("a/b c\xc3\xa9"));
    assert_memory_equal(p.call_name, "a/b c\xc3\xa9", p.call_name_len);
    assert_string_equal(p.tool, "a/bc"); /* the log's sanitised copy is unchanged */
    assert_string_equal(p.call_id_json, "7");
    proxy_jsonrpc_peek_cleanup(&p);
    assert_null(p.call_method);

    proxy_jsonrpc_peek_parse_call(slice_from_cstr(READ("\"u\"")), 1 << 20, &p);
    assert_string_equal(p.call_name, "u");
    assert_string_equal(p.call_id_json, "\"r1\"");
    proxy_jsonrpc_peek_cleanup(&p);

    /* No id, an object id: "null" in the error. */
    proxy_jsonrpc_peek_parse_call(
        slice_from_cstr("{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":{\"a\":1}}"), 1 << 20, &p);
    assert_string_equal(p.call_id_json, "null");
    assert_null(p.call_name);
    proxy_jsonrpc_peek_cleanup(&p);

    /* The plain parse fills none of them. */
    proxy_jsonrpc_peek_parse(slice_from_cstr(CALL("\"s\"")), 1 << 20, &p);
    assert_null(p.call_method);
    assert_null(p.call_name);
    assert_null(p.call_id_json);
    proxy_jsonrpc_peek_cleanup(&p);
}

static void
test_decode_name(void **state)
{
    (void)state;
    char out[16];
    size_t len = 99;
    assert_int_equal(proxy_mcp_headers_decode_name(SLICE_LIT("=?base64?"
                                                             "?="),
                                                   out, sizeof(out), &len),
                     0);
    assert_int_equal(len, 0);
    assert_int_equal(proxy_mcp_headers_decode_name(SLICE_LIT("plain"), out, sizeof(out), &len), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "plain", 5);
    assert_int_equal(
        proxy_mcp_headers_decode_name(SLICE_LIT("=?base64?Pz4/?="), out, sizeof(out), &len), 0);
    assert_memory_equal(out, "?>?", 3);
    assert_int_equal(
        proxy_mcp_headers_decode_name(SLICE_LIT("0123456789abcdefX"), out, sizeof(out), &len), -1);
    assert_int_equal(
        proxy_mcp_headers_decode_name(SLICE_LIT("=?base64?====?="), out, sizeof(out), &len), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agreeing_headers_pass),
        cmocka_unit_test(test_mismatches_refused),
        cmocka_unit_test(test_repeated_headers_refused),
        cmocka_unit_test(test_peek_call_fields),
        cmocka_unit_test(test_decode_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
