/* proxy/jsonrpc_peek: eligibility, body decoding, the sanitiser (SPEC.md
 * 4.7; rpc_peek_test.go in SPEC.md 9) and the tool-metrics observer
 * (SPEC.md 7.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "metrics.h"
#include "proxy/jsonrpc_peek.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define MAX 65536

static void
peek(const char *body, struct proxy_jsonrpc_peek *out)
{
    proxy_jsonrpc_peek_parse(slice_from_cstr(body), MAX, out);
}

/* RPCPeek_Single: method, tool and id of one call. */
static void
test_single(void **state)
{
    (void)state;
    struct proxy_jsonrpc_peek p;
    peek("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
         "\"params\":{\"name\":\"search\",\"arguments\":{\"q\":\"x\"}}}",
         &p);
    assert_int_equal(p.kind, PROXY_JSONRPC_SINGLE);
    assert_string_equal(p.method, "tools/call");
    assert_string_equal(p.tool, "search");
    assert_string_equal(p.id, "7");
    assert_string_equal(proxy_jsonrpc_peek_method(&p), "tools/call");
    assert_null(p.entries);
    assert_null(p.batch_methods);
    proxy_jsonrpc_peek_cleanup(&p);
    assert_int_equal(p.kind, PROXY_JSONRPC_NONE);
}

/* The id is its raw JSON text, sanitised to 64 kept characters. */
static void
test_single_id_forms(void **state)
{
    (void)state;
    static const struct {
        const char *id_json;
        const char *want;
    } rows[] = {
        {"1", "1"},
        {"\"abc-1\"", "abc-1"},
        {"null", "null"},
        {"1.50", "1.50"},
        {"-2e+3", "-2e+3"},
        {"\"\\u00e9x\"", "u00e9x"}, /* the escape's text, not the character */
        {"\"caf\xc3\xa9-1\"", "caf-1"},
        {"[1, 2]", "12"},
        {"{\"a\": \"b c\"}", "a:bc"},
        {"true", "true"},
        {"\"\"", ""},
        {"\"a b\\\"c\"", "abc"},
        {"\"0123456789012345678901234567890123456789012345678901234567890123456789\"",
         "0123456789012345678901234567890123456789012345678901234567890123"},
    };
    for (size_t i = 0; i < COUNT_OF(rows); i++) {
        struct buf b;
        buf_init(&b, 1024);
        assert_int_equal(buf_appendf(&b, "{\"method\":\"ping\",\"id\": %s }", rows[i].id_json), 0);
        struct proxy_jsonrpc_peek p;
        peek(buf_cstr(&b), &p);
        assert_int_equal(p.kind, PROXY_JSONRPC_SINGLE);
        if (strcmp(p.id, rows[i].want) != 0) {
            fail_msg("id %s: got \"%s\"", rows[i].id_json, p.id);
        }
        proxy_jsonrpc_peek_cleanup(&p);
        buf_cleanup(&b);
    }
    /* The id member is found whatever its position and key spelling, and
     * never inside a nested object or a string. */
    struct proxy_jsonrpc_peek p;
    peek("{\"params\":{\"id\":99,\"name\":\"t\"},\"note\":\"\\\"id\\\":5\",\"i\\u0064\":42,"
         "\"method\":\"m\"}",
         &p);
    assert_string_equal(p.id, "42");
    assert_string_equal(p.tool, "t");
    proxy_jsonrpc_peek_cleanup(&p);
    peek("{\"method\":\"m\",\"params\":{\"id\":99}}", &p);
    assert_string_equal(p.id, "");
    proxy_jsonrpc_peek_cleanup(&p);
}

