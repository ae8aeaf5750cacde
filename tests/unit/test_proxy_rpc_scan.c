/* proxy/rpc_scan: the one-pass reader of JSON-RPC bodies, checked
 * differentially against the jansson reference (fuzz/rpc_scan_diff.h:
 * validity, the peek both ways, the policy's reading) over a table of
 * tricky bodies, plus what the scan itself promises: which bodies it
 * refuses, which rare shapes it hands to the reference, and that the
 * common single call needs no allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../fuzz/rpc_scan_diff.h"
#include "base/buf.h"
#include "base/xalloc.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
    const char *name;
    const char *body;
    size_t len;
} rows[] = {
    {"single_tools_call",
     "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/"
     "call\",\"params\":{\"name\":\"search\",\"arguments\":{\"q\":\"x\"}}}",
     95},
    {"escaped_method_and_name",
     "{\"id\":1,\"method\":\"tools\\/call\",\"params\":{\"name\":\"s\\u00e9arch\\n\"}}", 65},
    {"escaped_keys",
     "{\"\\u006dethod\":\"tools/call\",\"par\\u0061ms\":{\"n\\u0061me\":\"x\"},\"i\\u0064\":\"a\"}",
     74},
    {"dup_escaped_key", "{\"id\":1,\"\\u0069d\":2}", 20},
    {"dup_top", "{\"method\":\"a\",\"method\":\"b\"}", 27},
    {"dup_nested_deep",
     "{\"method\":\"x\",\"params\":{\"arguments\":{\"a\":1,\"b\":{\"c\":1,\"c\":2}}}}", 63},
    {"dup_in_batch_entry", "[{\"method\":\"a\"},{\"id\":1,\"id\":2}]", 32},
    {"same_key_sibling_objects", "{\"a\":{\"x\":1},\"b\":{\"x\":1},\"x\":[{\"x\":1},{\"x\":2}]}",
     47},
    {"dup_after_nested_close", "{\"a\":{\"b\":1},\"b\":2,\"a\":3}", 25},
    {"surrogate_pair", "{\"method\":\"\\ud83d\\ude00\",\"id\":\"\\uD83D\\uDE00\"}", 45},
    {"lone_high_surrogate", "{\"method\":\"\\ud83d\"}", 19},
    {"lone_low_surrogate", "{\"method\":\"\\ude00\"}", 19},
    {"high_then_non_low", "{\"method\":\"\\ud83d\\u0041\"}", 25},
    {"high_then_text", "{\"method\":\"\\ud83dx\"}", 20},
    {"nul_escape_value", "{\"method\":\"a\\u0000b\"}", 21},
    {"nul_escape_key", "{\"a\\u0000\":1}", 13},
    {"raw_nul", "{\"method\":\"a\000b\"}", 16},
    {"raw_tab_in_string", "{\"method\":\"a\011b\"}", 16},
    {"invalid_utf8", "{\"method\":\"\377\"}", 14},
    {"overlong_utf8", "{\"method\":\"\300\257\"}", 15},
    {"utf8_surrogate", "{\"method\":\"\355\240\200\"}", 16},
    {"truncated_utf8", "{\"method\":\"\342\202\"}", 15},
    {"past_10ffff_utf8", "{\"method\":\"\364\220\200\200\"}", 17},
    {"valid_utf8_name",
     "{\"method\":\"tools/call\",\"params\":{\"name\":\"caf\303\251 \360\237\230\200\"}}", 54},
    {"utf8_outside_string", "{\"id\":1}\303\251", 10},
    {"int64_max", "{\"id\":9223372036854775807}", 26},
    {"int64_max_plus_1", "{\"id\":9223372036854775808}", 26},
    {"int64_min", "{\"id\":-9223372036854775808}", 27},
    {"int64_min_minus_1", "{\"id\":-9223372036854775809}", 27},
    {"long_int", "{\"id\":123456789012345678901234567890}", 37},
    {"minus_zero", "{\"id\":-0,\"method\":\"a\"}", 22},
    {"real_id", "{\"id\":1.50,\"method\":\"a\"}", 24},
    {"real_overflow", "{\"id\":1e400}", 12},
    {"real_underflow", "{\"id\":1e-400}", 13},
    {"real_minus_zero", "{\"id\":-0.0}", 11},
    {"real_exp_plus", "{\"id\":1E+2}", 11},
    {"real_tenth", "{\"id\":0.1}", 10},
    {"real_big_mantissa", "{\"id\":123456789012345678901234567890.5}", 39},
    {"real_long_fallback",
     "{\"id\":0."
     "111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
     "1111111}",
     109},
    {"real_long_overflow",
     "{\"x\":"
     "100000000000000000000000000000000000000000000000000000000000000000000000000000000e300}",
     91},
    {"real_1e22", "{\"id\":1e22}", 11},
    {"real_5e-324", "{\"id\":5e-324}", 13},
    {"leading_zero", "{\"id\":01}", 9},
    {"dot_no_digit", "{\"id\":1.}", 9},
    {"dot_first", "{\"id\":.5}", 9},
    {"lone_minus", "{\"id\":-}", 8},
    {"plus_sign", "{\"id\":+1}", 9},
    {"exp_no_digit", "{\"id\":1e}", 9},
    {"batch_two",
     "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/"
     "list\"},{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}]",
     103},
    {"batch_empty", "[]", 2},
    {"batch_null", "[null]", 6},
    {"batch_scalar", "[1]", 3},
    {"batch_call_and_response",
     "[{\"method\":\"tools/call\",\"params\":{\"name\":\"a\"},\"id\":1},{\"result\":{},\"id\":2}]",
     75},
    {"batch_bad_params", "[{\"method\":\"x\",\"params\":1}]", 27},
    {"batch_empty_method", "[{\"method\":\"\"},{\"method\":\"a\"}]", 30},
    {"batch_escaped_tools_call",
     "[{\"method\":\"tools\\/call\",\"params\":{\"name\":\"\\u0041b\"}}]", 54},
    {"trailing_garbage", "{\"method\":\"a\"} x", 16},
    {"trailing_value", "{\"method\":\"a\"}{}", 16},
    {"trailing_newline", "{\"method\":\"a\"}\012", 15},
    {"bom", "\357\273\277{\"method\":\"a\"}", 17},
    {"whitespace_all", " \011\015\012{ \"method\" :\011\"a\" ,\012\"id\" : 1 }\015\012", 35},
    {"vertical_tab", "\013{\"method\":\"a\"}", 15},
    {"form_feed", "\014{\"method\":\"a\"}", 15},
    {"top_null", "null", 4},
    {"top_string", "\"tools/call\"", 12},
    {"top_number", "1", 1},
    {"top_true", "true", 4},
    {"top_empty_object", "{}", 2},
    {"empty", "", 0},
    {"only_space", "   ", 3},
    {"response_result", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", 36},
    {"response_error_null", "{\"id\":1,\"error\":null}", 21},
    {"no_method_no_result", "{\"id\":1}", 8},
    {"method_number", "{\"method\":1}", 12},
    {"method_null", "{\"method\":null,\"id\":1}", 22},
    {"name_number", "{\"method\":\"tools/call\",\"params\":{\"name\":1}}", 43},
    {"name_null", "{\"method\":\"tools/call\",\"params\":{\"name\":null}}", 46},
    {"other_name_null", "{\"method\":\"x/y\",\"params\":{\"name\":null}}", 39},
    {"resources_read_uri",
     "{\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///x\",\"name\":3},\"id\":\"r1\"}",
     75},
    {"resources_case_uri_number", "{\"method\":\"Resources/Read\",\"params\":{\"uri\":2}}", 46},
    {"resources_prefix_only", "{\"method\":\"resources/\",\"params\":{\"uri\":2}}", 42},
    {"other_name_number", "{\"method\":\"other\",\"params\":{\"name\":5}}", 38},
    {"params_array", "{\"method\":\"x\",\"params\":[1]}", 27},
    {"params_string", "{\"method\":\"tools/call\",\"params\":\"x\"}", 36},
    {"params_null", "{\"method\":\"tools/call\",\"params\":null}", 37},
    {"prompts_get", "{\"method\":\"prompts/get\",\"params\":{\"name\":\"p\"},\"id\":2}", 53},
    {"id_string_escapes",
     "{\"id\":\"a\\\"b\\\\c\\n\\u001f/\\u00e9\\b\\f\\r\\t\",\"method\":\"tools/call\"}", 61},
    {"id_object", "{\"id\":{\"a\":[1,2]},\"method\":\"a\"}", 31},
    {"id_array", "{\"id\":[1],\"method\":\"a\"}", 23},
    {"id_true", "{\"id\":true,\"method\":\"a\"}", 24},
    {"id_null", "{\"id\":null,\"method\":\"a\"}", 24},
    {"id_long_string",
     "{\"id\":"
     "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxx\",\"method\":\"tools/call\"}",
     231},
    {"id_escaped_slash", "{\"id\":\"a\\/b\",\"method\":\"a\"}", 26},
    {"literal_short", "{\"id\":tru}", 10},
    {"literal_long", "{\"id\":nulll}", 12},
    {"literal_double", "{\"id\":truefalse}", 16},
    {"literal_caps", "{\"id\":True}", 11},
    {"bad_escape", "{\"method\":\"\\x\"}", 15},
    {"short_u_escape", "{\"method\":\"\\u12\"}", 17},
    {"bad_hex_escape", "{\"method\":\"\\u12G4\"}", 19},
    {"unterminated_string", "{\"method\":\"abc", 14},
    {"unterminated_object", "{\"method\":\"abc\"", 15},
    {"key_not_string", "{1:2}", 5},
    {"missing_colon", "{\"a\" 1}", 7},
    {"trailing_comma_object", "{\"a\":1,}", 8},
    {"trailing_comma_array", "[1,]", 4},
    {"missing_comma", "[1 2]", 5},
    {"upper_method_key", "{\"Method\":\"tools/call\"}", 23},
    {"method_tools_call_case", "{\"method\":\"Tools/Call\",\"params\":{\"name\":\"a\"}}", 45},
    {"hex_upper_escape", "{\"method\":\"\\u0054ools/call\",\"params\":{\"name\":\"\\u00C9\"}}", 55},
    {"real_at_overflow_midpoint",
     "{\"id\":"
     "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977"
     "587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845"
     "817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559"
     "699508093042880177904174497792.0}",
     318},
    {"real_below_overflow_midpoint",
     "{\"id\":"
     "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977"
     "587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845"
     "817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559"
     "699508093042880177904174497791.9999}",
     321},
    {"real_midpoint_scaled",
     "{\"id\":0."
     "000179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017"
     "977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854"
     "845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711"
     "559699508093042880177904174497792e312}",
     325},
    {"real_dbl_max", "{\"id\":1.7976931348623158e308}", 29},
    {"real_past_dbl_max", "{\"id\":1.7976931348623159e308}", 29},
    {"real_1e309_neg", "{\"id\":-1e309}", 13},
    {"real_1e308", "{\"id\":1e308}", 12},
    {"real_zero_huge_exp", "{\"id\":0.0e99999999999999999999}", 31},
    {"real_tiny_huge_neg_exp", "{\"id\":1e-99999999999999999999999}", 33},
    {"real_huge_exp", "{\"x\":1e+99999999999999999999999}", 32},
    {"real_id_reencoded", "{\"id\":1.0e2,\"method\":\"a\"}", 25},
};

static void
expect_same(const char *name, struct slice body)
{
    const char *diff = rpc_scan_diff(body);
    if (diff != NULL) {
        fail_msg("%s: the scan differs from jansson: %s", name, diff);
    }
}

/* Every row reads the same through the scan as through jansson. */
static void
test_table_matches_reference(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT_OF(rows); i++) {
        expect_same(rows[i].name, slice_make(rows[i].body, rows[i].len));
    }
}

