/* oauth/token_rules: the pure decisions of POST /token (SPEC.md 3.8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bounds.h"
#include "fixtures.h"
#include "oauth/token_rules.h"

#define BASE FIXTURE_BASE
#define MOUNT "/mcp"

/* Runs the front checks on a form body; returns true when they pass. */
static bool
front(const char *body, enum oauth_token_grant *grant, struct oauth_error *err)
{
    struct form_params p;
    assert_int_equal(form_parse(slice_from_cstr(body), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &p),
                     FORM_OK);
    bool ok = oauth_token_rules_front(&p, BASE, MOUNT, grant, err);
    form_params_cleanup(&p);
    return ok;
}

static void
test_front_grant_dispatch(void **state)
{
    (void)state;
    enum oauth_token_grant g = OAUTH_TOKEN_GRANT_COUNT;
    struct oauth_error err;
    assert_true(front("grant_type=authorization_code&code=x", &g, &err));
    assert_int_equal(g, OAUTH_TOKEN_GRANT_AUTHORIZATION_CODE);
    assert_true(front("grant_type=refresh_token", &g, &err));
    assert_int_equal(g, OAUTH_TOKEN_GRANT_REFRESH_TOKEN);
    const char *bad[] = {"", "grant_type=", "grant_type=client_credentials",
                         "grant_type=Refresh_Token", "grant_type=refresh_token%20"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(front(bad[i], &g, &err));
        assert_int_equal(err.status, 400);
        assert_int_equal(err.code, OAUTH_ERROR_UNSUPPORTED_GRANT_TYPE);
        assert_string_equal(err.description,
                            "grant_type must be authorization_code or refresh_token");
    }
}

static void
test_front_repeated_singletons(void **state)
{
    (void)state;
    static const char *const names[] = {"grant_type", "code",          "redirect_uri",
                                        "client_id",  "code_verifier", "refresh_token"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char body[256];
        /* The empty second value still counts as a repetition (3.0.6). */
        snprintf(body, sizeof(body), "grant_type=refresh_token&%s=a&%s=", names[i], names[i]);
        if (i == 0) {
            snprintf(body, sizeof(body), "grant_type=refresh_token&grant_type=refresh_token");
        }
        enum oauth_token_grant g;
        struct oauth_error err;
        assert_false(front(body, &g, &err));
        assert_int_equal(err.status, 400);
        assert_int_equal(err.code, OAUTH_ERROR_INVALID_REQUEST);
        char want[96];
        snprintf(want, sizeof(want), "%s must not be repeated", names[i]);
        assert_string_equal(err.description, want);
    }
    /* resource may repeat. */
    enum oauth_token_grant g;
    struct oauth_error err;
    assert_true(front("grant_type=refresh_token&resource=https%3A%2F%2Fauth.example.com"
                      "&resource=https%3A%2F%2Fauth.example.com%2Fmcp",
                      &g, &err));
}

static void
test_front_resource_before_grant(void **state)
{
    (void)state;
    enum oauth_token_grant g;
    struct oauth_error err;
    /* Every value must match; one foreign value is enough to refuse, and
     * the check runs before the grant type is looked at. */
    assert_false(front("grant_type=bogus&resource=https%3A%2F%2Fauth.example.com"
                       "&resource=https%3A%2F%2Fevil.example.com",
                       &g, &err));
    assert_int_equal(err.code, OAUTH_ERROR_INVALID_TARGET);
    assert_string_equal(err.description, "resource does not identify this authorization server");
    assert_false(front("grant_type=refresh_token&resource=", &g, &err));
    assert_int_equal(err.code, OAUTH_ERROR_INVALID_TARGET);
    assert_true(front("grant_type=refresh_token&resource=https%3A%2F%2Fauth.example.com%2Fmcp%2F",
                      &g, &err));
}