/* params.name is taken whatever the method; empty method -> no method. */
static void
test_single_fields(void **state)
{
    (void)state;
    struct proxy_jsonrpc_peek p;
    peek("{\"method\":\"prompts/get\",\"params\":{\"name\":\"greet\"}}", &p);
    assert_string_equal(p.method, "prompts/get");
    assert_string_equal(p.tool, "greet");
    assert_string_equal(p.id, "");
    proxy_jsonrpc_peek_cleanup(&p);

    peek("{\"method\":\"\",\"id\":1}", &p); /* RPCPeek_EmptyMethod */
    assert_int_equal(p.kind, PROXY_JSONRPC_SINGLE);
    assert_string_equal(p.method, "");
    assert_string_equal(proxy_jsonrpc_peek_method(&p), "");
    assert_string_equal(p.id, "1");
    proxy_jsonrpc_peek_cleanup(&p);

    peek("{\"method\":null,\"params\":null,\"id\":2}", &p);
    assert_int_equal(p.kind, PROXY_JSONRPC_SINGLE);
    assert_string_equal(p.method, "");
    assert_string_equal(p.id, "2");
    proxy_jsonrpc_peek_cleanup(&p);

    peek("{\"method\":\"x\",\"params\":{\"name\":null}}", &p);
    assert_string_equal(p.method, "x");
    assert_string_equal(p.tool, "");
    proxy_jsonrpc_peek_cleanup(&p);

    peek(" \t\r\n {\"method\":\"lead/ws\"}\n", &p);
    assert_string_equal(p.method, "lead/ws");
    proxy_jsonrpc_peek_cleanup(&p);
}

/* Any type mismatch, or text that is not JSON, gives no fields at all
 * (RPCPeek_MalformedJSON). */
static void
test_no_fields(void **state)
{
    (void)state;
    static const char *const rows[] = {
        "",
        "not json",
        "{\"method\":\"tools/call\"",
        "{\"method\":42,\"id\":1}",
        "{\"method\":\"tools/call\",\"params\":[1,2],\"id\":1}",
        "{\"method\":\"tools/call\",\"params\":\"x\",\"id\":1}",
        "{\"method\":\"tools/call\",\"params\":{\"name\":7},\"id\":1}",
        "{\"method\":[\"a\"]}",
        "{\"method\":\"a\",\"method\":\"b\"}",
        "{\"method\":\"a\"} trailing",
        "\"tools/call\"",
        "42",
        "[{\"method\":\"a\"},5]",
        "[{\"method\":\"a\"},{\"method\":1}]",
        "[{\"method\":\"tools/call\",\"params\":[]}]",
        "[\"a\"]",
        "{\"method\":\"bad\xff utf8\"}",
        "{\"method\":\"nul\\u0000\"}",
        "{\"method\":\"m\",\"id\":123456789012345678901234567890}",
    };
    for (size_t i = 0; i < COUNT_OF(rows); i++) {
        struct proxy_jsonrpc_peek p;
        peek(rows[i], &p);
        if (p.kind != PROXY_JSONRPC_NONE || p.method[0] != '\0' || p.tool[0] != '\0' ||
            p.id[0] != '\0' || p.entries != NULL) {
            fail_msg("row %zu gave fields", i);
        }
        proxy_jsonrpc_peek_cleanup(&p);
    }
}

