/* oauth/register_rules: POST /register body rules, SPEC.md 3.2 steps 1-8, one
 * row per rule and per ordering between rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "oauth/register_rules.h"

#define BAD_JSON "invalid JSON body"
#define NO_URIS "redirect_uris is required and must not be empty"
#define TOO_MANY_URIS "redirect_uris exceeds maximum count"
#define NAME_LONG "client_name exceeds maximum length"
#define NAME_BYTES "client_name must not contain control bytes or commas"
#define BAD_METHOD "unsupported token_endpoint_auth_method; only \"none\" is supported"
#define BAD_APP_TYPE "application_type must be \"native\" or \"web\""
#define BAD_SCHEME "redirect_uri scheme is not allowed"

#define OK_URI "\"https://app.example.com/cb\""
#define URIS(x) "{\"redirect_uris\":[" x "]"

struct row {
    const char *body;
    int status; /* 0 = accepted */
    enum oauth_error_code code;
    const char *description;
};

static const struct row rows[] = {
    /* accepted shapes */
    {URIS(OK_URI) "}", 0, 0, NULL},
    {URIS(OK_URI) ",\"client_name\":\"My App\",\"token_endpoint_auth_method\":\"none\"}", 0, 0,
     NULL},
    {URIS(OK_URI) ",\"token_endpoint_auth_method\":\"\"}", 0, 0, NULL},
    {URIS(OK_URI) ",\"client_name\":null,\"token_endpoint_auth_method\":null}", 0, 0, NULL},
    {" \n\t" URIS(OK_URI) "} \r\n", 0, 0, NULL},
    /* unknown keys ignored, whatever their type */
    {URIS(OK_URI) ",\"grant_types\":[\"authorization_code\"],\"logo_uri\":5,\"x\":{}}", 0, 0, NULL},
    /* C1 controls and other non-ASCII are not C0/DEL: accepted */
    {URIS(OK_URI) ",\"client_name\":\"Caf\\u00e9 \\u0080 \\u202e\"}", 0, 0, NULL},

    /* 1. decode failures */
    {"", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {"   ", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {"{", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {"{redirect_uris:[]}", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {"[]", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {"\"x\"", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {"1", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {"true", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {"{\"redirect_uris\":\"https://app.example.com/cb\"}", 400, OAUTH_ERROR_INVALID_REQUEST,
     BAD_JSON},
    {"{\"redirect_uris\":{}}", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {URIS(OK_URI ",1") "}", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {URIS(OK_URI) ",\"client_name\":5}", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {URIS(OK_URI) ",\"client_name\":[\"a\"]}", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {URIS(OK_URI) ",\"token_endpoint_auth_method\":true}", 400, OAUTH_ERROR_INVALID_REQUEST,
     BAD_JSON},
    /* a type mismatch is a decode error even when later rules would fail */
    {"{\"redirect_uris\":[],\"client_name\":1}", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    /* duplicate keys are refused (jsonx; Go kept the last one) */
    {URIS(OK_URI) ",\"client_name\":\"a\",\"client_name\":\"b\"}", 400, OAUTH_ERROR_INVALID_REQUEST,
     BAD_JSON},
    {"{\"client_name\":\"\\ud800\"}", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    /* 2. anything but whitespace after the first value */
    {"{}{}", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {URIS(OK_URI) "} {\"a\":1}", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {URIS(OK_URI) "} x", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},
    {"null null", 400, OAUTH_ERROR_INVALID_REQUEST, BAD_JSON},

    /* 3. redirect_uris missing, null or empty; a null body is all-empty */
    {"null", 400, OAUTH_ERROR_INVALID_REDIRECT_URI, NO_URIS},
    {"{}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI, NO_URIS},
    {"{\"redirect_uris\":null}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI, NO_URIS},
    {"{\"redirect_uris\":[]}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI, NO_URIS},
    {"{\"Redirect_URIs\":[" OK_URI "]}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI, NO_URIS},
    /* 4. count */
    {URIS(OK_URI "," OK_URI "," OK_URI "," OK_URI "," OK_URI) "}", 0, 0, NULL},
    {URIS(OK_URI "," OK_URI "," OK_URI "," OK_URI "," OK_URI "," OK_URI) "}", 400,
     OAUTH_ERROR_INVALID_REDIRECT_URI, TOO_MANY_URIS},
    /* count is checked before the name and before each URI */
    {URIS("\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"") ",\"client_name\":\"a,b\"}", 400,
     OAUTH_ERROR_INVALID_REDIRECT_URI, TOO_MANY_URIS},

    /* 6. forbidden bytes in client_name: every C0 byte, DEL and ',' */
    {URIS(OK_URI) ",\"client_name\":\"a\\nb\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     NAME_BYTES},
    {URIS(OK_URI) ",\"client_name\":\"a\\rb\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     NAME_BYTES},
    {URIS(OK_URI) ",\"client_name\":\"a\\tb\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     NAME_BYTES},
    {URIS(OK_URI) ",\"client_name\":\"a\\u0000b\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     NAME_BYTES},
    {URIS(OK_URI) ",\"client_name\":\"a\\u000bb\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     NAME_BYTES},
    {URIS(OK_URI) ",\"client_name\":\"a\\fb\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     NAME_BYTES},
    {URIS(OK_URI) ",\"client_name\":\"a,b\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     NAME_BYTES},
    /* SPEC fix 7: the ones Go let through */
    {URIS(OK_URI) ",\"client_name\":\"a\\u0001b\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     NAME_BYTES},
    {URIS(OK_URI) ",\"client_name\":\"a\\u001bb\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     NAME_BYTES},
    {URIS(OK_URI) ",\"client_name\":\"a\\u001fb\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     NAME_BYTES},
    {URIS(OK_URI) ",\"client_name\":\"a\\u007fb\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     NAME_BYTES},
    /* the name is checked before the URIs */
    {URIS("\"ftp://x/\"") ",\"client_name\":\"a,b\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     NAME_BYTES},

    /* 7. each URI in order, first failure wins */
    {URIS("\"https://app.example.com/cb#x\"") "}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI,
     "redirect_uri must not contain a fragment"},
    {URIS(OK_URI ",\"ftp://x.example/\",\"http://evil.example/\"") "}", 400,
     OAUTH_ERROR_INVALID_REDIRECT_URI, BAD_SCHEME},
    {URIS("\"http://evil.example/\",\"ftp://x.example/\"") "}", 400,
     OAUTH_ERROR_INVALID_REDIRECT_URI, "redirect_uri must use HTTPS for non-loopback addresses"},
    {URIS("\"javascript:alert(1)\"") "}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI, BAD_SCHEME},
    {URIS("\"file:///etc/passwd\"") "}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI, BAD_SCHEME},
    {URIS("\"https:///cb\"") "}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI,
     "redirect_uri must include a host"},
    /* one dangerous URI fails the whole registration, wherever it is */
    {URIS("\"cursor://anysphere.cursor-mcp/oauth/callback\",\"Data:text/html,x\"") "}", 400,
     OAUTH_ERROR_INVALID_REDIRECT_URI, BAD_SCHEME},
    {URIS("\"cursor://anysphere.cursor-mcp/oauth/callback#x\"") "}", 400,
     OAUTH_ERROR_INVALID_REDIRECT_URI, "redirect_uri must not contain a fragment"},
    {URIS("\"cursor://a@anysphere.cursor-mcp/cb\"") "}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI,
     "redirect_uri must not contain userinfo"},
    {URIS("\"anysphere.cursor-mcp/cb\"") "}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI,
     "malformed redirect_uri"},
    {URIS("\"https://u@app.example.com/\"") "}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI,
     "redirect_uri must not contain userinfo"},
    {URIS("\"https://app.example.com/\\u0000/cb\"") "}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI,
     "malformed redirect_uri"},
    {URIS("\"https://app.example.com/\\r\\n\"") "}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI,
     "malformed redirect_uri"},
    {URIS("null") "}", 400, OAUTH_ERROR_INVALID_REDIRECT_URI, "malformed redirect_uri"},
    {URIS("\"http://localhost:3000/cb\",\"http://LOCALHOST/cb\",\"http://[::1]:9/cb\"") "}", 0, 0,
     NULL},
    /* URIs are checked before the auth method */
    {URIS("\"ftp://x.example/\"") ",\"token_endpoint_auth_method\":\"client_secret_post\"}", 400,
     OAUTH_ERROR_INVALID_REDIRECT_URI, BAD_SCHEME},
    /* ... and before application_type */
    {URIS("\"ftp://x.example/\"") ",\"application_type\":\"desktop\"}", 400,
     OAUTH_ERROR_INVALID_REDIRECT_URI, BAD_SCHEME},

    /* application_type (SEP-837): native, web, or absent */
    {URIS(OK_URI) ",\"application_type\":\"native\"}", 0, 0, NULL},
    {URIS(OK_URI) ",\"application_type\":\"web\"}", 0, 0, NULL},
    {URIS(OK_URI) ",\"application_type\":null}", 0, 0, NULL},
    {URIS(OK_URI) ",\"application_type\":\"\"}", 0, 0, NULL},
    {URIS(OK_URI) ",\"application_type\":\"Native\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     BAD_APP_TYPE},
    {URIS(OK_URI) ",\"application_type\":\"desktop\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     BAD_APP_TYPE},
    {URIS(OK_URI) ",\"application_type\":\"native \"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     BAD_APP_TYPE},
    {URIS(OK_URI) ",\"application_type\":1}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     BAD_APP_TYPE},
    {URIS(OK_URI) ",\"application_type\":[\"native\"]}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     BAD_APP_TYPE},
    /* checked before the auth method */
    {URIS(OK_URI) ",\"application_type\":\"x\",\"token_endpoint_auth_method\":\"x\"}", 400,
     OAUTH_ERROR_INVALID_CLIENT_METADATA, BAD_APP_TYPE},

    /* 8. token_endpoint_auth_method: the secret methods a public client
     * does without are replaced by "none" (RFC 7591 3.2.1); others refused. */
    {URIS(OK_URI) ",\"token_endpoint_auth_method\":\"client_secret_post\"}", 0, 0, NULL},
    {URIS(OK_URI) ",\"token_endpoint_auth_method\":\"client_secret_basic\"}", 0, 0, NULL},
    {URIS(OK_URI) ",\"token_endpoint_auth_method\":\"client_secret_jwt\"}", 400,
     OAUTH_ERROR_INVALID_CLIENT_METADATA, BAD_METHOD},
    {URIS(OK_URI) ",\"token_endpoint_auth_method\":\"private_key_jwt\"}", 400,
     OAUTH_ERROR_INVALID_CLIENT_METADATA, BAD_METHOD},
    {URIS(OK_URI) ",\"token_endpoint_auth_method\":\"None\"}", 400,
     OAUTH_ERROR_INVALID_CLIENT_METADATA, BAD_METHOD},

    /* Echoed metadata (RFC 7591 3.2.1). */
    {URIS(OK_URI) ",\"grant_types\":[\"authorization_code\",\"urn:x\"],\"response_types\":"
                  "[\"code\"],\"scope\":\"\"}",
     0, 0, NULL},
    {URIS(OK_URI) ",\"grant_types\":null,\"response_types\":null,\"scope\":null}", 0, 0, NULL},
    {URIS(OK_URI) ",\"scope\":\"openid mcp:tools offline_access\"}", 0, 0, NULL},
    {URIS(OK_URI) ",\"grant_types\":[\"refresh_token\"]}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     "grant_types must include \"authorization_code\""},
    {URIS(OK_URI) ",\"grant_types\":[]}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     "grant_types must include \"authorization_code\""},
    {URIS(OK_URI) ",\"response_types\":[\"token\"]}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     "response_types must include \"code\""},
    {URIS(OK_URI) ",\"grant_types\":\"authorization_code\"}", 400, OAUTH_ERROR_INVALID_REQUEST,
     "invalid JSON body"},
    {URIS(OK_URI) ",\"grant_types\":[\"authorization_code\",1]}", 400, OAUTH_ERROR_INVALID_REQUEST,
     "invalid JSON body"},
    {URIS(OK_URI) ",\"response_types\":[null]}", 400, OAUTH_ERROR_INVALID_REQUEST,
     "invalid JSON body"},
    {URIS(OK_URI) ",\"scope\":[\"a\"]}", 400, OAUTH_ERROR_INVALID_REQUEST, "invalid JSON body"},
    {URIS(OK_URI) ",\"scope\":\" a\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     "scope must be space-separated scope tokens"},
    {URIS(OK_URI) ",\"scope\":\"a  b\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     "scope must be space-separated scope tokens"},
    {URIS(OK_URI) ",\"scope\":\"a \"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     "scope must be space-separated scope tokens"},
    {URIS(OK_URI) ",\"scope\":\"a\\\"b\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     "scope must be space-separated scope tokens"},
    {URIS(OK_URI) ",\"scope\":\"a\\u00e9\"}", 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
     "scope must be space-separated scope tokens"},
};

static void
test_rule_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct oauth_registration reg;
        struct oauth_error err = {0, OAUTH_ERROR_CODE_COUNT, NULL, NULL};
        int rc =
            oauth_register_rules_parse(slice_from_cstr(r->body), BOUNDS_OAUTH_BODY_MAX, &reg, &err);
        if (r->status == 0) {
            if (rc != 0) {
                fail_msg("row %zu refused (%s): %s", i, err.description, r->body);
            }
            oauth_register_rules_cleanup(&reg);
            continue;
        }
        if (rc == 0) {
            fail_msg("row %zu accepted: %s", i, r->body);
        }
        assert_int_equal(err.status, r->status);
        assert_int_equal(err.code, r->code);
        assert_string_equal(err.description, r->description);
        assert_null(err.error_code);
    }
}

static void
test_success_fields(void **state)
{
    (void)state;
    const char *body = "{\"redirect_uris\":[\"https://app.example.com/cb\","
                       "\"http://127.0.0.1:8080/cb?x=1\"],\"client_name\":\"Claude \\u00e9\"}";
    struct oauth_registration reg;
    struct oauth_error err;
    assert_int_equal(
        oauth_register_rules_parse(slice_from_cstr(body), BOUNDS_OAUTH_BODY_MAX, &reg, &err), 0);
    assert_int_equal(reg.redirect_uri_count, 2);
    assert_string_equal(reg.redirect_uris[0], "https://app.example.com/cb");
    assert_string_equal(reg.redirect_uris[1], "http://127.0.0.1:8080/cb?x=1");
    assert_null(reg.redirect_uris[2]);
    assert_string_equal(reg.client_name, "Claude \xc3\xa9");
    oauth_register_rules_cleanup(&reg);
    assert_int_equal(reg.redirect_uri_count, 0);
    assert_null(reg.client_name);
    oauth_register_rules_cleanup(&reg);
    oauth_register_rules_cleanup(NULL);

    /* absent client_name is "" (not NULL); the body need not be terminated */
    static const char unterminated[] = "{\"redirect_uris\":[\"https://a.example/cb\"]}XYZ";
    assert_int_equal(oauth_register_rules_parse(slice_make(unterminated, sizeof(unterminated) - 4),
                                                BOUNDS_OAUTH_BODY_MAX, &reg, &err),
                     0);
    assert_string_equal(reg.client_name, "");
    /* nothing echoed that was not sent */
    assert_false(reg.grant_types_set);
    assert_false(reg.response_types_set);
    assert_null(reg.scope);
    assert_false(reg.auth_method_replaced);
    oauth_register_rules_cleanup(&reg);

    /* what is echoed, and the replaced method */
    static const char echo[] =
        "{\"redirect_uris\":[\"https://a.example/cb\"],\"token_endpoint_auth_method\":"
        "\"client_secret_basic\",\"grant_types\":[\"refresh_token\",\"authorization_code\"],"
        "\"response_types\":[\"code\",\"id_token\"],\"scope\":\"\"}";
    assert_int_equal(
        oauth_register_rules_parse(slice_from_cstr(echo), BOUNDS_OAUTH_BODY_MAX, &reg, &err), 0);
    assert_true(reg.grant_types_set);
    assert_true(reg.refresh_token_grant);
    assert_true(reg.response_types_set);
    assert_string_equal(reg.scope, "");
    assert_true(reg.auth_method_replaced);
    oauth_register_rules_cleanup(&reg);
    assert_null(reg.scope);
}

/* What is stored for each declared type and redirect mix (the header's
 * rule): only "native" is taken as said; "web" and absent are judged by
 * the URIs, and a "web" with any loopback or private-use URI is stored as
 * "native" -- Cursor's shape. */
static void
test_application_type_stored(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *stored;
        bool coerced;
    } cases[] = {
        {URIS(OK_URI) "}", "web", false},
        {URIS(OK_URI) ",\"application_type\":\"web\"}", "web", false},
        {URIS(OK_URI) ",\"application_type\":\"native\"}", "native", false},
        {URIS("\"http://localhost:8787/callback\"") "}", "native", false},
        {URIS("\"com.example.app:/cb\"") "}", "native", false},
        {URIS("\"https://127.0.0.1/cb\"") "}", "native", false},
        {URIS("\"http://127.0.0.1/\"") ",\"application_type\":\"web\"}", "native", true},
        {URIS("\"cursor://anysphere.cursor-mcp/oauth/callback\","
              "\"https://www.cursor.com/agents/mcp/oauth/callback\","
              "\"http://localhost:8787/callback\"") ",\"application_type\":\"web\"}",
         "native", true},
        {URIS("\"cursor://anysphere.cursor-mcp/oauth/callback\","
              "\"https://www.cursor.com/agents/mcp/oauth/callback\","
              "\"http://localhost:8787/callback\"") "}",
         "native", false},
        /* VS Code: native with https redirects stays native */
        {URIS("\"https://insiders.vscode.dev/redirect\",\"https://vscode.dev/redirect\"") ","
                                                                                          "\"applic"
                                                                                          "ation_"
                                                                                          "type\":"
                                                                                          "\"native"
                                                                                          "\"}",
         "native", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct oauth_registration reg;
        struct oauth_error err;
        if (oauth_register_rules_parse(slice_from_cstr(cases[i].body), BOUNDS_OAUTH_BODY_MAX, &reg,
                                       &err) != 0) {
            fail_msg("case %zu refused (%s)", i, err.description);
        }
        if (strcmp(reg.application_type, cases[i].stored) != 0 ||
            reg.application_type_coerced != cases[i].coerced) {
            fail_msg("case %zu: stored %s coerced %d", i, reg.application_type,
                     reg.application_type_coerced);
        }
        oauth_register_rules_cleanup(&reg);
    }
}

static void
test_output_untouched_on_failure(void **state)
{
    (void)state;
    struct oauth_registration reg;
    memset(&reg, 0x5a, sizeof(reg));
    struct oauth_error err;
    assert_int_equal(oauth_register_rules_parse(SLICE_LIT("{}"), BOUNDS_OAUTH_BODY_MAX, &reg, &err),
                     -1);
    struct oauth_registration sentinel;
    memset(&sentinel, 0x5a, sizeof(sentinel));
    assert_memory_equal(&reg, &sentinel, sizeof(reg));
}

static char *
name_body(const char *unit, size_t count)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_str(&b, URIS(OK_URI) ",\"client_name\":\""), 0);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(buf_append_str(&b, unit), 0);
    }
    assert_int_equal(buf_append_str(&b, "\"}"), 0);
    return buf_take(&b);
}

/* 5. 512 bytes of UTF-8 after JSON unescaping, not characters or escapes. */
static void
test_client_name_length(void **state)
{
    (void)state;
    static const struct {
        const char *unit;
        size_t count;
        bool ok;
    } cases[] = {
        {"a", 512, true},
        {"a", 513, false},
        {"\\u00e9", 256, true}, /* 2 bytes each: 512 */
        {"\\u00e9", 257, false},
        {"\xc3\xa9", 257, false},
        /* length is checked before the forbidden bytes */
        {",", 513, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *body = name_body(cases[i].unit, cases[i].count);
        struct oauth_registration reg;
        struct oauth_error err;
        int rc =
            oauth_register_rules_parse(slice_from_cstr(body), BOUNDS_OAUTH_BODY_MAX, &reg, &err);
        if (cases[i].ok) {
            assert_int_equal(rc, 0);
            oauth_register_rules_cleanup(&reg);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(err.code, OAUTH_ERROR_INVALID_CLIENT_METADATA);
            assert_string_equal(err.description, NAME_LONG);
        }
        xfree(body);
    }
}

static void
test_uri_length(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(buf_append_str(&b, "{\"redirect_uris\":[\"https://a.example/"), 0);
    for (size_t i = 0; i < 513 - strlen("https://a.example/"); i++) {
        assert_int_equal(buf_append_byte(&b, 'p'), 0);
    }
    assert_int_equal(buf_append_str(&b, "\"]}"), 0);
    struct oauth_registration reg;
    struct oauth_error err;
    assert_int_equal(oauth_register_rules_parse(buf_slice(&b), BOUNDS_OAUTH_BODY_MAX, &reg, &err),
                     -1);
    assert_int_equal(err.code, OAUTH_ERROR_INVALID_REDIRECT_URI);
    assert_string_equal(err.description, "redirect_uri exceeds maximum length");
    buf_cleanup(&b);
}

/* Step 1: over the cap is 413, before any JSON is looked at. */
static void
test_body_cap(void **state)
{
    (void)state;
    struct oauth_registration reg;
    struct oauth_error err;
    const char *body = URIS(OK_URI) "}";
    size_t len = strlen(body);
    assert_int_equal(oauth_register_rules_parse(slice_make(body, len), len, &reg, &err), 0);
    oauth_register_rules_cleanup(&reg);
    assert_int_equal(oauth_register_rules_parse(slice_make(body, len), len - 1, &reg, &err), -1);
    assert_int_equal(err.status, 413);
    assert_int_equal(err.code, OAUTH_ERROR_INVALID_REQUEST);
    assert_string_equal(err.description, "request body exceeds the 64 KiB cap");

    /* the real cap (64 KiB) + 1 of whitespace-padded JSON */
    size_t big = BOUNDS_OAUTH_BODY_MAX + 1;
    char *padded = xmalloc(big);
    memset(padded, ' ', big);
    memcpy(padded, body, len);
    assert_int_equal(
        oauth_register_rules_parse(slice_make(padded, big), BOUNDS_OAUTH_BODY_MAX, &reg, &err), -1);
    assert_int_equal(err.status, 413);
    assert_int_equal(
        oauth_register_rules_parse(slice_make(padded, big - 1), BOUNDS_OAUTH_BODY_MAX, &reg, &err),
        0);
    oauth_register_rules_cleanup(&reg);
    xfree(padded);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_success_fields),
        cmocka_unit_test(test_application_type_stored),
        cmocka_unit_test(test_output_untouched_on_failure),
        cmocka_unit_test(test_client_name_length),
        cmocka_unit_test(test_uri_length),
        cmocka_unit_test(test_body_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
