/* oidc/claims: SPEC.md 6.5 extraction and the group rules of 3.7. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "oidc/claims.h"

static json_t *
parse_json(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_ALLOW_NUL, &e);
    assert_non_null(v);
    return v;
}

/* Parses claims text expecting OK. */
static void
extract(const char *text, const char *groups_claim, struct oidc_claims *out)
{
    json_t *j = parse_json(text);
    assert_int_equal(oidc_claims_parse(j, groups_claim, "email", out, NULL), OIDC_CLAIMS_OK);
    json_decref(j);
}

static void
test_basic_fields(void **state)
{
    (void)state;
    struct oidc_claims c;
    extract("{\"sub\":\"alice\",\"email\":\"a@example.com\",\"name\":\"Alice\","
            "\"email_verified\":true,\"groups\":[\"dev\",\"ops\"]}",
            "groups", &c);
    assert_string_equal(c.sub, "alice");
    assert_string_equal(c.email, "a@example.com");
    assert_string_equal(c.name, "Alice");
    assert_true(c.email_verified_present);
    assert_true(c.email_verified);
    assert_int_equal(c.group_count, 2);
    assert_string_equal(c.groups[0], "dev");
    assert_string_equal(c.groups[1], "ops");
    assert_false(c.groups_shape_mismatch);
    assert_null(c.groups_error);
    assert_null(oidc_claims_check_groups(&c));
    oidc_claims_cleanup(&c);
}

/* acr and auth_time (docs/step-up.md): kept when usable; anything else
 * reads as unknown ("" / 0) and never fails the login. */
static void
test_authentication_claims(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *acr;
        int64_t auth_time;
    } cases[] = {
        {"{\"sub\":\"a\",\"acr\":\"urn:x:mfa\",\"auth_time\":1780000000}", "urn:x:mfa", 1780000000},
        {"{\"sub\":\"a\",\"auth_time\":1780000000.9}", "", 1780000000},
        {"{\"sub\":\"a\"}", "", 0},
        {"{\"sub\":\"a\",\"acr\":null,\"auth_time\":null}", "", 0},
        {"{\"sub\":\"a\",\"acr\":[\"mfa\"],\"auth_time\":\"1780000000\"}", "", 0},
        {"{\"sub\":\"a\",\"acr\":\"m\\nfa\",\"auth_time\":-5}", "", 0},
        {"{\"sub\":\"a\",\"acr\":\"mfa\",\"auth_time\":0}", "mfa", 0},
        {"{\"sub\":\"a\",\"auth_time\":1e300}", "", 0},
        {"{\"sub\":\"a\",\"auth_time\":253402300800}", "", 0},
        {"{\"sub\":\"a\",\"auth_time\":true}", "", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct oidc_claims c;
        extract(cases[i].json, "groups", &c);
        assert_string_equal(c.acr, cases[i].acr);
        assert_int_equal(c.auth_time, cases[i].auth_time);
        oidc_claims_cleanup(&c);
    }
}

static void
test_absent_fields_are_empty(void **state)
{
    (void)state;
    struct oidc_claims c;
    extract("{}", "groups", &c);
    assert_string_equal(c.sub, "");
    assert_string_equal(c.email, "");
    assert_string_equal(c.name, "");
    assert_false(c.email_verified_present);
    assert_int_equal(c.group_count, 0);
    assert_false(c.groups_shape_mismatch);
    oidc_claims_cleanup(&c);
    extract("{\"sub\":null,\"email\":null,\"email_verified\":null,\"groups\":null}", "groups", &c);
    assert_string_equal(c.sub, "");
    assert_false(c.email_verified_present);
    assert_false(c.groups_shape_mismatch);
    oidc_claims_cleanup(&c);
}