/* RPCPeek_Batch and Batch_ToolsCall_ExtractsTool. */
static void
test_batch(void **state)
{
    (void)state;
    struct proxy_jsonrpc_peek p;
    peek("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"},{\"jsonrpc\":\"2.0\",\"method\":\"b\"}]",
         &p);
    assert_int_equal(p.kind, PROXY_JSONRPC_BATCH);
    assert_string_equal(proxy_jsonrpc_peek_method(&p), "a,b");
    assert_int_equal(p.entry_count, 2);
    assert_string_equal(p.method, "");
    assert_string_equal(p.tool, "");
    assert_string_equal(p.id, ""); /* not set for batches */
    proxy_jsonrpc_peek_cleanup(&p);

    peek(" [ {\"method\":\"tools/call\",\"params\":{\"name\":\"search\"},\"id\":1},"
         "{\"method\":\"prompts/get\",\"params\":{\"name\":\"greet\"}},"
         "null,{\"params\":{\"name\":\"orphan\"}},{\"method\":\"\"},"
         "{\"method\":\"tools/call\",\"params\":{\"name\":\"fe\xc3\xa9tch!\"}},"
         "{\"method\":\"tools/call\"},"
         "{\"method\":\"tools/call\\u200b\",\"params\":{\"name\":\"zw\"}} ]",
         &p);
    assert_int_equal(p.kind, PROXY_JSONRPC_BATCH);
    assert_int_equal(p.entry_count, 5);
    assert_false(p.entries_truncated);
    assert_string_equal(p.batch_methods, "tools/call,prompts/get,tools/call,tools/call,tools/call");
    assert_true(p.entries[0].is_tools_call);
    assert_string_equal(p.entries[0].tool, "search");
    assert_false(p.entries[1].is_tools_call);
    assert_string_equal(p.entries[1].tool, ""); /* tools only for tools/call entries */
    assert_string_equal(p.entries[2].tool, "fetch");
    assert_true(p.entries[3].is_tools_call);
    assert_string_equal(p.entries[3].tool, "");
    /* Sanitises to tools/call, but the method is not exactly that. */
    assert_false(p.entries[4].is_tools_call);
    assert_string_equal(p.entries[4].method, "tools/call");
    assert_string_equal(p.entries[4].tool, "");
    proxy_jsonrpc_peek_cleanup(&p);

    peek("[]", &p);
    assert_int_equal(p.kind, PROXY_JSONRPC_BATCH);
    assert_string_equal(proxy_jsonrpc_peek_method(&p), "");
    assert_int_equal(p.entry_count, 0);
    proxy_jsonrpc_peek_cleanup(&p);

    peek("[null,{\"id\":1}]", &p);
    assert_int_equal(p.entry_count, 0);
    assert_null(p.batch_methods);
    proxy_jsonrpc_peek_cleanup(&p);
}

/* A batch past BOUNDS_RPC_BATCH_ENTRIES_MAX entries keeps the first ones. */
static void
test_batch_cap(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_byte(&b, '['), 0);
    size_t total = BOUNDS_RPC_BATCH_ENTRIES_MAX + 10;
    for (size_t i = 0; i < total; i++) {
        assert_int_equal(buf_appendf(&b, "%s{\"method\":\"m%zu\"}", i ? "," : "", i), 0);
    }
    assert_int_equal(buf_append_byte(&b, ']'), 0);
    struct proxy_jsonrpc_peek p;
    proxy_jsonrpc_peek_parse(buf_slice(&b), b.len, &p);
    assert_int_equal(p.kind, PROXY_JSONRPC_BATCH);
    assert_int_equal(p.entry_count, BOUNDS_RPC_BATCH_ENTRIES_MAX);
    assert_true(p.entries_truncated);
    assert_string_equal(p.entries[BOUNDS_RPC_BATCH_ENTRIES_MAX - 1].method, "m255");
    assert_non_null(strstr(p.batch_methods, ",m255"));
    assert_null(strstr(p.batch_methods, "m256"));
    proxy_jsonrpc_peek_cleanup(&p);
    buf_cleanup(&b);

    /* Full-length methods in every entry fit the joined list exactly. */
    char longm[200];
    memset(longm, 'x', sizeof(longm) - 1);
    longm[sizeof(longm) - 1] = '\0';
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_byte(&b, '['), 0);
    for (size_t i = 0; i < BOUNDS_RPC_BATCH_ENTRIES_MAX; i++) {
        assert_int_equal(buf_appendf(&b, "%s{\"method\":\"%s\"}", i ? "," : "", longm), 0);
    }
    assert_int_equal(buf_append_byte(&b, ']'), 0);
    proxy_jsonrpc_peek_parse(buf_slice(&b), b.len, &p);
    assert_int_equal(p.entry_count, BOUNDS_RPC_BATCH_ENTRIES_MAX);
    assert_false(p.entries_truncated);
    assert_int_equal(strlen(p.batch_methods),
                     BOUNDS_RPC_BATCH_ENTRIES_MAX * (BOUNDS_RPC_METHOD_MAX + 1) - 1);
    proxy_jsonrpc_peek_cleanup(&p);
    buf_cleanup(&b);
}

