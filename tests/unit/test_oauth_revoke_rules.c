/* oauth/revoke_rules: what POST /revoke (RFC 7009) decides about a token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/form.h"
#include "bounds.h"
#include "fixtures.h"
#include "grants.h"
#include "oauth/revoke_rules.h"
#include "seal.h"

#define BASE FIXTURE_BASE
#define T0 FIXTURE_NOW

static struct seal_ring *ring;

static int
setup(void **state)
{
    (void)state;
    ring = seal_ring_new(FIXTURE_SECRET, strlen(FIXTURE_SECRET), NULL, NULL, 0);
    return ring == NULL;
}

static int
teardown(void **state)
{
    (void)state;
    seal_ring_free(ring);
    return 0;
}

static struct grant_access
access_grant(const char *fam, const char *cid)
{
    return (struct grant_access){.token_id = "tid-a",
                                 .family_id = fam,
                                 .aud = BASE,
                                 .sub = "alice",
                                 .email = "a@example.com",
                                 .client_id = cid,
                                 .iat = T0,
                                 .exp = T0 + 3600};
}

static struct grant_refresh
refresh_grant(const char *fam, const char *cid)
{
    return (struct grant_refresh){.token_id = "tid-r",
                                  .family_id = fam,
                                  .sub = "alice",
                                  .email = "a@example.com",
                                  .client_id = cid,
                                  .aud = BASE,
                                  .iat = T0,
                                  .family_iat = T0,
                                  .exp = T0 + 7 * 86400};
}

static enum oauth_revoke_rules_verdict
judge(const struct buf *tok, enum oauth_revoke_rules_hint hint, const char *aud, int64_t now,
      const char *cid, char *type, size_t type_cap, char *fam, size_t fam_cap)
{
    struct oauth_revoke_rules_found f;
    enum oauth_revoke_rules_verdict v =
        oauth_revoke_rules_judge(ring, buf_slice(tok), hint, aud, now, cid, &f);
    snprintf(type, type_cap, "%s", f.type);
    snprintf(fam, fam_cap, "%s", f.family_id);
    oauth_revoke_rules_cleanup(&f);
    return v;
}

/* Both types are found whatever the hint says (a wrong hint is only a
 * hint, an unknown one is ignored), and name their family. */
static void
test_both_types_any_hint(void **state)
{
    (void)state;
    struct buf a, r;
    buf_init(&a, BOUNDS_SEALED_MAX_CHARS);
    buf_init(&r, BOUNDS_SEALED_MAX_CHARS);
    struct grant_access ag = access_grant("fam-a", "cid-1");
    struct grant_refresh rg = refresh_grant("fam-r", "cid-1");
    assert_int_equal(grants_seal_access(ring, &ag, &a), SEAL_OK);
    assert_int_equal(grants_seal_refresh(ring, &rg, &r), SEAL_OK);
    const enum oauth_revoke_rules_hint hints[] = {OAUTH_REVOKE_RULES_HINT_NONE,
                                                  OAUTH_REVOKE_RULES_HINT_ACCESS,
                                                  OAUTH_REVOKE_RULES_HINT_REFRESH};
    for (size_t i = 0; i < 3; i++) {
        char type[32], fam[32];
        assert_int_equal(judge(&a, hints[i], BASE, T0, "cid-1", type, 32, fam, 32),
                         OAUTH_REVOKE_RULES_FAMILY);
        assert_string_equal(type, "access_token");
        assert_string_equal(fam, "fam-a");
        assert_int_equal(judge(&r, hints[i], BASE, T0, "cid-1", type, 32, fam, 32),
                         OAUTH_REVOKE_RULES_FAMILY);
        assert_string_equal(type, "refresh_token");
        assert_string_equal(fam, "fam-r");
    }
    buf_cleanup(&a);
    buf_cleanup(&r);
}

static void
test_hint_parse(void **state)
{
    (void)state;
    assert_int_equal(oauth_revoke_rules_hint_parse(slice_from_cstr("access_token")),
                     OAUTH_REVOKE_RULES_HINT_ACCESS);
    assert_int_equal(oauth_revoke_rules_hint_parse(slice_from_cstr("refresh_token")),
                     OAUTH_REVOKE_RULES_HINT_REFRESH);
    const char *other[] = {"", "id_token", "Access_Token", "access_token ", "urn:x"};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        assert_int_equal(oauth_revoke_rules_hint_parse(slice_from_cstr(other[i])),
                         OAUTH_REVOKE_RULES_HINT_NONE);
    }
}

