/* oauth/cimd_rules: client ID metadata documents, one row per rule (URL
 * shape, document members, answer status and type, size), host patterns
 * and the cache lifetime policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "bounds.h"
#include "oauth/cimd_rules.h"

#define URL "https://client.example.com/oauth/metadata.json"
#define DOC_HEAD "{\"client_id\":\"" URL "\",\"client_name\":\"Example\","
#define GOOD DOC_HEAD "\"redirect_uris\":[\"https://client.example.com/cb\"]}"

static void
test_url_rules(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        const char *reason; /* NULL = accepted */
    } rows[] = {
        {URL, NULL},
        {"https://claude.ai/oauth/mcp-oauth-client-metadata", NULL},
        {"https://Client.Example.COM:8443/c?v=1", NULL},
        {"https://[2001:db8::1]/c", NULL},
        {"http://client.example.com/c", "client_id URL must use https"},
        {"https://client.example.com", "client_id URL must have a path"},
        {"https://client.example.com/", "client_id URL must have a path"},
        {"https://client.example.com/a/./b", "client_id URL must not contain dot segments"},
        {"https://client.example.com/a/../b", "client_id URL must not contain dot segments"},
        {"https://client.example.com/a/%2E%2e/b", "client_id URL must not contain dot segments"},
        {"https://client.example.com/a/.well-known", NULL},
        {"https://client.example.com/c#frag", "client_id URL must not contain a fragment"},
        {"https://client.example.com/c#", "client_id URL must not contain a fragment"},
        {"https://user@client.example.com/c", "client_id URL must not contain userinfo"},
        {"https://u:p@client.example.com/c", "client_id URL must not contain userinfo"},
        {"https:client.example.com/c", "client_id URL is malformed"},
        {"https://", "client_id URL is malformed"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char host[256] = "";
        const char *got =
            oauth_cimd_rules_check_url(slice_from_cstr(rows[i].url), host, sizeof(host));
        if ((got == NULL) != (rows[i].reason == NULL) ||
            (got != NULL && strcmp(got, rows[i].reason) != 0)) {
            fail_msg("%s: got %s, want %s", rows[i].url, got ? got : "ok",
                     rows[i].reason ? rows[i].reason : "ok");
        }
    }
    char host[256];
    assert_null(oauth_cimd_rules_check_url(slice_from_cstr("https://Client.Example.COM:8443/c"),
                                           host, sizeof(host)));
    assert_string_equal(host, "client.example.com");
    assert_null(
        oauth_cimd_rules_check_url(slice_from_cstr("https://[::1]:9/c"), host, sizeof(host)));
    assert_string_equal(host, "::1");
    /* The length cap, and a NUL inside. */
    char longer[BOUNDS_CIMD_URL_MAX_BYTES + 32] = "https://client.example.com/";
    memset(longer + strlen(longer), 'a', BOUNDS_CIMD_URL_MAX_BYTES);
    longer[BOUNDS_CIMD_URL_MAX_BYTES + 1] = '\0';
    assert_string_equal(oauth_cimd_rules_check_url(slice_from_cstr(longer), NULL, 0),
                        "client_id URL exceeds maximum length");
    assert_string_equal(
        oauth_cimd_rules_check_url(slice_make("https://a.example/c\0d", 21), NULL, 0),
        "client_id URL is malformed");
    /* Dispatch: only "https://" (a sealed DCR client_id never starts so). */
    assert_true(oauth_cimd_rules_is_document_url(slice_from_cstr(URL)));
    assert_false(oauth_cimd_rules_is_document_url(slice_from_cstr("HTTPS://x.example/c")));
    assert_false(oauth_cimd_rules_is_document_url(slice_from_cstr("v1.abc")));
    assert_false(oauth_cimd_rules_is_document_url(slice_from_cstr("https:/")));
}

static void
test_host_patterns(void **state)
{
    (void)state;
    char *pats[] = {"claude.ai", "*.example.com"};
    assert_true(oauth_cimd_rules_host_allowed("anything.test", NULL, 0));
    assert_true(oauth_cimd_rules_host_allowed("claude.ai", pats, 2));
    assert_false(oauth_cimd_rules_host_allowed("evil-claude.ai", pats, 2));
    assert_false(oauth_cimd_rules_host_allowed("claude.ai.evil.test", pats, 2));
    assert_true(oauth_cimd_rules_host_allowed("a.example.com", pats, 2));
    assert_true(oauth_cimd_rules_host_allowed("a.b.example.com", pats, 2));
    assert_false(oauth_cimd_rules_host_allowed("example.com", pats, 2));
    assert_false(oauth_cimd_rules_host_allowed("badexample.com", pats, 2));
}