/* BodyLargerThanMaxDespiteSmallCL and the cap itself. */
static void
test_body_over_max(void **state)
{
    (void)state;
    const char *body = "{\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}";
    struct slice s = slice_from_cstr(body);
    char copy[128];
    memcpy(copy, body, s.len + 1);
    struct proxy_jsonrpc_peek p;
    proxy_jsonrpc_peek_parse(s, s.len - 1, &p);
    assert_int_equal(p.kind, PROXY_JSONRPC_NONE);
    proxy_jsonrpc_peek_cleanup(&p);
    proxy_jsonrpc_peek_parse(s, s.len, &p);
    assert_int_equal(p.kind, PROXY_JSONRPC_SINGLE);
    proxy_jsonrpc_peek_cleanup(&p);
    /* BodyReplay: the body is only read. */
    assert_memory_equal(copy, body, s.len + 1);
}

/* Step 1: Content-Type, Content-Length and the max (RPCPeek_NonJSON,
 * ContentTypeCaseInsensitive, ContentLengthExceedsMax, DisabledWhenMaxZero). */
static void
test_eligible(void **state)
{
    (void)state;
    static const struct {
        const char *ct;
        bool json;
    } rows[] = {
        {"application/json", true},
        {"Application/JSON", true},
        {"APPLICATION/JSON; charset=UTF-8", true},
        {"application/json;charset=utf-8", true},
        {"  application/json  ;  charset = \"utf-8\"  ", true},
        {"application/json;", true},
        {"application/json; charset=utf-8;", true},
        {"application/json; a=1; b=\"x;y\"", true},
        {"application/json; a=\"q\\\"uote\"", true},
        {"application/json; a=\"\"", true},
        {"application/json; a*=utf-8''x", true},
        {"text/plain", false},
        {"", false},
        {"application/jsonx", false},
        {"application/json-seq", false},
        {"application/vnd.api+json", false},
        {"application/ json", false},
        {"application /json", false},
        {"application/json charset=utf-8", false},
        {"application/json; charset", false},
        {"application/json; charset=", false},
        {"application/json; =utf-8", false},
        {"application/json; ;", false},
        {"application/json; charset=\"utf-8", false},
        {"application/json; charset=\"a\rb\"", false},
        {"application/json; a=1; A=2", false},
        {"application/json; a=x y", false},
        {"application/json, text/plain", false},
    };
    for (size_t i = 0; i < COUNT_OF(rows); i++) {
        struct slice ct = slice_from_cstr(rows[i].ct);
        if (proxy_jsonrpc_content_type_is_json(ct) != rows[i].json) {
            fail_msg("Content-Type \"%s\"", rows[i].ct);
        }
        assert_int_equal(proxy_jsonrpc_peek_is_eligible(MAX, ct, 10), rows[i].json);
    }
    /* Too many parameters: given up on (the peek is only for logs). */
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(buf_append_str(&b, "application/json"), 0);
    for (int i = 0; i < BOUNDS_RPC_CONTENT_TYPE_PARAMS_MAX; i++) {
        assert_int_equal(buf_appendf(&b, "; p%d=v", i), 0);
    }
    assert_true(proxy_jsonrpc_content_type_is_json(buf_slice(&b)));
    assert_int_equal(buf_append_str(&b, "; one=more"), 0);
    assert_false(proxy_jsonrpc_content_type_is_json(buf_slice(&b)));
    buf_cleanup(&b);

    struct slice json = SLICE_LIT("application/json");
    assert_true(proxy_jsonrpc_peek_is_eligible(100, json, 0));
    assert_true(proxy_jsonrpc_peek_is_eligible(100, json, 100));
    assert_false(proxy_jsonrpc_peek_is_eligible(100, json, 101));
    assert_false(proxy_jsonrpc_peek_is_eligible(100, json, -1)); /* chunked */
    assert_false(proxy_jsonrpc_peek_is_eligible(0, json, 0));    /* disabled */
    assert_false(proxy_jsonrpc_peek_is_eligible(100, SLICE_NULL, 10));
}

