/* oauth/error: the code table, the description sanitiser and the JSON
 * envelope of SPEC.md 3.0.5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "oauth/error.h"

static void
test_code_table_complete_and_round_trips(void **state)
{
    (void)state;
    static const char *const expected[OAUTH_ERROR_CODE_COUNT] = {
        "invalid_request",         "invalid_client",
        "invalid_grant",           "unauthorized_client",
        "unsupported_grant_type",  "unsupported_response_type",
        "invalid_scope",           "invalid_target",
        "invalid_redirect_uri",    "invalid_client_metadata",
        "access_denied",           "server_error",
        "temporarily_unavailable", "invalid_token",
        "insufficient_scope",      "not_found",
    };
    for (int i = 0; i < OAUTH_ERROR_CODE_COUNT; i++) {
        const char *name = oauth_error_code_str((enum oauth_error_code)i);
        assert_string_equal(name, expected[i]);
        assert_int_equal(oauth_error_code_from_str(slice_from_cstr(name)), i);
    }
    assert_string_equal(oauth_error_code_str(OAUTH_ERROR_CODE_COUNT), "server_error");
    assert_int_equal(oauth_error_code_from_str(SLICE_LIT("Invalid_Request")), -1);
    assert_int_equal(oauth_error_code_from_str(SLICE_LIT("")), -1);
}

struct format_row {
    struct oauth_error err;
    const char *body;
};

static const struct format_row format_rows[] = {
    /* the 77-byte body quoted in the runbook (SPEC.md 3.0.5) */
    {{400, OAUTH_ERROR_INVALID_CLIENT, "client registration expired", NULL},
     "{\"error\":\"invalid_client\",\"error_description\":\"client registration expired\"}\n"},
    {{404, OAUTH_ERROR_NOT_FOUND, NULL, NULL}, "{\"error\":\"not_found\"}\n"},
    {{400, OAUTH_ERROR_INVALID_REQUEST, "", ""}, "{\"error\":\"invalid_request\"}\n"},
    {{503, OAUTH_ERROR_SERVER_ERROR, "replay store unavailable", "replay_store_unavailable"},
     "{\"error\":\"server_error\",\"error_description\":\"replay store unavailable\","
     "\"error_code\":\"replay_store_unavailable\"}\n"},
    /* error_code without a description keeps its key */
    {{400, OAUTH_ERROR_INVALID_GRANT, NULL, "code_replay"},
     "{\"error\":\"invalid_grant\",\"error_code\":\"code_replay\"}\n"},
    /* the em dash of the refresh-reuse description leaves two spaces */
    {{400, OAUTH_ERROR_INVALID_GRANT, "refresh token reuse detected \xe2\x80\x94 family revoked",
      "refresh_reuse_detected"},
     "{\"error\":\"invalid_grant\",\"error_description\":\"refresh token reuse detected  "
     "family revoked\",\"error_code\":\"refresh_reuse_detected\"}\n"},
    /* JSON escaping of what survives the sanitiser, HTML-safe as Go's encoder */
    {{400, OAUTH_ERROR_INVALID_REQUEST, "a\"b\\c<d>&e\r\nf\tg", NULL},
     "{\"error\":\"invalid_request\",\"error_description\":"
     "\"a\\\"b\\\\c\\u003cd\\u003e\\u0026efg\"}\n"},
};

static void
test_format_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(format_rows) / sizeof(format_rows[0]); i++) {
        struct buf b;
        buf_init(&b, 4096);
        assert_int_equal(oauth_error_format_json(&format_rows[i].err, &b), 0);
        assert_string_equal(buf_cstr(&b), format_rows[i].body);
        buf_cleanup(&b);
    }
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(oauth_error_format_json(&format_rows[0].err, &b), 0);
    assert_int_equal(b.len, 77);
    buf_cleanup(&b);
}

static void
test_format_at_cap(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 20);
    assert_int_equal(oauth_error_format_json(&format_rows[0].err, &b), -1);
    buf_cleanup(&b);
}

static void
test_sanitize(void **state)
{
    (void)state;
    char out[OAUTH_ERROR_DESCRIPTION_BUF];
    char long_in[300];
    memset(long_in, 'a', sizeof(long_in));
    /* cut to 200 bytes */
    assert_int_equal(oauth_error_sanitize_description(slice_make(long_in, 300), out), 200);
    assert_int_equal(strlen(out), 200);
    /* cut first, then filter: a 2-byte character straddling byte 200 goes,
     * and the bytes after it never come back */
    memset(long_in, 'b', sizeof(long_in));
    long_in[199] = '\xc3';
    long_in[200] = '\xa9';
    assert_int_equal(oauth_error_sanitize_description(slice_make(long_in, 300), out), 199);
    /* control bytes, DEL and non-ASCII dropped; space and '~' kept */
    assert_int_equal(oauth_error_sanitize_description(SLICE_LIT("a\r\nb\tc\x7f\x01 ~\x80"), out),
                     5);
    assert_string_equal(out, "abc ~");
    assert_int_equal(oauth_error_sanitize_description(SLICE_NULL, out), 0);
    assert_string_equal(out, "");
}