struct doc_row {
    long status;
    const char *type;
    const char *body;
    enum oauth_cimd_rules_rc rc;
    const char *reason;
};

static void
test_document_rules(void **state)
{
    (void)state;
    const char *json = "application/json";
    static const struct doc_row rows[] = {
        {200, "application/json", GOOD, OAUTH_CIMD_RULES_OK, NULL},
        {200, "application/json; charset=utf-8", GOOD, OAUTH_CIMD_RULES_OK, NULL},
        {200, "Application/JSON", GOOD, OAUTH_CIMD_RULES_OK, NULL},
        {200, "application/client-metadata+json", GOOD, OAUTH_CIMD_RULES_OK, NULL},
        {301, "application/json", GOOD, OAUTH_CIMD_RULES_REDIRECT,
         "client metadata document URL answered with a redirect"},
        {307, "text/html", "", OAUTH_CIMD_RULES_REDIRECT,
         "client metadata document URL answered with a redirect"},
        {403, "application/json", GOOD, OAUTH_CIMD_RULES_HTTP_STATUS,
         "client metadata document URL did not answer 200"},
        {204, "application/json", "", OAUTH_CIMD_RULES_HTTP_STATUS,
         "client metadata document URL did not answer 200"},
        {200, "text/html; charset=utf-8", "<!doctype html><p>Just a moment</p>",
         OAUTH_CIMD_RULES_NOT_JSON, "client metadata document is not served as application/json"},
        {200, NULL, GOOD, OAUTH_CIMD_RULES_NOT_JSON,
         "client metadata document is not served as application/json"},
        {200, "application/jsonp", GOOD, OAUTH_CIMD_RULES_NOT_JSON,
         "client metadata document is not served as application/json"},
        {200, "text/json", GOOD, OAUTH_CIMD_RULES_NOT_JSON,
         "client metadata document is not served as application/json"},
        {200, "application/json", "{\"client_id\":", OAUTH_CIMD_RULES_NOT_JSON,
         "client metadata document is not JSON"},
        {200, "application/json", "[\"" URL "\"]", OAUTH_CIMD_RULES_NOT_JSON,
         "client metadata document is not a JSON object"},
        /* client_id byte for byte */
        {200, "application/json",
         "{\"client_id\":\"https://client.example.com/oauth/metadata.json/\",\"client_name\":\"E\","
         "\"redirect_uris\":[\"https://client.example.com/cb\"]}",
         OAUTH_CIMD_RULES_INVALID, "client metadata document client_id does not match its URL"},
        {200, "application/json",
         "{\"client_id\":\"https://CLIENT.example.com/oauth/metadata.json\",\"client_name\":\"E\","
         "\"redirect_uris\":[\"https://client.example.com/cb\"]}",
         OAUTH_CIMD_RULES_INVALID, "client metadata document client_id does not match its URL"},
        {200, "application/json", "{\"client_name\":\"E\",\"redirect_uris\":[\"https://a.b/c\"]}",
         OAUTH_CIMD_RULES_INVALID, "client metadata document has no client_id"},
        /* required members */
        {200, "application/json",
         "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"]}",
         OAUTH_CIMD_RULES_INVALID, "client metadata document has no client_name"},
        {200, "application/json",
         "{\"client_id\":\"" URL "\",\"client_name\":\"\",\"redirect_uris\":[\"https://a.b/c\"]}",
         OAUTH_CIMD_RULES_INVALID, "client metadata document has no client_name"},
        {200, "application/json",
         "{\"client_id\":\"" URL "\",\"client_name\":\"a,b\","
         "\"redirect_uris\":[\"https://a.b/c\"]}",
         OAUTH_CIMD_RULES_INVALID, "client_name must not contain control bytes or commas"},
        {200, "application/json", DOC_HEAD "\"x\":1}", OAUTH_CIMD_RULES_INVALID,
         "client metadata document has no redirect_uris"},
        {200, "application/json", DOC_HEAD "\"redirect_uris\":[]}", OAUTH_CIMD_RULES_INVALID,
         "client metadata document has no redirect_uris"},
        {200, "application/json", DOC_HEAD "\"redirect_uris\":\"https://a.b/c\"}",
         OAUTH_CIMD_RULES_INVALID, "client metadata document has no redirect_uris"},
        {200, "application/json", DOC_HEAD "\"redirect_uris\":[1]}", OAUTH_CIMD_RULES_INVALID,
         "redirect_uris must be an array of strings"},
        /* each redirect passes /register's rules */
        {200, "application/json",
         DOC_HEAD "\"redirect_uris\":[\"https://a.b/c\",\"javascript:x\"]}",
         OAUTH_CIMD_RULES_INVALID, "redirect_uri scheme is not allowed"},
        {200, "application/json", DOC_HEAD "\"redirect_uris\":[\"http://evil.example/cb\"]}",
         OAUTH_CIMD_RULES_INVALID, "redirect_uri must use HTTPS for non-loopback addresses"},
        {200, "application/json", DOC_HEAD "\"redirect_uris\":[\"https://a.b/c#f\"]}",
         OAUTH_CIMD_RULES_INVALID, "redirect_uri must not contain a fragment"},
        {200, "application/json",
         DOC_HEAD "\"redirect_uris\":[\"http://127.0.0.1/callback\",\"http://localhost/callback\","
                  "\"cursor://anysphere.cursor-mcp/oauth/callback\"]}",
         OAUTH_CIMD_RULES_OK, NULL},
        /* auth methods: shared secrets refused, private_key_jwt kept */
        {200, "application/json",
         DOC_HEAD "\"redirect_uris\":[\"https://a.b/c\"],\"token_endpoint_auth_method\":"
                  "\"client_secret_post\"}",
         OAUTH_CIMD_RULES_INVALID,
         "client metadata document must not use a shared-secret token_endpoint_auth_method"},
        {200, "application/json",
         DOC_HEAD "\"redirect_uris\":[\"https://a.b/c\"],\"token_endpoint_auth_method\":"
                  "\"client_secret_jwt\"}",
         OAUTH_CIMD_RULES_INVALID,
         "client metadata document must not use a shared-secret token_endpoint_auth_method"},
        {200, "application/json",
         DOC_HEAD "\"redirect_uris\":[\"https://a.b/c\"],\"client_secret\":\"s\"}",
         OAUTH_CIMD_RULES_INVALID, "client metadata document must not contain client_secret"},
        {200, "application/json",
         DOC_HEAD "\"redirect_uris\":[\"https://a.b/c\"],\"token_endpoint_auth_method\":"
                  "\"private_key_jwt\",\"jwks_uri\":\"https://client.example.com/jwks.json\"}",
         OAUTH_CIMD_RULES_OK, NULL},
        /* grants: unknown ones ignored, authorization_code required when listed */
        {200, "application/json",
         DOC_HEAD "\"redirect_uris\":[\"https://a.b/c\"],\"grant_types\":[\"authorization_code\","
                  "\"urn:ietf:params:oauth:grant-type:jwt-bearer\"]}",
         OAUTH_CIMD_RULES_OK, NULL},
        {200, "application/json",
         DOC_HEAD "\"redirect_uris\":[\"https://a.b/c\"],\"grant_types\":[\"client_credentials\"]}",
         OAUTH_CIMD_RULES_INVALID, "grant_types must include \"authorization_code\""},
        {200, "application/json",
         DOC_HEAD "\"redirect_uris\":[\"https://a.b/c\"],\"response_types\":[\"token\"]}",
         OAUTH_CIMD_RULES_INVALID, "response_types must include \"code\""},
        {200, "application/json",
         DOC_HEAD "\"redirect_uris\":[\"https://a.b/c\"],\"jwks\":{\"keys\":[]},"
                  "\"jwks_uri\":\"https://a.b/j\"}",
         OAUTH_CIMD_RULES_INVALID, "jwks_uri and jwks must not both be present"},
        {200, "application/json", DOC_HEAD "\"redirect_uris\":[\"https://a.b/c\"],\"jwks\":[]}",
         OAUTH_CIMD_RULES_INVALID, "jwks must be a JSON object"},
    };
    (void)json;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct oauth_cimd_doc d;
        const char *reason = "unset";
        enum oauth_cimd_rules_rc rc = oauth_cimd_rules_parse(
            URL, rows[i].status, rows[i].type, slice_from_cstr(rows[i].body), &d, &reason);
        if (rc != rows[i].rc || (rows[i].reason == NULL) != (reason == NULL) ||
            (reason != NULL && strcmp(reason, rows[i].reason) != 0)) {
            fail_msg("row %zu: rc %d reason %s, want %d %s", i, rc, reason ? reason : "none",
                     rows[i].rc, rows[i].reason ? rows[i].reason : "none");
        }
        if (rc == OAUTH_CIMD_RULES_OK) {
            oauth_cimd_doc_cleanup(&d);
        }
    }
}

