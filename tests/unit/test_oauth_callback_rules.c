/* oauth/callback_rules: the pure decisions of GET /callback (SPEC.md 3.7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bounds.h"
#include "fixtures.h"
#include "oauth/callback_rules.h"

#define BASE FIXTURE_BASE
#define ISSUER "https://idp.example.com/realms/x"

static bool
query(const char *q, struct oauth_error *err)
{
    struct form_params p;
    assert_int_equal(form_parse(slice_from_cstr(q), FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p),
                     FORM_OK);
    bool ok = oauth_callback_rules_query(&p, ISSUER, err);
    form_params_cleanup(&p);
    return ok;
}

static void
test_query_repeated(void **state)
{
    (void)state;
    static const char *const names[] = {"code", "state", "error", "error_description", "iss"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char q[128];
        snprintf(q, sizeof(q), "%s=a&x=1&%s=", names[i], names[i]);
        struct oauth_error err;
        assert_false(query(q, &err));
        assert_int_equal(err.status, 400);
        assert_int_equal(err.code, OAUTH_ERROR_INVALID_REQUEST);
        char want[64];
        snprintf(want, sizeof(want), "%s must not be repeated", names[i]);
        assert_string_equal(err.description, want);
    }
    struct oauth_error err;
    assert_true(query("code=a&state=b&session_state=1&session_state=2", &err));
}

static void
test_query_iss(void **state)
{
    (void)state;
    struct oauth_error err;
    /* Absent: accepted (not every IdP implements RFC 9207). */
    assert_true(query("code=a&state=b", &err));
    assert_true(query("code=a&state=b&iss=https%3A%2F%2Fidp.example.com%2Frealms%2Fx", &err));
    const char *bad[] = {
        "code=a&state=b&iss=",
        "code=a&state=b&iss=https%3A%2F%2Fidp.example.com%2Frealms%2Fx%2F",
        "code=a&state=b&iss=https%3A%2F%2FIDP.example.com%2Frealms%2Fx",
        "code=a&state=b&iss=https%3A%2F%2Fevil.example.com",
        /* Also on an error response: a mix-up attacker's error is not relayed. */
        "error=access_denied&state=b&iss=https%3A%2F%2Fevil.example.com",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(query(bad[i], &err));
        assert_int_equal(err.status, 400);
        assert_int_equal(err.code, OAUTH_ERROR_INVALID_REQUEST);
        assert_string_equal(err.description, "iss does not match the identity provider's issuer");
    }
}

static void
test_idp_error_location(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(oauth_callback_rules_idp_error_location(
                         "http://127.0.0.1:9/cb?keep=1&error=old#frag",
                         oauth_error_from_idp(SLICE_LIT("access_denied")), "st ate", BASE, &b),
                     0);
    assert_string_equal(buf_cstr(&b), "http://127.0.0.1:9/cb?error=access_denied"
                                      "&error_description=authorization+denied+by+identity+"
                                      "provider&iss=https%3A%2F%2Fauth.example.com&keep=1"
                                      "&state=st+ate");
    /* An unknown IdP error collapses to server_error; no state, no key. */
    buf_reset(&b);
    assert_int_equal(
        oauth_callback_rules_idp_error_location(
            "https://client.example/cb", oauth_error_from_idp(SLICE_LIT("<script>")), "", BASE, &b),
        0);
    assert_string_equal(buf_cstr(&b), "https://client.example/cb?error=server_error"
                                      "&error_description=authorization+denied+by+identity+"
                                      "provider&iss=https%3A%2F%2Fauth.example.com");
    /* An unparseable ru: -1, out untouched, the handler falls back to JSON. */
    buf_reset(&b);
    assert_int_equal(oauth_callback_rules_idp_error_location("not a url", OAUTH_ERROR_ACCESS_DENIED,
                                                             "s", BASE, &b),
                     -1);
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);

    struct oauth_error err;
    oauth_callback_rules_idp_error_unmatched(OAUTH_ERROR_TEMPORARILY_UNAVAILABLE, &err);
    assert_int_equal(err.status, 400);
    assert_int_equal(err.code, OAUTH_ERROR_TEMPORARILY_UNAVAILABLE);
    assert_string_equal(err.description,
                        "authorization request could not be matched to a known session");
}