static void
test_sanitize(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t max;
        const char *want;
    } rows[] = {
        {"tools/call", 128, "tools/call"},
        {"a.b_c:d/e-f+g", 128, "a.b_c:d/e-f+g"},
        {"a b\tc\r\nd", 128, "abcd"},
        {"<script>alert(1)</script>", 128, "scriptalert1/script"},
        {"caf\xc3\xa9", 128, "caf"}, /* 2-byte sequence dropped */
        {"\xe2\x80\x8b"
         "zero\xe2\x80\x8dwidth",
         128, "zerowidth"}, /* ZWSP, ZWJ */
        {"\xe2\x80\xae"
         "evil",
         128, "evil"},                   /* BiDi override */
        {"\xf0\x9f\x98\x80x", 128, "x"}, /* 4-byte emoji */
        {"\xff\xfe"
         "a",
         128, "a"}, /* invalid UTF-8 */
        {"abcdef", 3, "abc"},
        {"\xc3\xa9\xc3\xa9\xc3\xa9"
         "abc",
         2, "ab"}, /* the cap counts kept chars */
        {"a!b!c!d", 3, "abc"},
        {"", 5, ""},
        {"abc", 0, ""},
    };
    for (size_t i = 0; i < COUNT_OF(rows); i++) {
        char out[256];
        memset(out, 'Z', sizeof(out));
        size_t n = proxy_jsonrpc_sanitize(slice_from_cstr(rows[i].in), rows[i].max, out);
        if (strcmp(out, rows[i].want) != 0 || n != strlen(rows[i].want)) {
            fail_msg("row %zu: got \"%s\"", i, out);
        }
    }
    /* Through the decoder: a 200-character method keeps 128. */
    char m[256];
    memset(m, 'm', 200);
    m[200] = '\0';
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(buf_appendf(&b, "{\"method\":\"%s\",\"params\":{\"name\":\"%s\"}}", m, m), 0);
    struct proxy_jsonrpc_peek p;
    peek(buf_cstr(&b), &p);
    assert_int_equal(strlen(p.method), BOUNDS_RPC_METHOD_MAX);
    assert_int_equal(strlen(p.tool), BOUNDS_RPC_TOOL_MAX);
    proxy_jsonrpc_peek_cleanup(&p);
    buf_cleanup(&b);
}

/* One line of the Prometheus exposition, exactly. */
static bool
exposition_has(const char *line)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(metrics_format(&b), 0);
    bool found = strstr(buf_cstr(&b), line) != NULL;
    buf_cleanup(&b);
    return found;
}