static void
test_code_check_outcomes(void **state)
{
    (void)state;
    struct oauth_error err;
    assert_true(oauth_error_from_grants(OAUTH_ERROR_TOKEN_CODE, GRANTS_OK, &err));
    const struct {
        enum grants_rc rc;
        const char *desc;
    } rows[] = {
        {GRANTS_ERR_OPEN, "invalid or expired authorization code"},
        {GRANTS_ERR_PAYLOAD, "invalid or expired authorization code"},
        {GRANTS_ERR_TYP, "invalid or expired authorization code"},
        {GRANTS_ERR_AUDIENCE, "authorization code bound to a different audience"},
        {GRANTS_ERR_EXPIRED, "authorization code expired"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_false(oauth_error_from_grants(OAUTH_ERROR_TOKEN_CODE, rows[i].rc, &err));
        assert_int_equal(err.status, 400);
        assert_int_equal(err.code, OAUTH_ERROR_INVALID_GRANT);
        assert_string_equal(err.description, rows[i].desc);
    }
}

static struct grant_code
code_with(const char *cc, bool spkce, const char *sv)
{
    return (struct grant_code){.token_id = "t",
                               .family_id = "f",
                               .code_challenge = cc,
                               .server_pkce = spkce,
                               .server_verifier = sv};
}

static void
test_code_ids(void **state)
{
    (void)state;
    struct oauth_error err;
    struct grant_code c = code_with("", false, "");
    assert_true(oauth_token_rules_code_has_ids(&c, &err));
    c.token_id = "";
    assert_false(oauth_token_rules_code_has_ids(&c, &err));
    assert_string_equal(err.description, "authorization code missing token id or family id");
    c.token_id = "t";
    c.family_id = "";
    assert_false(oauth_token_rules_code_has_ids(&c, &err));
}

static void
test_pkce_rules(void **state)
{
    (void)state;
    struct oauth_error err;
    struct slice good = SLICE_LIT(FIXTURE_PKCE_VERIFIER);
    struct slice wrong = SLICE_LIT("wBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");

    /* Client PKCE. */
    struct grant_code c = code_with(FIXTURE_PKCE_CHALLENGE, false, "");
    assert_true(oauth_token_rules_pkce(&c, good, &err));
    assert_false(oauth_token_rules_pkce(&c, wrong, &err));
    assert_int_equal(err.code, OAUTH_ERROR_INVALID_GRANT);
    assert_string_equal(err.description, "PKCE verification failed");
    assert_false(oauth_token_rules_pkce(&c, SLICE_NULL, &err));
    assert_int_equal(err.code, OAUTH_ERROR_INVALID_GRANT);
    assert_string_equal(err.description, "code_verifier is required");

    /* Server-side PKCE: sv stands in only when the client sent nothing. */
    c = code_with(FIXTURE_PKCE_CHALLENGE, true, FIXTURE_PKCE_VERIFIER);
    assert_true(oauth_token_rules_pkce(&c, SLICE_NULL, &err));
    assert_false(oauth_token_rules_pkce(&c, wrong, &err));
    assert_string_equal(err.description, "PKCE verification failed");
    /* sv without the spkce flag is not used. */
    c = code_with(FIXTURE_PKCE_CHALLENGE, false, FIXTURE_PKCE_VERIFIER);
    assert_false(oauth_token_rules_pkce(&c, SLICE_NULL, &err));
    assert_string_equal(err.description, "code_verifier is required");

    /* No challenge sealed: nothing to check, and a verifier is refused. */
    c = code_with("", false, "");
    assert_true(oauth_token_rules_pkce(&c, SLICE_NULL, &err));
    assert_false(oauth_token_rules_pkce(&c, good, &err));
    assert_int_equal(err.code, OAUTH_ERROR_INVALID_REQUEST);
    assert_string_equal(err.description,
                        "code_verifier supplied but code was issued without a code_challenge");
}

static void
test_revoke_before(void **state)
{
    (void)state;
    const int64_t rb = FIXTURE_NOW;
    /* Not set: never revoked. */
    assert_false(oauth_token_rules_refresh_revoked(0, 0, false, rb, 0));
    /* fiat decides, not iat (a rotated family keeps its first issue time). */
    assert_true(oauth_token_rules_refresh_revoked(rb + 100, rb - 1, true, rb, 0));
    assert_false(oauth_token_rules_refresh_revoked(rb - 100, rb, true, rb, 0));
    /* Legacy zero fiat: iat decides. */
    assert_true(oauth_token_rules_refresh_revoked(rb - 1, 0, true, rb, 0));
    assert_false(oauth_token_rules_refresh_revoked(rb, 0, true, rb, 0));
    /* A cut-off with a fraction: its own second counts as before it. */
    assert_true(oauth_token_rules_refresh_revoked(0, rb, true, rb, 500000000));
    assert_false(oauth_token_rules_refresh_revoked(0, rb + 1, true, rb, 500000000));
    assert_int_equal(oauth_token_rules_family_iat(5, 0), 5);
    assert_int_equal(oauth_token_rules_family_iat(5, 3), 3);
}

static void
test_refresh_check_order(void **state)
{
    (void)state;
    struct oauth_error err;
    const int64_t rb = FIXTURE_NOW;
    struct grant_refresh g = {
        .token_id = "t", .family_id = "f", .iat = rb - 10, .family_iat = rb - 10};
    const struct {
        enum grants_rc rc;
        bool missing_id;
        bool revoked;
        enum oauth_token_refresh_verdict want;
        const char *desc;
    } rows[] = {
        {GRANTS_OK, false, false, OAUTH_TOKEN_REFRESH_OK, NULL},
        {GRANTS_ERR_OPEN, false, true, OAUTH_TOKEN_REFRESH_DENIED,
         "invalid or expired refresh token"},
        {GRANTS_ERR_TYP, true, true, OAUTH_TOKEN_REFRESH_DENIED,
         "invalid or expired refresh token"},
        /* Missing ids come before audience, revocation and expiry. */
        {GRANTS_ERR_AUDIENCE, true, true, OAUTH_TOKEN_REFRESH_DENIED,
         "refresh token missing family or id"},
        {GRANTS_OK, true, false, OAUTH_TOKEN_REFRESH_DENIED, "refresh token missing family or id"},
        /* Audience before revocation. */
        {GRANTS_ERR_AUDIENCE, false, true, OAUTH_TOKEN_REFRESH_DENIED,
         "refresh token bound to a different audience"},
        /* Revocation before expiry. */
        {GRANTS_ERR_EXPIRED, false, true, OAUTH_TOKEN_REFRESH_REVOKED, "refresh token revoked"},
        {GRANTS_OK, false, true, OAUTH_TOKEN_REFRESH_REVOKED, "refresh token revoked"},
        {GRANTS_ERR_EXPIRED, false, false, OAUTH_TOKEN_REFRESH_DENIED, "refresh token expired"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        g.family_id = rows[i].missing_id ? "" : "f";
        enum oauth_token_refresh_verdict v =
            oauth_token_rules_refresh_check(rows[i].rc, &g, rows[i].revoked, rb, 0, &err);
        assert_int_equal(v, rows[i].want);
        if (rows[i].desc != NULL) {
            assert_int_equal(err.status, 400);
            assert_int_equal(err.code, OAUTH_ERROR_INVALID_GRANT);
            assert_string_equal(err.description, rows[i].desc);
        }
    }
    /* A missing tid is the same as a missing fam. */
    g.family_id = "f";
    g.token_id = "";
    assert_int_equal(oauth_token_rules_refresh_check(GRANTS_OK, &g, false, 0, 0, &err),
                     OAUTH_TOKEN_REFRESH_DENIED);
    assert_string_equal(err.description, "refresh token missing family or id");
}

static void
test_refresh_claim_outcomes(void **state)
{
    (void)state;
    struct oauth_token_refresh_denial d;
    assert_true(oauth_token_rules_refresh_claim(STORE_REFRESH_FRESH, &d));

    assert_false(oauth_token_rules_refresh_claim(STORE_REFRESH_FAMILY_REVOKED, &d));
    assert_int_equal(d.err.status, 400);
    assert_int_equal(d.err.code, OAUTH_ERROR_INVALID_GRANT);
    assert_string_equal(d.err.description, "refresh token revoked");
    assert_string_equal(d.err.error_code, "refresh_family_revoked");
    assert_true(d.has_denied);
    assert_int_equal(d.denied, METRICS_DENIED_REFRESH_FAMILY_REVOKED);
    assert_false(d.replay);
    assert_int_equal(d.retry_after_s, 0);

    assert_false(oauth_token_rules_refresh_claim(STORE_REFRESH_RACING, &d));
    assert_int_equal(d.err.status, 429);
    assert_int_equal(d.err.code, OAUTH_ERROR_INVALID_GRANT);
    assert_string_equal(d.err.description,
                        "refresh token concurrent submit; the legitimate peer is rotating, "
                        "retry after the new refresh lands");
    assert_string_equal(d.err.error_code, "refresh_concurrent_submit");
    assert_int_equal(d.denied, METRICS_DENIED_REFRESH_CONCURRENT_SUBMIT);
    assert_int_equal(d.retry_after_s, 2);
    assert_false(d.replay);

    assert_false(oauth_token_rules_refresh_claim(STORE_REFRESH_REUSED, &d));
    assert_int_equal(d.err.status, 400);
    assert_string_equal(d.err.error_code, "refresh_reuse_detected");
    assert_true(d.replay);
    assert_false(d.has_denied);
    /* The emitted bytes: the sanitiser turns the em dash into nothing
     * between two spaces (SPEC.md 3.0.5). */
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(oauth_error_format_json(&d.err, &b), 0);
    assert_string_equal(buf_cstr(&b),
                        "{\"error\":\"invalid_grant\",\"error_description\":\"refresh token reuse "
                        "detected  family revoked\",\"error_code\":\"refresh_reuse_detected\"}\n");
    buf_cleanup(&b);

    assert_false(oauth_token_rules_refresh_claim(STORE_REFRESH_UNAVAILABLE, &d));
    assert_int_equal(d.err.status, 503);
    assert_int_equal(d.err.code, OAUTH_ERROR_SERVER_ERROR);
    assert_string_equal(d.err.description, "replay store unavailable");
    assert_string_equal(d.err.error_code, "replay_store_unavailable");
    assert_int_equal(d.denied, METRICS_DENIED_REPLAY_STORE_UNAVAILABLE);
}

static void
test_success_body(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(
        oauth_token_rules_format_success(SLICE_LIT("AAA-_b"), SLICE_LIT("RRR"), SLICE_NULL, &b), 0);
    assert_string_equal(buf_cstr(&b), "{\"access_token\":\"AAA-_b\",\"expires_in\":3600,"
                                      "\"refresh_token\":\"RRR\",\"token_type\":\"Bearer\"}\n");
    buf_cleanup(&b);
    /* With scopes: "scope" between refresh_token and token_type (keys
     * sorted); no refresh token for a grant that may not have one. */
    buf_init(&b, 4096);
    assert_int_equal(oauth_token_rules_format_success(SLICE_LIT("A"), SLICE_LIT("R"),
                                                      SLICE_LIT("mcp:read offline_access"), &b),
                     0);
    assert_string_equal(buf_cstr(&b),
                        "{\"access_token\":\"A\",\"expires_in\":3600,"
                        "\"refresh_token\":\"R\",\"scope\":\"mcp:read offline_access\","
                        "\"token_type\":\"Bearer\"}\n");
    buf_cleanup(&b);
    buf_init(&b, 4096);
    assert_int_equal(
        oauth_token_rules_format_success(SLICE_LIT("A"), SLICE_NULL, SLICE_LIT("mcp:read"), &b), 0);
    assert_string_equal(buf_cstr(&b), "{\"access_token\":\"A\",\"expires_in\":3600,"
                                      "\"scope\":\"mcp:read\",\"token_type\":\"Bearer\"}\n");
    buf_cleanup(&b);
    /* At the cap: -1, never a truncated body passed off as whole. */
    buf_init(&b, 40);
    assert_int_equal(
        oauth_token_rules_format_success(SLICE_LIT("AAA"), SLICE_LIT("RRR"), SLICE_NULL, &b), -1);
    buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_front_grant_dispatch),
        cmocka_unit_test(test_front_repeated_singletons),
        cmocka_unit_test(test_front_resource_before_grant),
        cmocka_unit_test(test_code_check_outcomes),
        cmocka_unit_test(test_code_ids),
        cmocka_unit_test(test_pkce_rules),
        cmocka_unit_test(test_revoke_before),
        cmocka_unit_test(test_refresh_check_order),
        cmocka_unit_test(test_refresh_claim_outcomes),
        cmocka_unit_test(test_success_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