static void
test_session_check(void **state)
{
    (void)state;
    struct oauth_error err;
    assert_true(oauth_error_from_grants(OAUTH_ERROR_TOKEN_SESSION, GRANTS_OK, &err));
    const struct {
        enum grants_rc rc;
        const char *desc;
    } rows[] = {
        {GRANTS_ERR_OPEN, "unknown or expired state"},
        {GRANTS_ERR_PAYLOAD, "unknown or expired state"},
        {GRANTS_ERR_TYP, "unknown or expired state"},
        {GRANTS_ERR_AUDIENCE, "session bound to a different audience"},
        {GRANTS_ERR_EXPIRED, "session expired"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_false(oauth_error_from_grants(OAUTH_ERROR_TOKEN_SESSION, rows[i].rc, &err));
        assert_int_equal(err.status, 400);
        assert_int_equal(err.code, OAUTH_ERROR_INVALID_REQUEST);
        assert_string_equal(err.description, rows[i].desc);
    }
}

static void
test_identity_rules(void **state)
{
    (void)state;
    char *groups[] = {"mcp-users", "dev"};
    char *allowed[] = {"admins", "dev"};
    char *none_allowed[] = {"admins"};
    struct oidc_claims c = {
        .sub = "alice",
        .email = "a@example.com",
        .name = "",
        .email_verified_present = true,
        .email_verified = true,
        .groups = groups,
        .group_count = 2,
    };
    struct oauth_error err;
    enum metrics_denied why = METRICS_DENIED_COUNT;
    assert_true(oauth_callback_rules_identity(&c, allowed, 2, &err, &why));
    assert_true(oauth_callback_rules_identity(&c, NULL, 0, &err, &why));

    assert_false(oauth_callback_rules_identity(&c, none_allowed, 1, &err, &why));
    assert_int_equal(err.status, 403);
    assert_int_equal(err.code, OAUTH_ERROR_ACCESS_DENIED);
    assert_string_equal(err.description, "user not in any allowed group");
    assert_null(err.error_code);
    assert_int_equal(why, METRICS_DENIED_GROUP);

    /* Absent email_verified is accepted; false is not. */
    c.email_verified_present = false;
    c.email_verified = false;
    assert_true(oauth_callback_rules_identity(&c, NULL, 0, &err, &why));
    c.email_verified_present = true;
    assert_false(oauth_callback_rules_identity(&c, NULL, 0, &err, &why));
    assert_string_equal(err.description, "email address is not verified");
    assert_string_equal(err.error_code, "email_not_verified");
    assert_int_equal(why, METRICS_DENIED_EMAIL_UNVERIFIED);
    c.email_verified = true;

    /* Subject first, before every other rule. */
    c.sub = "";
    c.email_verified = false;
    assert_false(oauth_callback_rules_identity(&c, none_allowed, 1, &err, &why));
    assert_string_equal(err.description, "id token missing subject claim");
    assert_string_equal(err.error_code, "subject_missing");
    assert_int_equal(why, METRICS_DENIED_SUBJECT_MISSING);
    c.sub = "alice";
    c.email_verified = true;

    /* A control byte in sub or email: 403 claim_invalid, after the
     * subject check and before the email_verified and group rules. */
    c.email_verified = false;
    c.sub_invalid = true;
    assert_false(oauth_callback_rules_identity(&c, none_allowed, 1, &err, &why));
    assert_int_equal(err.status, 403);
    assert_string_equal(err.description, "subject claim contains invalid characters");
    assert_string_equal(err.error_code, "claim_invalid");
    assert_int_equal(why, METRICS_DENIED_CLAIM_INVALID);
    c.sub_invalid = false;
    c.email_invalid = true;
    assert_false(oauth_callback_rules_identity(&c, none_allowed, 1, &err, &why));
    assert_string_equal(err.description, "email claim contains invalid characters");
    assert_string_equal(err.error_code, "claim_invalid");
    assert_int_equal(why, METRICS_DENIED_CLAIM_INVALID);
    c.email_invalid = false;
    c.email_verified = true;

    /* Invalid group characters (oidc/claims flags them while parsing,
     * where a NUL is still visible) are refused before the allowlist. */
    char *g2[] = {"dev", "a,b"};
    c.groups = g2;
    c.group_invalid = true;
    assert_false(oauth_callback_rules_identity(&c, allowed, 2, &err, &why));
    assert_string_equal(err.description, "group name contains invalid characters");
    assert_string_equal(err.error_code, "group_invalid");
    assert_int_equal(why, METRICS_DENIED_GROUP_INVALID);
    c.group_invalid = false;
    /* No groups at all, with an allowlist: the allowlist refuses. */
    c.groups = NULL;
    c.group_count = 0;
    assert_false(oauth_callback_rules_identity(&c, allowed, 2, &err, &why));
    assert_int_equal(why, METRICS_DENIED_GROUP);
    /* The groups elsewhere (Entra overage) with an allowlist: its own clear
     * refusal, before the allowlist's; without one identity passes (the
     * access rules below decide). */
    c.groups_overage = true;
    assert_false(oauth_callback_rules_identity(&c, allowed, 2, &err, &why));
    assert_int_equal(err.status, 403);
    assert_int_equal(err.code, OAUTH_ERROR_ACCESS_DENIED);
    assert_string_equal(err.description, OAUTH_CALLBACK_GROUPS_OVERAGE);
    assert_string_equal(err.error_code, "groups_overage");
    assert_int_equal(why, METRICS_DENIED_GROUPS_OVERAGE);
    assert_true(oauth_callback_rules_identity(&c, NULL, 0, &err, &why));
}

/* docs/idps.md: the groups overage when a policy file may name groups, and
 * ALLOWED_HOSTED_DOMAINS. */
static void
test_access_rules(void **state)
{
    (void)state;
    char *domains[] = {"example.com"};
    struct oidc_claims c = {.sub = "alice", .email = "", .name = "", .hd = "example.com"};
    struct oauth_error err;
    enum metrics_denied why = METRICS_DENIED_COUNT;
    assert_true(oauth_callback_rules_access(&c, false, NULL, 0, &err, &why));
    assert_true(oauth_callback_rules_access(&c, true, domains, 1, &err, &why));

    c.groups_overage = true;
    assert_true(oauth_callback_rules_access(&c, false, domains, 1, &err, &why));
    assert_false(oauth_callback_rules_access(&c, true, NULL, 0, &err, &why));
    assert_int_equal(err.status, 403);
    assert_string_equal(err.error_code, "groups_overage");
    assert_int_equal(why, METRICS_DENIED_GROUPS_OVERAGE);
    c.groups_overage = false;

    c.hd = "";
    assert_true(oauth_callback_rules_access(&c, false, NULL, 0, &err, &why));
    assert_false(oauth_callback_rules_access(&c, false, domains, 1, &err, &why));
    assert_int_equal(err.status, 403);
    assert_int_equal(err.code, OAUTH_ERROR_ACCESS_DENIED);
    assert_string_equal(err.description, "hosted domain not allowed");
    assert_string_equal(err.error_code, "hosted_domain_not_allowed");
    assert_int_equal(why, METRICS_DENIED_HOSTED_DOMAIN);
    c.hd = "evil.example";
    assert_false(oauth_callback_rules_access(&c, false, domains, 1, &err, &why));
    assert_int_equal(why, METRICS_DENIED_HOSTED_DOMAIN);
}

static void
test_build_code(void **state)
{
    (void)state;
    char *groups[] = {"mcp-users"};
    struct oidc_claims c = {
        .sub = "alice", .email = "a@x", .name = "Alice", .groups = groups, .group_count = 1};
    struct grant_session s = {.client_id = "cid-1",
                              .redirect_uri = "http://127.0.0.1/cb",
                              .code_challenge = "CC",
                              .client_state = "os",
                              .server_verifier = "",
                              .resource = "https://auth.example.com/mcp"};
    struct grant_code code;
    oauth_callback_rules_build_code(&s, &c, "tid", "fam", BASE, FIXTURE_NOW, &code);
    assert_string_equal(code.token_id, "tid");
    assert_string_equal(code.family_id, "fam");
    assert_string_equal(code.client_id, "cid-1");
    assert_string_equal(code.redirect_uri, "http://127.0.0.1/cb");
    assert_string_equal(code.code_challenge, "CC");
    assert_string_equal(code.sub, "alice");
    assert_string_equal(code.email, "a@x");
    assert_string_equal(code.name, "Alice");
    assert_int_equal(code.group_count, 1);
    assert_string_equal(code.groups[0], "mcp-users");
    assert_string_equal(code.resource, "https://auth.example.com/mcp");
    assert_false(code.server_pkce);
    assert_string_equal(code.aud, BASE);
    assert_int_equal(code.exp, FIXTURE_NOW + 60);
    /* A server-side verifier in the session asks /token to use it. */
    s.server_verifier = FIXTURE_PKCE_VERIFIER;
    oauth_callback_rules_build_code(&s, &c, "tid", "fam", BASE, FIXTURE_NOW, &code);
    assert_true(code.server_pkce);
    assert_string_equal(code.server_verifier, FIXTURE_PKCE_VERIFIER);
}

static void
test_success_location(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(oauth_callback_rules_success_location("http://localhost:3000/cb?z=1#f", "C0DE",
                                                           "xyz", BASE, &b),
                     0);
    assert_string_equal(buf_cstr(&b), "http://localhost:3000/cb?code=C0DE"
                                      "&iss=https%3A%2F%2Fauth.example.com&state=xyz&z=1");
    buf_reset(&b);
    /* An existing state in ru is replaced only when we have one. */
    assert_int_equal(
        oauth_callback_rules_success_location("https://c.example/cb?state=keep", "C", "", BASE, &b),
        0);
    assert_string_equal(buf_cstr(&b), "https://c.example/cb?code=C"
                                      "&iss=https%3A%2F%2Fauth.example.com&state=keep");
    buf_reset(&b);
    assert_int_equal(oauth_callback_rules_success_location("::", "C", "", BASE, &b), -1);
    buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_repeated),     cmocka_unit_test(test_query_iss),
        cmocka_unit_test(test_idp_error_location), cmocka_unit_test(test_session_check),
        cmocka_unit_test(test_identity_rules),     cmocka_unit_test(test_access_rules),
        cmocka_unit_test(test_build_code),         cmocka_unit_test(test_success_location),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