/* What an accepted document yields, and the size cap on both sides. */
static void
test_document_fields_and_size(void **state)
{
    (void)state;
    struct oauth_cimd_doc d;
    const char *reason = NULL;
    const char *chatgpt =
        DOC_HEAD "\"redirect_uris\":[\"https://a.b/c\",\"http://127.0.0.1/cb\"],"
                 "\"token_endpoint_auth_method\":\"private_key_jwt\","
                 "\"grant_types\":[\"authorization_code\"],\"jwks\":{\"keys\":[{\"kty\":\"EC\"}]}}";
    assert_int_equal(
        oauth_cimd_rules_parse(URL, 200, "application/json", slice_from_cstr(chatgpt), &d, &reason),
        OAUTH_CIMD_RULES_OK);
    assert_string_equal(d.client_id, URL);
    assert_string_equal(d.client_name, "Example");
    assert_int_equal(d.redirect_uri_count, 2);
    assert_string_equal(d.redirect_uris[1], "http://127.0.0.1/cb");
    assert_string_equal(d.token_endpoint_auth_method, "private_key_jwt");
    assert_string_equal(d.jwks, "{\"keys\":[{\"kty\":\"EC\"}]}");
    assert_null(d.jwks_uri);
    assert_false(d.refresh_token_grant);
    oauth_cimd_doc_cleanup(&d);

    /* Exactly the cap passes (padding in a member), one byte more does not. */
    struct buf b;
    buf_init(&b, BOUNDS_CIMD_DOCUMENT_MAX + 64);
    assert_int_equal(
        buf_append_str(&b, DOC_HEAD "\"redirect_uris\":[\"https://a.b/c\"],\"pad\":\""), 0);
    while (b.len < BOUNDS_CIMD_DOCUMENT_MAX - 2) {
        assert_int_equal(buf_append_byte(&b, 'x'), 0);
    }
    assert_int_equal(buf_append_str(&b, "\"}"), 0);
    assert_int_equal(b.len, BOUNDS_CIMD_DOCUMENT_MAX);
    assert_int_equal(
        oauth_cimd_rules_parse(URL, 200, "application/json", buf_slice(&b), &d, &reason),
        OAUTH_CIMD_RULES_OK);
    oauth_cimd_doc_cleanup(&d);
    assert_int_equal(buf_append_byte(&b, ' '), 0);
    assert_int_equal(
        oauth_cimd_rules_parse(URL, 200, "application/json", buf_slice(&b), &d, &reason),
        OAUTH_CIMD_RULES_TOO_LARGE);
    assert_string_equal(reason, "client metadata document exceeds 5 KiB");
    buf_cleanup(&b);
}