static void
test_set_clears_error_code(void **state)
{
    (void)state;
    struct oauth_error err = {500, OAUTH_ERROR_SERVER_ERROR, "x", "stale"};
    oauth_error_set(&err, 413, OAUTH_ERROR_INVALID_REQUEST, "request body exceeds the 64 KiB cap");
    assert_int_equal(err.status, 413);
    assert_int_equal(err.code, OAUTH_ERROR_INVALID_REQUEST);
    assert_string_equal(err.description, "request body exceeds the 64 KiB cap");
    assert_null(err.error_code);
}

/* SPEC.md 3.7 step 2: the IdP's own error passes only when it is one of
 * eight; everything else collapses to server_error. */
static void
test_from_idp(void **state)
{
    (void)state;
    static const struct {
        const char *idp;
        enum oauth_error_code mapped;
    } rows[] = {
        {"invalid_request", OAUTH_ERROR_INVALID_REQUEST},
        {"invalid_client", OAUTH_ERROR_INVALID_CLIENT},
        {"unauthorized_client", OAUTH_ERROR_UNAUTHORIZED_CLIENT},
        {"access_denied", OAUTH_ERROR_ACCESS_DENIED},
        {"unsupported_response_type", OAUTH_ERROR_UNSUPPORTED_RESPONSE_TYPE},
        {"invalid_scope", OAUTH_ERROR_INVALID_SCOPE},
        {"server_error", OAUTH_ERROR_SERVER_ERROR},
        {"temporarily_unavailable", OAUTH_ERROR_TEMPORARILY_UNAVAILABLE},
        {"invalid_grant", OAUTH_ERROR_SERVER_ERROR},
        {"login_required", OAUTH_ERROR_SERVER_ERROR},
        {"ACCESS_DENIED", OAUTH_ERROR_SERVER_ERROR},
        {"access_denied ", OAUTH_ERROR_SERVER_ERROR},
        {"<script>", OAUTH_ERROR_SERVER_ERROR},
        {"", OAUTH_ERROR_SERVER_ERROR},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(oauth_error_from_idp(slice_from_cstr(rows[i].idp)), rows[i].mapped);
    }
}

/* The grants_rc table: every token, every failing outcome, one 400 each;
 * the three failures that say nothing more (did not open, bad payload,
 * another typ) read the same. */
static void
test_from_grants_table(void **state)
{
    (void)state;
    static const struct {
        enum oauth_error_token token;
        enum oauth_error_code code;
        const char *audience, *expired, *invalid;
    } rows[] = {
        {OAUTH_ERROR_TOKEN_CONSENT, OAUTH_ERROR_INVALID_REQUEST,
         "consent token bound to a different audience", "consent token expired",
         "consent token invalid or expired"},
        {OAUTH_ERROR_TOKEN_SESSION, OAUTH_ERROR_INVALID_REQUEST,
         "session bound to a different audience", "session expired", "unknown or expired state"},
        {OAUTH_ERROR_TOKEN_CODE, OAUTH_ERROR_INVALID_GRANT,
         "authorization code bound to a different audience", "authorization code expired",
         "invalid or expired authorization code"},
        {OAUTH_ERROR_TOKEN_REFRESH, OAUTH_ERROR_INVALID_GRANT,
         "refresh token bound to a different audience", "refresh token expired",
         "invalid or expired refresh token"},
    };
    _Static_assert(sizeof(rows) / sizeof(rows[0]) == OAUTH_ERROR_TOKEN_COUNT, "every token");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct oauth_error err = {.status = -1, .description = "untouched"};
        assert_true(oauth_error_from_grants(rows[i].token, GRANTS_OK, &err));
        assert_int_equal(err.status, -1);
        assert_string_equal(err.description, "untouched");
        for (int rc = GRANTS_ERR_OPEN; rc < GRANTS_RC_COUNT; rc++) {
            err.error_code = "stale";
            assert_false(oauth_error_from_grants(rows[i].token, (enum grants_rc)rc, &err));
            assert_int_equal(err.status, 400);
            assert_int_equal(err.code, rows[i].code);
            assert_null(err.error_code);
            const char *want = rc == GRANTS_ERR_AUDIENCE  ? rows[i].audience
                               : rc == GRANTS_ERR_EXPIRED ? rows[i].expired
                                                          : rows[i].invalid;
            assert_string_equal(err.description, want);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_table_complete_and_round_trips),
        cmocka_unit_test(test_format_table),
        cmocka_unit_test(test_format_at_cap),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_set_clears_error_code),
        cmocka_unit_test(test_from_idp),
        cmocka_unit_test(test_from_grants_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