static void
test_wrong_types_fail(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *why;
    } cases[] = {
        {"{\"sub\":5}", "sub"},
        {"{\"sub\":\"a\",\"email\":[\"x\"]}", "email"},
        {"{\"sub\":\"a\",\"name\":{}}", "name"},
        {"{\"sub\":\"a\",\"email_verified\":\"yes\"}", "email_verified"},
        {"{\"sub\":\"a\",\"email_verified\":\"TRUE\"}", "email_verified"},
        {"{\"sub\":\"a\",\"email_verified\":1}", "email_verified"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = parse_json(cases[i].json);
        struct oidc_claims c;
        const char *why = NULL;
        assert_int_equal(oidc_claims_parse(j, "groups", "email", &c, &why),
                         OIDC_CLAIMS_ERR_MALFORMED);
        assert_string_equal(why, cases[i].why);
        assert_null(c.sub);
        oidc_claims_cleanup(&c);
        json_decref(j);
    }
    assert_string_equal(oidc_claims_rc_str(OIDC_CLAIMS_ERR_MALFORMED), "malformed");
}

static void
test_email_verified_forms(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        bool present;
        bool value;
    } cases[] = {
        {"{\"email_verified\":true}", true, true},
        {"{\"email_verified\":false}", true, false},
        {"{\"email_verified\":\"true\"}", true, true},
        {"{\"email_verified\":\"false\"}", true, false},
        {"{}", false, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct oidc_claims c;
        extract(cases[i].json, "groups", &c);
        assert_int_equal(c.email_verified_present, cases[i].present);
        assert_int_equal(c.email_verified, cases[i].value);
        oidc_claims_cleanup(&c);
    }
}

static void
test_groups_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        bool mismatch;
        size_t count;
        const char *first;
    } cases[] = {
        {"{\"groups\":[]}", false, 0, NULL},
        {"{\"groups\":[\"a\"]}", false, 1, "a"},
        {"{\"groups\":\"mcp-users\"}", true, 0, NULL},
        {"{\"groups\":{\"a\":1}}", true, 0, NULL},
        {"{\"groups\":42}", true, 0, NULL},
        {"{\"groups\":true}", true, 0, NULL},
        /* Mixed: mismatch, the strings kept, the rest dropped. */
        {"{\"groups\":[\"a\",1,\"b\",null,[\"c\"]]}", true, 2, "a"},
        {"{\"groups\":[1,2]}", true, 0, NULL},
        {"{\"other\":[\"a\"]}", false, 0, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct oidc_claims c;
        extract(cases[i].json, "groups", &c);
        assert_int_equal(c.groups_shape_mismatch, cases[i].mismatch);
        assert_int_equal(c.group_count, cases[i].count);
        if (cases[i].mismatch) {
            assert_non_null(c.groups_error);
        } else {
            assert_null(c.groups_error);
        }
        if (cases[i].first != NULL) {
            assert_string_equal(c.groups[0], cases[i].first);
        }
        oidc_claims_cleanup(&c);
    }
    struct oidc_claims c;
    extract("{\"groups\":[\"a\",1,\"b\"]}", "groups", &c);
    assert_string_equal(c.groups[1], "b");
    oidc_claims_cleanup(&c);
}

static void
test_groups_claim_name(void **state)
{
    (void)state;
    struct oidc_claims c;
    extract("{\"groups\":[\"x\"],\"roles\":[\"admin\"]}", "roles", &c);
    assert_int_equal(c.group_count, 1);
    assert_string_equal(c.groups[0], "admin");
    oidc_claims_cleanup(&c);
    /* Flat names only: a dotted name is one key, not a path. */
    extract("{\"realm\":{\"roles\":[\"admin\"]},\"realm.roles\":[\"flat\"]}", "realm.roles", &c);
    assert_int_equal(c.group_count, 1);
    assert_string_equal(c.groups[0], "flat");
    oidc_claims_cleanup(&c);
}