static void
test_ttl_policy(void **state)
{
    (void)state;
    const int64_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    static const struct {
        const char *cc;
        const char *expires;
        uint64_t want;
    } rows[] = {
        {NULL, NULL, 300},            /* nothing said: the floor */
        {"max-age=3600", NULL, 3600}, /* within bounds: as said */
        {"public, max-age=600", NULL, 600},
        {"MAX-AGE=700", NULL, 700},
        {"max-age=\"800\"", NULL, 800},
        {"s-maxage=900, max-age=60", NULL, 900}, /* the shared-cache value wins */
        {"max-age=10", NULL, 300},               /* raised to the floor */
        {"max-age=999999999", NULL, 86400},      /* lowered to the ceiling */
        {"max-age=99999999999999999999999", NULL, 86400},
        {"no-store", NULL, 300},
        {"no-cache, max-age=5000", NULL, 300},
        {"max-age=abc", "Sun, 06 Nov 1994 09:49:37 GMT", 3600}, /* bad max-age: Expires */
        {NULL, "Sun, 06 Nov 1994 10:49:37 GMT", 7200},
        {NULL, "Sun, 06 Nov 1994 07:49:37 GMT", 300},            /* in the past */
        {NULL, "0", 300},                                        /* invalid: expired */
        {"max-age=1200", "Sun, 06 Nov 1994 10:49:37 GMT", 1200}, /* max-age wins */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t got = oauth_cimd_rules_ttl(rows[i].cc, rows[i].expires, now, 300, 86400);
        if (got != rows[i].want) {
            fail_msg("row %zu: got %llu, want %llu", i, (unsigned long long)got,
                     (unsigned long long)rows[i].want);
        }
    }
    assert_int_equal(oauth_cimd_rules_ttl("max-age=5", NULL, now, 0, 10), 5);
    assert_int_equal(oauth_cimd_rules_ttl(NULL, NULL, now, 0, 10), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_rules),      cmocka_unit_test(test_host_patterns),
        cmocka_unit_test(test_document_rules), cmocka_unit_test(test_document_fields_and_size),
        cmocka_unit_test(test_ttl_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