/* Another client's token, an expired one, one for another audience,
 * garbage, a code, and a legacy access token: nothing to revoke. */
static void
test_nothing_to_revoke(void **state)
{
    (void)state;
    char type[32], fam[32];
    struct buf b;
    buf_init(&b, BOUNDS_SEALED_MAX_CHARS);
    struct grant_refresh rg = refresh_grant("fam-r", "cid-1");
    assert_int_equal(grants_seal_refresh(ring, &rg, &b), SEAL_OK);
    assert_int_equal(judge(&b, OAUTH_REVOKE_RULES_HINT_NONE, BASE, T0, "cid-2", type, 32, fam, 32),
                     OAUTH_REVOKE_RULES_CLIENT_MISMATCH);
    assert_int_equal(
        judge(&b, OAUTH_REVOKE_RULES_HINT_NONE, BASE, T0 + 8 * 86400, "cid-1", type, 32, fam, 32),
        OAUTH_REVOKE_RULES_UNKNOWN);
    assert_int_equal(
        judge(&b, OAUTH_REVOKE_RULES_HINT_NONE, FIXTURE_OTHER_BASE, T0, "cid-1", type, 32, fam, 32),
        OAUTH_REVOKE_RULES_UNKNOWN);

    buf_reset(&b);
    struct grant_access legacy = access_grant(NULL, "cid-1");
    assert_int_equal(grants_seal_access(ring, &legacy, &b), SEAL_OK);
    assert_int_equal(
        judge(&b, OAUTH_REVOKE_RULES_HINT_ACCESS, BASE, T0, "cid-1", type, 32, fam, 32),
        OAUTH_REVOKE_RULES_LEGACY);
    assert_string_equal(type, "access_token");
    /* Ownership is checked before the family: a legacy token of another
     * client is a mismatch, like any other. */
    assert_int_equal(
        judge(&b, OAUTH_REVOKE_RULES_HINT_ACCESS, BASE, T0, "cid-2", type, 32, fam, 32),
        OAUTH_REVOKE_RULES_CLIENT_MISMATCH);

    buf_reset(&b);
    struct grant_code code = {
        .token_id = "t", .family_id = "fam-c", .client_id = "cid-1", .aud = BASE, .exp = T0 + 60};
    assert_int_equal(grants_seal_code(ring, &code, &b), SEAL_OK);
    assert_int_equal(judge(&b, OAUTH_REVOKE_RULES_HINT_NONE, BASE, T0, "cid-1", type, 32, fam, 32),
                     OAUTH_REVOKE_RULES_UNKNOWN);
    assert_string_equal(fam, "");

    const char *garbage[] = {"", "x", "v1.AAAA.BBBB", "\xff\xfe"};
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        buf_reset(&b);
        assert_int_equal(buf_append_str(&b, garbage[i]), 0);
        assert_int_equal(
            judge(&b, OAUTH_REVOKE_RULES_HINT_NONE, BASE, T0, "cid-1", type, 32, fam, 32),
            OAUTH_REVOKE_RULES_UNKNOWN);
    }
    buf_cleanup(&b);
}

static bool
front(const char *body, struct oauth_error *err)
{
    struct form_params p;
    assert_int_equal(form_parse(slice_from_cstr(body), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &p),
                     FORM_OK);
    bool ok = oauth_revoke_rules_front(&p, err);
    form_params_cleanup(&p);
    return ok;
}

static void
test_front_repeated(void **state)
{
    (void)state;
    struct oauth_error err;
    assert_true(front("token=a&client_id=c&token_type_hint=access_token&foo=1&foo=2", &err));
    assert_false(front("token=a&token=", &err));
    assert_int_equal(err.status, 400);
    assert_int_equal(err.code, OAUTH_ERROR_INVALID_REQUEST);
    assert_string_equal(err.description, "token must not be repeated");
    assert_false(front("token=a&client_id=c&client_id=d", &err));
    assert_string_equal(err.description, "client_id must not be repeated");
    assert_false(front("token_type_hint=a&token_type_hint=b", &err));
    assert_string_equal(err.description, "token_type_hint must not be repeated");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_types_any_hint),
        cmocka_unit_test(test_hint_parse),
        cmocka_unit_test(test_nothing_to_revoke),
        cmocka_unit_test(test_front_repeated),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