static enum proxy_rpc_scan_rc
scan_rc(struct slice body)
{
    struct proxy_rpc_scan s;
    proxy_rpc_scan_body(body, BOUNDS_MCP_BODY_MAX, &s);
    enum proxy_rpc_scan_rc rc = s.rc;
    proxy_rpc_scan_cleanup(&s);
    return rc;
}

/* The scan's own verdicts on the strict rules (not just agreement). */
static void
test_strict_rules(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        enum proxy_rpc_scan_rc want;
    } cases[] = {
        {"{\"method\":\"a\"}", PROXY_RPC_SCAN_OK},
        {"{\"id\":1,\"\\u0069d\":2}", PROXY_RPC_SCAN_MALFORMED},
        {"{\"a\":{\"c\":1,\"c\":2}}", PROXY_RPC_SCAN_MALFORMED},
        {"{\"a\":{\"c\":1},\"b\":{\"c\":2}}", PROXY_RPC_SCAN_OK},
        {"{\"m\":\"\\ud83d\"}", PROXY_RPC_SCAN_MALFORMED},
        {"{\"m\":\"\\ude00\"}", PROXY_RPC_SCAN_MALFORMED},
        {"{\"m\":\"\\ud83d\\ude00\"}", PROXY_RPC_SCAN_OK},
        {"{\"m\":\"\\u0000\"}", PROXY_RPC_SCAN_MALFORMED},
        {"{\"m\":\"\xc0\xaf\"}", PROXY_RPC_SCAN_MALFORMED},
        {"{\"id\":9223372036854775807}", PROXY_RPC_SCAN_OK},
        {"{\"id\":9223372036854775808}", PROXY_RPC_SCAN_MALFORMED},
        {"{\"id\":-9223372036854775808}", PROXY_RPC_SCAN_OK},
        {"{\"id\":1e400}", PROXY_RPC_SCAN_MALFORMED},
        {"{\"id\":1e-400}", PROXY_RPC_SCAN_OK},
        {"{} x", PROXY_RPC_SCAN_MALFORMED},
        {"\xef\xbb\xbf{}", PROXY_RPC_SCAN_MALFORMED},
        {"", PROXY_RPC_SCAN_MALFORMED},
    };
    for (size_t i = 0; i < COUNT_OF(cases); i++) {
        if (scan_rc(slice_from_cstr(cases[i].body)) != cases[i].want) {
            fail_msg("case %zu (%s): wrong verdict", i, cases[i].body);
        }
    }
}