static void
test_invalid_group_chars(void **state)
{
    (void)state;
    const char *bad[] = {"a,b", "a\rb", "a\nb", ",", "x\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_non_null(oidc_claims_check_group(slice_from_cstr(bad[i])));
    }
    assert_non_null(oidc_claims_check_group(slice_make("a\0b", 3)));
    assert_string_equal(oidc_claims_check_group(SLICE_LIT("a,b")),
                        "group name contains invalid characters");
    /* Every C0 control byte and DEL, TAB included (proxy/headers would
     * forward a TAB, but nothing legitimate needs one in a group name). */
    for (unsigned b = 0; b < 0x20; b++) {
        char g[3] = {'a', (char)b, 'b'};
        assert_non_null(oidc_claims_check_group(slice_make(g, 3)));
    }
    assert_non_null(oidc_claims_check_group(SLICE_LIT("a\x7f")));
    assert_non_null(oidc_claims_check_group(SLICE_LIT("\xc3")));     /* truncated */
    assert_non_null(oidc_claims_check_group(SLICE_LIT("\xc0\xaf"))); /* overlong '/' */
    const char *good[] = {"", "mcp-users", "a b", "a;b", "é", "a|b", "日本"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_null(oidc_claims_check_group(slice_from_cstr(good[i])));
    }
    const char *claims[] = {
        "{\"groups\":[\"ok\",\"bad,group\"]}",
        "{\"groups\":[\"x\\r\"]}",
        "{\"groups\":[\"x\\ny\"]}",
        "{\"groups\":[\"x\\u0000y\"]}",
        "{\"groups\":[\"x\\ty\"]}",
        "{\"groups\":[\"x\\u001by\"]}",
        "{\"groups\":[\"x\\u007f\"]}",
    };
    for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
        struct oidc_claims c;
        extract(claims[i], "groups", &c);
        assert_true(c.group_invalid);
        assert_non_null(oidc_claims_check_groups(&c));
        oidc_claims_cleanup(&c);
    }
}

/* sub and email with a control byte: flagged on the full value (a NUL
 * would otherwise shorten the copy and hide it), named by the check. */
static void
test_invalid_identity_chars(void **state)
{
    (void)state;
    const char *sub_bad[] = {
        "{\"sub\":\"al\\u0001ice\"}", "{\"sub\":\"alice\\u0000\"}",      "{\"sub\":\"a\\tb\"}",
        "{\"sub\":\"a\\u007f\"}",     "{\"sub\":\"a\\r\\nX-Admin: 1\"}",
    };
    for (size_t i = 0; i < sizeof(sub_bad) / sizeof(sub_bad[0]); i++) {
        struct oidc_claims c;
        extract(sub_bad[i], "groups", &c);
        assert_true(c.sub_invalid);
        assert_false(c.email_invalid);
        assert_string_equal(oidc_claims_check_identity(&c),
                            "subject claim contains invalid characters");
        oidc_claims_cleanup(&c);
    }
    struct oidc_claims c;
    extract("{\"sub\":\"alice\",\"email\":\"a\\u001f@example.com\"}", "groups", &c);
    assert_false(c.sub_invalid);
    assert_true(c.email_invalid);
    assert_string_equal(oidc_claims_check_identity(&c), "email claim contains invalid characters");
    oidc_claims_cleanup(&c);
    /* Non-ASCII and odd but printable values pass; name is never checked
     * (it is not forwarded). */
    extract("{\"sub\":\"ünï cödé|;,\",\"email\":\"\",\"name\":\"a\\u0001\"}", "groups", &c);
    assert_null(oidc_claims_check_identity(&c));
    oidc_claims_cleanup(&c);
    assert_null(oidc_claims_check_value(SLICE_LIT("")));
    assert_string_equal(oidc_claims_check_value(SLICE_LIT("\xff")), "claim is not valid UTF-8");
    assert_string_equal(oidc_claims_check_value(SLICE_LIT("\xed\xa0\x80")),
                        "claim is not valid UTF-8"); /* a surrogate */
    assert_string_equal(oidc_claims_check_value(SLICE_LIT("x\x7f")),
                        "claim contains control characters");
}