static void
test_observe_single(void **state)
{
    (void)state;
    metrics_reset();
    metrics_set_tool_cardinality_cap(256);
    struct proxy_jsonrpc_peek p;
    peek("{\"method\":\"tools/call\",\"params\":{\"name\":\"search\"},\"id\":1}", &p);
    proxy_jsonrpc_observe(&p, 200, 120, 3000);
    proxy_jsonrpc_observe(&p, 502, -1, 0); /* chunked request, empty reply: no bytes */
    assert_int_equal(metrics_get_rpc_calls("search", false), 2);
    assert_int_equal(metrics_get_rpc_calls("search", true), 1);
    assert_true(exposition_has("mcp_auth_rpc_request_bytes_total{tool=\"search\"} 120\n"));
    assert_true(exposition_has("mcp_auth_rpc_response_bytes_total{tool=\"search\"} 3000\n"));
    assert_int_equal(metrics_get(METRICS_RPC_BATCHES), 0);
    proxy_jsonrpc_peek_cleanup(&p);

    /* A tools/call without a name counts as _unknown. */
    peek("{\"method\":\"tools/call\"}", &p);
    proxy_jsonrpc_observe(&p, 200, 10, 10);
    assert_int_equal(metrics_get_rpc_calls("_unknown", false), 1);
    proxy_jsonrpc_peek_cleanup(&p);

    /* Other methods, non-JSON requests and batches without tools/call:
     * nothing at all. */
    static const char *const quiet[] = {
        "{\"method\":\"initialize\",\"params\":{\"name\":\"x\"}}",
        "{\"method\":\"tools/list\"}",
        "{\"method\":\"notifications/initialized\"}",
        "{\"method\":\"prompts/get\",\"params\":{\"name\":\"search\"}}",
        "not json",
        "[{\"method\":\"tools/list\"},{\"method\":\"ping\"}]",
    };
    for (size_t i = 0; i < COUNT_OF(quiet); i++) {
        peek(quiet[i], &p);
        proxy_jsonrpc_observe(&p, 200, 10, 10);
        proxy_jsonrpc_peek_cleanup(&p);
    }
    assert_int_equal(metrics_get_rpc_calls("search", false), 2);
    assert_int_equal(metrics_get_rpc_calls("x", false), 0);
    assert_int_equal(metrics_get(METRICS_RPC_BATCHES), 0);
    struct proxy_jsonrpc_peek none;
    memset(&none, 0, sizeof(none));
    proxy_jsonrpc_observe(&none, 200, 10, 10);
    assert_int_equal(metrics_get_rpc_calls("_unknown", false), 1);
    metrics_reset();
}

static void
test_observe_batch(void **state)
{
    (void)state;
    metrics_reset();
    metrics_set_tool_cardinality_cap(256);
    struct proxy_jsonrpc_peek p;
    peek("[{\"method\":\"tools/call\",\"params\":{\"name\":\"a\"}},"
         "{\"method\":\"tools/list\"},"
         "{\"method\":\"tools/call\",\"params\":{\"name\":\"b\"}},"
         "{\"method\":\"tools/call\",\"params\":{\"name\":\"a\"}}]",
         &p);
    proxy_jsonrpc_observe(&p, 200, 500, 900);
    assert_int_equal(metrics_get_rpc_calls("a", false), 2);
    assert_int_equal(metrics_get_rpc_calls("b", false), 1);
    assert_int_equal(metrics_get_rpc_calls("a", true), 0);
    assert_int_equal(metrics_get(METRICS_RPC_BATCHES), 1);
    assert_int_equal(metrics_get(METRICS_RPC_BATCHES_FAILED), 0);
    assert_true(exposition_has("mcp_auth_rpc_batch_bytes_total{direction=\"request\"} 500\n"));
    assert_true(exposition_has("mcp_auth_rpc_batch_bytes_total{direction=\"response\"} 900\n"));
    /* No per-tool byte counters for batch entries. */
    assert_false(exposition_has("mcp_auth_rpc_request_bytes_total{tool=\"a\"}"));
    proxy_jsonrpc_observe(&p, 500, -1, 0);
    assert_int_equal(metrics_get_rpc_calls("a", true), 2);
    assert_int_equal(metrics_get_rpc_calls("b", true), 1);
    assert_int_equal(metrics_get(METRICS_RPC_BATCHES), 2);
    assert_int_equal(metrics_get(METRICS_RPC_BATCHES_FAILED), 1);
    assert_true(exposition_has("mcp_auth_rpc_batch_bytes_total{direction=\"request\"} 500\n"));
    proxy_jsonrpc_peek_cleanup(&p);
    metrics_reset();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single),        cmocka_unit_test(test_single_id_forms),
        cmocka_unit_test(test_single_fields), cmocka_unit_test(test_no_fields),
        cmocka_unit_test(test_batch),         cmocka_unit_test(test_batch_cap),
        cmocka_unit_test(test_body_over_max), cmocka_unit_test(test_eligible),
        cmocka_unit_test(test_sanitize),      cmocka_unit_test(test_observe_single),
        cmocka_unit_test(test_observe_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