/* Nesting at and past jansson's limit: 2048 containers deep is a value,
 * a scalar inside them is one level too many. */
static void
test_depth_limit(void **state)
{
    (void)state;
    static const struct {
        size_t arrays;
        bool scalar;
        enum proxy_rpc_scan_rc want;
    } cases[] = {
        {2047, true, PROXY_RPC_SCAN_OK},
        {2048, false, PROXY_RPC_SCAN_OK},
        {2048, true, PROXY_RPC_SCAN_MALFORMED},
        {2049, false, PROXY_RPC_SCAN_MALFORMED},
    };
    for (size_t c = 0; c < COUNT_OF(cases); c++) {
        size_t n = cases[c].arrays;
        char *b = xmalloc(2 * n + 2);
        size_t len = 0;
        memset(b, '[', n);
        len += n;
        if (cases[c].scalar) {
            b[len++] = '1';
        }
        memset(b + len, ']', n);
        len += n;
        struct slice body = slice_make(b, len);
        assert_int_equal(scan_rc(body), cases[c].want);
        expect_same("depth", body);
        xfree(b);
    }
}

/* Built bodies too big for the table: many keys (past the duplicate
 * check's room: handed to the reference), a long batch (likewise), deep
 * objects, long strings. Each reads as jansson reads it. */