static void
test_allowed_groups_overlap(void **state)
{
    (void)state;
    struct oidc_claims c;
    extract("{\"groups\":[\"dev\",\"mcp-users\"]}", "groups", &c);
    char *allow[] = {"admins", "mcp-users"};
    char *other[] = {"admins", "MCP-USERS", "mcp-user"};
    assert_true(oidc_claims_in_allowed_groups(&c, allow, 2));
    assert_false(oidc_claims_in_allowed_groups(&c, other, 3));
    assert_true(oidc_claims_in_allowed_groups(&c, NULL, 0));
    oidc_claims_cleanup(&c);
    extract("{}", "groups", &c);
    assert_false(oidc_claims_in_allowed_groups(&c, allow, 2));
    assert_true(oidc_claims_in_allowed_groups(&c, NULL, 0));
    oidc_claims_cleanup(&c);
}

/* The IdP quirks of docs/idps.md, one row each. */
static void
test_idp_quirks(void **state)
{
    (void)state;
    struct oidc_claims c;
    json_t *j;

    /* Okta / Auth0: groups under a namespaced claim name; one flat key. */
    extract("{\"https://example.com/groups\":[\"mcp-users\"],\"groups\":[\"other\"]}",
            "https://example.com/groups", &c);
    assert_int_equal(c.group_count, 1);
    assert_string_equal(c.groups[0], "mcp-users");
    assert_false(c.groups_overage);
    oidc_claims_cleanup(&c);

    /* Keycloak: full group paths are kept verbatim. */
    extract("{\"groups\":[\"/team/sub\",\"/team\"]}", "groups", &c);
    assert_int_equal(c.group_count, 2);
    assert_string_equal(c.groups[0], "/team/sub");
    assert_null(oidc_claims_check_groups(&c));
    oidc_claims_cleanup(&c);

    /* Entra ID: no email; EMAIL_CLAIM names preferred_username or upn. */
    static const char entra[] = "{\"sub\":\"s\",\"preferred_username\":\"ann@contoso.com\","
                                "\"upn\":\"ann@corp.contoso.com\"}";
    j = parse_json(entra);
    assert_int_equal(oidc_claims_parse(j, "groups", "email", &c, NULL), OIDC_CLAIMS_OK);
    assert_string_equal(c.email, "");
    oidc_claims_cleanup(&c);
    assert_int_equal(oidc_claims_parse(j, "groups", "preferred_username", &c, NULL),
                     OIDC_CLAIMS_OK);
    assert_string_equal(c.email, "ann@contoso.com");
    oidc_claims_cleanup(&c);
    assert_int_equal(oidc_claims_parse(j, "groups", "upn", &c, NULL), OIDC_CLAIMS_OK);
    assert_string_equal(c.email, "ann@corp.contoso.com");
    oidc_claims_cleanup(&c);
    json_decref(j);
    /* The named claim follows email's rules: a non-string fails the login,
     * a control byte is flagged. */
    const char *why = NULL;
    j = parse_json("{\"sub\":\"s\",\"upn\":7}");
    assert_int_equal(oidc_claims_parse(j, "groups", "upn", &c, &why), OIDC_CLAIMS_ERR_MALFORMED);
    assert_string_equal(why, "email");
    json_decref(j);
    j = parse_json("{\"sub\":\"s\",\"upn\":\"a\\u0001b\"}");
    assert_int_equal(oidc_claims_parse(j, "groups", "upn", &c, NULL), OIDC_CLAIMS_OK);
    assert_true(c.email_invalid);
    oidc_claims_cleanup(&c);
    json_decref(j);

    /* Entra ID: groups as GUIDs are plain strings. */
    extract("{\"groups\":[\"8f1c6a5e-3b1e-4c8a-9d7e-2f0b1c3d4e5f\"]}", "groups", &c);
    assert_int_equal(c.group_count, 1);
    assert_false(c.groups_overage);
    oidc_claims_cleanup(&c);

    /* Entra ID groups overage: _claim_names names the groups claim. */
    extract("{\"_claim_names\":{\"groups\":\"src1\"},\"_claim_sources\":{\"src1\":"
            "{\"endpoint\":\"https://graph.windows.net/x/users/y/getMemberObjects\"}}}",
            "groups", &c);
    assert_true(c.groups_overage);
    assert_int_equal(c.group_count, 0);
    assert_false(c.groups_shape_mismatch);
    oidc_claims_cleanup(&c);
    /* ... the implicit-flow form ... */
    extract("{\"hasgroups\":true}", "groups", &c);
    assert_true(c.groups_overage);
    oidc_claims_cleanup(&c);
    /* ... null groups with the reference still counts ... */
    extract("{\"groups\":null,\"_claim_names\":{\"groups\":\"src1\"}}", "groups", &c);
    assert_true(c.groups_overage);
    oidc_claims_cleanup(&c);
    /* ... but not a reference to another claim, hasgroups false, a
     * malformed _claim_names, or the groups present next to it. */
    const char *not_overage[] = {
        "{\"_claim_names\":{\"roles\":\"src1\"}}",
        "{\"hasgroups\":false}",
        "{\"hasgroups\":\"true\"}",
        "{\"_claim_names\":[\"groups\"]}",
        "{\"_claim_names\":\"groups\"}",
        "{\"groups\":[\"g\"],\"_claim_names\":{\"groups\":\"src1\"}}",
        "{}",
    };
    for (size_t i = 0; i < sizeof(not_overage) / sizeof(not_overage[0]); i++) {
        extract(not_overage[i], "groups", &c);
        assert_false(c.groups_overage);
        oidc_claims_cleanup(&c);
    }
    /* With a custom GROUPS_CLAIM the reference must name that claim. */
    extract("{\"_claim_names\":{\"roles\":\"src1\"}}", "roles", &c);
    assert_true(c.groups_overage);
    oidc_claims_cleanup(&c);

    /* Google: hd kept when it is a usable string, else "". */
    extract("{\"hd\":\"example.com\"}", "groups", &c);
    assert_string_equal(c.hd, "example.com");
    oidc_claims_cleanup(&c);
    const char *no_hd[] = {"{}", "{\"hd\":null}", "{\"hd\":1}", "{\"hd\":[\"a.com\"]}",
                           "{\"hd\":\"a\\u0000.com\"}"};
    for (size_t i = 0; i < sizeof(no_hd) / sizeof(no_hd[0]); i++) {
        extract(no_hd[i], "groups", &c);
        assert_string_equal(c.hd, "");
        oidc_claims_cleanup(&c);
    }
}

