/* oauth/scope_rules: the granting rules of MCP_SCOPES_SUPPORTED, one row
 * per rule of docs/conformance.md "Scopes". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "oauth/scope_rules.h"

#define SUP "mcp:read mcp:write offline_access"

struct grant_row {
    const char *supported;
    const char *requested;
    const char *want; /* granted, when why is NULL */
    const char *why;  /* a substring of the invalid_scope description */
};

static const struct grant_row grant_rows[] = {
    /* Scopes off: nothing granted, whatever was asked (as before). */
    {"", NULL, "", NULL},
    {"", "anything \"at all", "", NULL},
    {NULL, "mcp:read", "", NULL},
    /* Nothing asked: every supported scope but offline_access. */
    {SUP, NULL, "mcp:read mcp:write", NULL},
    {SUP, "", "mcp:read mcp:write", NULL},
    {SUP, "   ", "mcp:read mcp:write", NULL},
    {"offline_access", NULL, "", NULL},
    /* A subset, in the configured order, duplicates folded. */
    {SUP, "mcp:read", "mcp:read", NULL},
    {SUP, "offline_access mcp:write mcp:write", "mcp:write offline_access", NULL},
    {SUP, "  mcp:write   mcp:read ", "mcp:read mcp:write", NULL},
    {SUP, "offline_access", "offline_access", NULL},
    /* Unknown scopes are dropped ... */
    {SUP, "openid profile mcp:read", "mcp:read", NULL},
    {SUP, "MCP:READ mcp:read", "mcp:read", NULL},
    /* ... but nothing supported left is refused. */
    {SUP, "openid", NULL, "none of the requested scopes is supported"},
    {SUP, "mcp", NULL, "none of the requested"},
    /* Malformed: a byte outside scope-token, separators other than SP. */
    {SUP, "mcp:read \"x\"", NULL, "malformed"},
    {SUP, "mcp:read\tmcp:write", NULL, "malformed"},
    {SUP, "mcp:read,mcp:write", NULL, "none of the requested"}, /* one token, unknown */
    {SUP, "caf\xc3\xa9 mcp:read", NULL, "malformed"},
};

static void
test_grant_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(grant_rows) / sizeof(grant_rows[0]); i++) {
        const struct grant_row *r = &grant_rows[i];
        char out[OAUTH_SCOPE_RULES_MAX];
        memset(out, 'x', sizeof(out));
        const char *why = oauth_scope_rules_grant(r->supported, r->requested, out);
        if (r->why == NULL) {
            if (why != NULL) {
                fail_msg("row %zu: refused (%s)", i, why);
            }
            assert_string_equal(out, r->want);
        } else {
            if (why == NULL || strstr(why, r->why) == NULL) {
                fail_msg("row %zu: want \"%s\", got \"%s\"", i, r->why, why ? why : "(granted)");
            }
            assert_string_equal(out, "");
        }
    }
}

struct refresh_row {
    const char *supported;
    const char *granted;
    const char *requested;
    const char *want;
    const char *why;
};

static const struct refresh_row refresh_rows[] = {
    /* Scopes off: tokens stop carrying scopes; a scope asked is ignored. */
    {"", "mcp:read", NULL, "", NULL},
    {"", "", "mcp:write", "", NULL},
    /* Nothing asked: the grant as it was. */
    {SUP, "mcp:read offline_access", NULL, "mcp:read offline_access", NULL},
    {SUP, "mcp:read offline_access", " ", "mcp:read offline_access", NULL},
    /* A subset. */
    {SUP, "mcp:read mcp:write offline_access", "offline_access mcp:write",
     "mcp:write offline_access", NULL},
    /* More than granted: refused, even if supported. */
    {SUP, "mcp:read", "mcp:read mcp:write", NULL, "exceeds"},
    {SUP, "mcp:read", "openid", NULL, "exceeds"},
    /* A token minted before scopes (""): nothing more can be asked. */
    {SUP, "", NULL, "", NULL},
    {SUP, "", "mcp:read", NULL, "exceeds"},
    {SUP, "mcp:read", "mcp:read \\", NULL, "malformed"},
    /* A scope the operator removed goes at the next refresh. */
    {"mcp:write offline_access", "mcp:read mcp:write offline_access", NULL,
     "mcp:write offline_access", NULL},
};

static void
test_refresh_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refresh_rows) / sizeof(refresh_rows[0]); i++) {
        const struct refresh_row *r = &refresh_rows[i];
        char out[OAUTH_SCOPE_RULES_MAX];
        memset(out, 'x', sizeof(out));
        const char *why = oauth_scope_rules_refresh(r->supported, r->granted, r->requested, out);
        if (r->why == NULL) {
            if (why != NULL) {
                fail_msg("row %zu: refused (%s)", i, why);
            }
            assert_string_equal(out, r->want);
        } else {
            if (why == NULL || strstr(why, r->why) == NULL) {
                fail_msg("row %zu: want \"%s\", got \"%s\"", i, r->why, why ? why : "(granted)");
            }
            assert_string_equal(out, "");
        }
    }
}

static void
test_refresh_token_allowed(void **state)
{
    (void)state;
    /* Scopes off, or offline_access not offered: always, as before. */
    assert_true(oauth_scope_rules_refresh_token_allowed("", ""));
    assert_true(oauth_scope_rules_refresh_token_allowed(NULL, NULL));
    assert_true(oauth_scope_rules_refresh_token_allowed("mcp:read", "mcp:read"));
    assert_true(oauth_scope_rules_refresh_token_allowed("mcp:read", ""));
    /* Offered: only to grants that include it. */
    assert_true(oauth_scope_rules_refresh_token_allowed(SUP, "mcp:read offline_access"));
    assert_false(oauth_scope_rules_refresh_token_allowed(SUP, "mcp:read mcp:write"));
    assert_false(oauth_scope_rules_refresh_token_allowed(SUP, ""));
    assert_false(oauth_scope_rules_refresh_token_allowed(SUP, NULL));
}

/* The largest configured set (64 tokens of 15 bytes: 1023 bytes) is
 * granted whole and refreshed whole. */
static void
test_grant_fits_the_largest_set(void **state)
{
    (void)state;
    char sup[BOUNDS_SCOPE_MAX_BYTES + 1] = "";
    for (size_t i = 0; i < BOUNDS_SCOPES_SUPPORTED_MAX; i++) {
        snprintf(sup + strlen(sup), sizeof(sup) - strlen(sup), "%s%015zu", i > 0 ? " " : "", i);
    }
    assert_int_equal(strlen(sup), 1023);
    char out[OAUTH_SCOPE_RULES_MAX];
    char again[OAUTH_SCOPE_RULES_MAX];
    assert_null(oauth_scope_rules_grant(sup, NULL, out));
    assert_string_equal(out, sup);
    assert_null(oauth_scope_rules_grant(sup, sup, out));
    assert_string_equal(out, sup);
    assert_null(oauth_scope_rules_refresh(sup, out, NULL, again));
    assert_string_equal(again, sup);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grant_rows),
        cmocka_unit_test(test_refresh_rows),
        cmocka_unit_test(test_refresh_token_allowed),
        cmocka_unit_test(test_grant_fits_the_largest_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