static void
test_big_shapes(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);

    /* 300 keys in one object, then a duplicate of the 8th. */
    for (int dup = 0; dup < 2; dup++) {
        buf_reset(&b);
        assert_int_equal(buf_append_str(&b, "{"), 0);
        for (int i = 0; i < 300; i++) {
            char k[32];
            snprintf(k, sizeof(k), "\"k%d\":%d,", i, i);
            assert_int_equal(buf_append_str(&b, k), 0);
        }
        assert_int_equal(buf_append_str(&b, dup ? "\"k7\":1}" : "\"method\":\"tools/call\"}"), 0);
        assert_int_equal(scan_rc(slice_make(b.ptr, b.len)), PROXY_RPC_SCAN_FALLBACK);
        expect_same("many keys", slice_make(b.ptr, b.len));
    }

    /* Batches of 256 (scanned) and 257 (handed over). */
    for (int n = 256; n <= 257; n++) {
        buf_reset(&b);
        assert_int_equal(buf_append_str(&b, "["), 0);
        for (int i = 0; i < n; i++) {
            char e[80];
            snprintf(e, sizeof(e), "%s{\"method\":\"tools/call\",\"params\":{\"name\":\"t%d\"}}",
                     i ? "," : "", i);
            assert_int_equal(buf_append_str(&b, e), 0);
        }
        assert_int_equal(buf_append_str(&b, "]"), 0);
        assert_int_equal(scan_rc(slice_make(b.ptr, b.len)),
                         n == 256 ? PROXY_RPC_SCAN_OK : PROXY_RPC_SCAN_FALLBACK);
        expect_same("batch", slice_make(b.ptr, b.len));
    }

    /* Objects 100 deep (scanned), 2048 deep and 2049 deep (handed over). */
    static const size_t depths[] = {100, 2048, 2049};
    for (size_t d = 0; d < COUNT_OF(depths); d++) {
        buf_reset(&b);
        for (size_t i = 1; i < depths[d]; i++) {
            assert_int_equal(buf_append_str(&b, "{\"a\":"), 0);
        }
        assert_int_equal(buf_append_str(&b, "{}"), 0);
        for (size_t i = 1; i < depths[d]; i++) {
            assert_int_equal(buf_append_str(&b, "}"), 0);
        }
        expect_same("deep objects", slice_make(b.ptr, b.len));
    }

    /* Long escaped and unescaped names and ids. */
    buf_reset(&b);
    assert_int_equal(buf_append_str(&b, "{\"id\":\""), 0);
    for (int i = 0; i < 500; i++) {
        assert_int_equal(buf_append_str(&b, "\\n\\u00e9\\\""), 0);
    }
    assert_int_equal(
        buf_append_str(&b, "\",\"method\":\"tools/call\",\"params\":{\"name\":\"\\u00e9"), 0);
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(buf_append_str(&b, "n"), 0);
    }
    assert_int_equal(buf_append_str(&b, "\"}}"), 0);
    assert_int_equal(scan_rc(slice_make(b.ptr, b.len)), PROXY_RPC_SCAN_OK);
    expect_same("long strings", slice_make(b.ptr, b.len));
    buf_cleanup(&b);
}

