/* doctor/parse: the Bearer challenge in WWW-Authenticate (RFC 9110 11.6.1,
 * RFC 6750 3, RFC 9728 5.1), protected-resource and authorization-server
 * metadata checks, /register answers and CORS comma lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "doctor/parse.h"

#define RM "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"

static void
test_challenge_proxy_shapes(void **state)
{
    (void)state;
    struct doctor_challenge c;
    /* What proxy/bearer.c sends without a token, and for a scope. */
    assert_null(doctor_parse_challenge(SLICE_LIT("Bearer resource_metadata=\"" RM "\""), &c));
    assert_true(c.bearer);
    assert_string_equal(c.resource_metadata, RM);
    assert_false(c.has_scope);
    assert_null(doctor_parse_challenge(
        SLICE_LIT("Bearer error=\"insufficient_scope\", scope=\"mcp:read files\", "
                  "resource_metadata=\"" RM "\", error_description=\"need \\\"more\\\"\""),
        &c));
    assert_string_equal(c.error, "insufficient_scope");
    assert_true(c.has_scope);
    assert_string_equal(c.scope, "mcp:read files");
    assert_string_equal(c.resource_metadata, RM);
}

static void
test_challenge_among_others(void **state)
{
    (void)state;
    struct doctor_challenge c;
    /* Scheme names are case-insensitive; parameters of other schemes,
     * token68 with padding and token values are skipped. */
    assert_null(doctor_parse_challenge(
        SLICE_LIT("Basic realm=\"x\", Negotiate dXNlcg==, bearer resource_metadata="
                  "tok"),
        &c));
    assert_true(c.bearer);
    assert_string_equal(c.resource_metadata, "tok");
    assert_null(doctor_parse_challenge(SLICE_LIT("Basic realm=\"x\", charset=UTF-8"), &c));
    assert_false(c.bearer);
    assert_null(doctor_parse_challenge(SLICE_LIT("Bearer"), &c));
    assert_true(c.bearer);
    assert_string_equal(c.resource_metadata, "");
    /* resource_metadata of another scheme is not the Bearer one. */
    assert_null(doctor_parse_challenge(SLICE_LIT("DPoP resource_metadata=\"x\", Bearer"), &c));
    assert_true(c.bearer);
    assert_string_equal(c.resource_metadata, "");
}

static void
test_challenge_refusals(void **state)
{
    (void)state;
    struct doctor_challenge c;
    assert_non_null(doctor_parse_challenge(SLICE_LIT("Bearer scope=\"a"), &c));
    assert_false(c.bearer);
    assert_non_null(doctor_parse_challenge(SLICE_LIT("Bearer scope=\"a\\"), &c));
    assert_non_null(doctor_parse_challenge(SLICE_LIT("Bearer scope=\"a\", scope=\"b\""), &c));
    assert_non_null(doctor_parse_challenge(SLICE_LIT("Bearer scope=\"a\nb\""), &c));
    assert_non_null(doctor_parse_challenge(slice_make("Bearer scope=\"a\0b\"", 18), &c));
    assert_non_null(doctor_parse_challenge(SLICE_LIT("Bearer scope=@"), &c));
    assert_non_null(doctor_parse_challenge(SLICE_LIT("\"Bearer\""), &c));
    char big[BOUNDS_DOCTOR_URL_MAX + 64];
    memset(big, 'a', sizeof(big));
    memcpy(big, "Bearer resource_metadata=", 25);
    assert_non_null(doctor_parse_challenge(slice_make(big, sizeof(big)), &c));
    assert_string_equal(c.resource_metadata, "");
}

static void
test_prm(void **state)
{
    (void)state;
    struct doctor_prm p;
    const char *doc = "{\"resource\":\"https://h/mcp\",\"authorization_servers\":[\"https://h\"]}";
    assert_null(doctor_parse_prm(slice_from_cstr(doc), "https://h/mcp", false, &p));
    assert_string_equal(p.authorization_server, "https://h");
    /* Byte for byte: a trailing slash or another path is another resource. */
    assert_non_null(doctor_parse_prm(slice_from_cstr(doc), "https://h/mcp/", false, &p));
    assert_string_equal(p.resource, "https://h/mcp");
    assert_non_null(doctor_parse_prm(slice_from_cstr(doc), "https://h/gw/mcp", false, &p));
    /* The root document may name the origin. */
    const char *root = "{\"resource\":\"https://h/\",\"authorization_servers\":[\"https://h\"]}";
    assert_null(doctor_parse_prm(slice_from_cstr(root), "https://h/mcp", true, &p));
    assert_non_null(doctor_parse_prm(slice_from_cstr(root), "https://h/mcp", false, &p));
    assert_non_null(doctor_parse_prm(slice_from_cstr(root), "https://other/mcp", true, &p));
    assert_non_null(doctor_parse_prm(slice_from_cstr(root), "http://h/mcp", true, &p));
    const char *sub = "{\"resource\":\"https://h/mc\",\"authorization_servers\":[\"https://h\"]}";
    assert_non_null(doctor_parse_prm(slice_from_cstr(sub), "https://h/mcp", true, &p));
    assert_non_null(doctor_parse_prm(SLICE_LIT("{\"resource\":\"https://h/mcp\"}"), "https://h/mcp",
                                     false, &p));
    assert_non_null(
        doctor_parse_prm(SLICE_LIT("{\"resource\":\"https://h/mcp\",\"authorization_servers\":[]}"),
                         "https://h/mcp", false, &p));
    assert_non_null(doctor_parse_prm(SLICE_LIT("<html>"), "https://h/mcp", false, &p));
    assert_non_null(doctor_parse_prm(SLICE_LIT("[]"), "https://h/mcp", false, &p));
}