static void
test_hosted_domains(void **state)
{
    (void)state;
    char *domains[] = {"example.com", "Example.ORG"};
    struct oidc_claims c;
    extract("{\"hd\":\"example.com\"}", "groups", &c);
    assert_true(oidc_claims_in_hosted_domains(&c, domains, 2));
    assert_true(oidc_claims_in_hosted_domains(&c, NULL, 0));
    assert_false(oidc_claims_in_hosted_domains(&c, domains + 1, 1));
    oidc_claims_cleanup(&c);
    extract("{\"hd\":\"EXAMPLE.org\"}", "groups", &c);
    assert_true(oidc_claims_in_hosted_domains(&c, domains, 2));
    oidc_claims_cleanup(&c);
    /* A personal account (no hd), a sub-domain, a suffix: refused. */
    const char *refused[] = {"{}", "{\"hd\":\"\"}", "{\"hd\":\"mail.example.com\"}",
                             "{\"hd\":\"badexample.com\"}", "{\"hd\":\"example.com.\"}"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        extract(refused[i], "groups", &c);
        assert_false(oidc_claims_in_hosted_domains(&c, domains, 2));
        assert_true(oidc_claims_in_hosted_domains(&c, NULL, 0));
        oidc_claims_cleanup(&c);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_fields),
        cmocka_unit_test(test_authentication_claims),
        cmocka_unit_test(test_absent_fields_are_empty),
        cmocka_unit_test(test_wrong_types_fail),
        cmocka_unit_test(test_email_verified_forms),
        cmocka_unit_test(test_groups_shapes),
        cmocka_unit_test(test_groups_claim_name),
        cmocka_unit_test(test_invalid_group_chars),
        cmocka_unit_test(test_invalid_identity_chars),
        cmocka_unit_test(test_allowed_groups_overlap),
        cmocka_unit_test(test_idp_quirks),
        cmocka_unit_test(test_hosted_domains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