/* Every body of the table also with each byte dropped in turn: truncations
 * and joined tokens are where a hand-written scanner goes wrong. */
static void
test_table_mutations(void **state)
{
    (void)state;
    char tmp[512];
    /* rows are at most 480 bytes */
    for (size_t i = 0; i < COUNT_OF(rows); i++) {
        size_t n = rows[i].len;
        if (n > sizeof(tmp)) {
            continue;
        }
        for (size_t drop = 0; drop < n; drop++) {
            memcpy(tmp, rows[i].body, drop);
            memcpy(tmp + drop, rows[i].body + drop + 1, n - drop - 1);
            expect_same(rows[i].name, slice_make(tmp, n - 1));
        }
    }
}

/* The common single call: the scan, the peek and the policy's reading
 * allocate nothing (counted through xalloc's hook would need one; the
 * results' pointers show it instead: no batch array, call strings in the
 * struct, the policy's one entry inline and its strings in the body). */
static void
test_single_call_is_inline(void **state)
{
    (void)state;
    struct slice body = slice_from_cstr("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
                                        "\"params\":{\"name\":\"search\",\"arguments\":{}}}");
    struct proxy_rpc_scan s;
    proxy_rpc_scan_body(body, BOUNDS_MCP_BODY_MAX, &s);
    assert_int_equal(s.rc, PROXY_RPC_SCAN_OK);
    assert_null(s.msgs);
    struct proxy_jsonrpc_peek p;
    proxy_jsonrpc_peek_from_scan(&s, body, body.len, true, &p);
    assert_ptr_equal(p.call_method, p.call_method_small);
    assert_ptr_equal(p.call_name, p.call_name_small);
    assert_ptr_equal(p.call_id_json, p.call_id_small);
    assert_string_equal(p.call_id_json, "7");
    assert_string_equal(p.tool, "search");
    proxy_jsonrpc_peek_cleanup(&p);
    struct proxy_policy_calls c;
    assert_null(proxy_policy_calls_from_scan(SLICE_LIT("application/json"), &s, body, &c));
    assert_ptr_equal(c.items, &c.one);
    assert_null(c.decoded);
    assert_ptr_equal(c.one.id_json, c.one.id_small);
    assert_true(c.one.method.ptr >= body.ptr && c.one.method.ptr < body.ptr + body.len);
    assert_true(c.one.name.ptr >= body.ptr && c.one.name.ptr < body.ptr + body.len);
    proxy_policy_calls_cleanup(&c);
    proxy_rpc_scan_cleanup(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_reference),
        cmocka_unit_test(test_strict_rules),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_big_shapes),
        cmocka_unit_test(test_table_mutations),
        cmocka_unit_test(test_single_call_is_inline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