static void
test_as(void **state)
{
    (void)state;
    struct doctor_as as;
    const char *doc = "{\"issuer\":\"https://h\",\"registration_endpoint\":\"https://h/register\","
                      "\"code_challenge_methods_supported\":[\"plain\",\"S256\"],"
                      "\"token_endpoint_auth_methods_supported\":[\"none\"],"
                      "\"authorization_response_iss_parameter_supported\":true,"
                      "\"client_id_metadata_document_supported\":true}";
    assert_null(doctor_parse_as(slice_from_cstr(doc), "https://h", &as));
    assert_true(as.pkce_s256 && as.auth_none && as.iss_parameter && as.cimd);
    assert_string_equal(as.registration_endpoint, "https://h/register");
    /* Issuer exactly equal (RFC 8414 3.3): no trailing-slash tolerance. */
    assert_non_null(doctor_parse_as(slice_from_cstr(doc), "https://h/", &as));
    assert_string_equal(as.issuer, "https://h");
    assert_false(as.pkce_s256);
    /* Absent lists mean no S256 and client_secret_basic only. */
    assert_null(doctor_parse_as(SLICE_LIT("{\"issuer\":\"https://h\","
                                          "\"authorization_response_iss_parameter_supported\":"
                                          "\"true\"}"),
                                "https://h", &as));
    assert_false(as.pkce_s256 || as.auth_none || as.iss_parameter || as.cimd);
    assert_string_equal(as.registration_endpoint, "");
    assert_non_null(doctor_parse_as(SLICE_LIT("{\"issuer\":1}"), "https://h", &as));
}

static void
test_registration_and_lists(void **state)
{
    (void)state;
    assert_null(doctor_parse_registration(
        SLICE_LIT("{\"client_id\":\"abc\",\"redirect_uris\":[\"a\",\"b\"]}"), 2));
    assert_non_null(doctor_parse_registration(
        SLICE_LIT("{\"client_id\":\"abc\",\"redirect_uris\":[\"a\"]}"), 2));
    assert_non_null(doctor_parse_registration(SLICE_LIT("{\"client_id\":\"\"}"), 0));
    assert_non_null(doctor_parse_registration(SLICE_LIT("nope"), 0));
    assert_true(doctor_parse_list_has(SLICE_LIT("WWW-Authenticate, Mcp-Session-Id"),
                                      "mcp-session-id", false));
    assert_true(doctor_parse_list_has(SLICE_LIT(" www-authenticate "), "WWW-Authenticate", false));
    assert_false(doctor_parse_list_has(SLICE_LIT("WWW-Authenticate-X"), "WWW-Authenticate", false));
    assert_true(doctor_parse_list_has(SLICE_LIT("*"), "Mcp-Session-Id", true));
    assert_false(doctor_parse_list_has(SLICE_LIT("*"), "Mcp-Session-Id", false));
    assert_false(doctor_parse_list_has(SLICE_LIT(""), "a", true));
    char err[64];
    doctor_parse_oauth_error(SLICE_LIT("{\"error\":\"invalid_redirect_uri\","
                                       "\"error_description\":\"scheme\"}"),
                             err, sizeof(err));
    assert_string_equal(err, "invalid_redirect_uri: scheme");
    doctor_parse_oauth_error(SLICE_LIT("{\"error\":\"a\\nb\"}"), err, sizeof(err));
    assert_string_equal(err, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge_proxy_shapes),
        cmocka_unit_test(test_challenge_among_others),
        cmocka_unit_test(test_challenge_refusals),
        cmocka_unit_test(test_prm),
        cmocka_unit_test(test_as),
        cmocka_unit_test(test_registration_and_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
