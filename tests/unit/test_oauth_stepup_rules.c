/* oauth/stepup_rules: what /authorize asks the IdP for step-up scopes and
 * what /callback grants from the id_token (docs/step-up.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "bounds.h"
#include "grants.h"
#include "oauth/stepup_rules.h"
#include "policy/load.h"
#include "policy/policy.h"

#define NOW INT64_C(1780000000)
#define SKEW BOUNDS_ID_TOKEN_SKEW_S

static const char text[] = "step_up:\n"
                           "  mcp:mfa:\n"
                           "    acr: [urn:mfa, urn:hwk]\n"
                           "  mcp:fresh: {max_age: 300}\n"
                           "  mcp:now: {max_age: 0}\n"
                           "  mcp:strong:\n"
                           "    acr: [urn:hwk]\n"
                           "    max_age: 600\n";

static struct policy *
load(void)
{
    struct buf err;
    buf_init(&err, 1024);
    struct policy *p = policy_load_parse(slice_from_cstr(text), &err);
    if (p == NULL) {
        fail_msg("policy: %s", buf_cstr(&err));
    }
    buf_cleanup(&err);
    return p;
}

static void
test_ask(void **state)
{
    (void)state;
    struct policy *p = load();
    struct oauth_stepup_ask a;

    /* No policy, or no step-up scope: nothing asked. */
    assert_int_equal(oauth_stepup_rules_ask(NULL, "mcp:mfa mcp:fresh", &a), 0);
    assert_string_equal(a.acr_values, "");
    assert_int_equal(a.max_age, -1);
    assert_int_equal(oauth_stepup_rules_ask(p, "mcp:read offline_access", &a), 0);
    assert_string_equal(a.acr_values, "");
    assert_int_equal(a.max_age, -1);
    assert_int_equal(oauth_stepup_rules_ask(p, "", &a), 0);
    assert_int_equal(a.max_age, -1);

    /* The union of acr lists (each value once), the smallest max_age. */
    assert_int_equal(oauth_stepup_rules_ask(p, "mcp:read mcp:strong mcp:mfa", &a), 0);
    assert_string_equal(a.acr_values, "urn:hwk urn:mfa");
    assert_int_equal(a.max_age, 600);
    assert_int_equal(oauth_stepup_rules_ask(p, "mcp:strong mcp:fresh", &a), 0);
    assert_string_equal(a.acr_values, "urn:hwk");
    assert_int_equal(a.max_age, 300);
    /* max_age 0 is a fresh login: prompt=login. */
    assert_int_equal(oauth_stepup_rules_ask(p, "mcp:fresh mcp:now", &a), 0);
    assert_int_equal(a.max_age, 0);
    policy_release(p);
}

static void
test_auth_time_from_the_future_is_unknown(void **state)
{
    (void)state;
    assert_int_equal(oauth_stepup_rules_auth_time(NOW - 10, NOW), NOW - 10);
    assert_int_equal(oauth_stepup_rules_auth_time(NOW + SKEW, NOW), NOW + SKEW);
    assert_int_equal(oauth_stepup_rules_auth_time(NOW + SKEW + 1, NOW), 0);
    assert_int_equal(oauth_stepup_rules_auth_time(INT64_MAX, NOW), 0);
    assert_int_equal(oauth_stepup_rules_auth_time(0, NOW), 0);
}

static void
test_check_asked(void **state)
{
    (void)state;
    struct grant_session s = {0};
    /* Nothing asked: nothing to check. */
    assert_null(oauth_stepup_rules_check_asked(&s, 0, NOW));
    /* max_age asked: auth_time must be there and recent enough. */
    s.stepup_max_age_set = true;
    s.stepup_max_age = 300;
    assert_string_equal(oauth_stepup_rules_check_asked(&s, 0, NOW), "auth_time_missing");
    assert_null(oauth_stepup_rules_check_asked(&s, NOW - 300 - SKEW, NOW));
    assert_string_equal(oauth_stepup_rules_check_asked(&s, NOW - 301 - SKEW, NOW),
                        "auth_time_too_old");
    /* prompt=login (max_age 0): only the skew. */
    s.stepup_max_age = 0;
    assert_null(oauth_stepup_rules_check_asked(&s, NOW - SKEW, NOW));
    assert_string_equal(oauth_stepup_rules_check_asked(&s, NOW - SKEW - 1, NOW),
                        "auth_time_too_old");
    /* Huge max_age cannot overflow. */
    s.stepup_max_age = INT64_MAX;
    assert_null(oauth_stepup_rules_check_asked(&s, 1, NOW));
}

static void
test_proven(void **state)
{
    (void)state;
    struct policy *p = load();
    const struct policy_step_up *mfa = policy_step_up_find(p, SLICE_LIT("mcp:mfa"));
    const struct policy_step_up *fresh = policy_step_up_find(p, SLICE_LIT("mcp:fresh"));
    const struct policy_step_up *strong = policy_step_up_find(p, SLICE_LIT("mcp:strong"));
    assert_non_null(mfa);
    assert_true(oauth_stepup_rules_proven(mfa, "urn:mfa", 0, NOW));
    assert_true(oauth_stepup_rules_proven(mfa, "urn:hwk", 0, NOW));
    assert_false(oauth_stepup_rules_proven(mfa, "", NOW, NOW));
    assert_false(oauth_stepup_rules_proven(mfa, "urn:MFA", NOW, NOW)); /* exact */
    assert_false(oauth_stepup_rules_proven(mfa, "urn:mfa ", NOW, NOW));
    assert_true(oauth_stepup_rules_proven(fresh, "", NOW - 300 - SKEW, NOW));
    assert_false(oauth_stepup_rules_proven(fresh, "urn:hwk", NOW - 301 - SKEW, NOW));
    assert_false(oauth_stepup_rules_proven(fresh, "urn:hwk", 0, NOW)); /* unknown */
    assert_true(oauth_stepup_rules_proven(strong, "urn:hwk", NOW - 5, NOW));
    assert_false(oauth_stepup_rules_proven(strong, "urn:mfa", NOW - 5, NOW));
    assert_false(oauth_stepup_rules_proven(strong, "urn:hwk", NOW - 6000, NOW));
    policy_release(p);
}

static void
grant(const struct policy *p, const char *scope, const char *acr, int64_t auth_time, bool asked_ok,
      const char *want, size_t want_dropped)
{
    struct buf out;
    buf_init(&out, BOUNDS_SCOPE_MAX_BYTES + 1);
    size_t dropped = 99;
    assert_int_equal(
        oauth_stepup_rules_grant(p, scope, acr, auth_time, asked_ok, NOW, &out, &dropped), 0);
    assert_string_equal(buf_cstr(&out), want);
    assert_int_equal(dropped, want_dropped);
    buf_cleanup(&out);
}

static void
test_grant_drops_what_is_not_proven(void **state)
{
    (void)state;
    struct policy *p = load();
    const char *all = "mcp:read mcp:mfa mcp:fresh offline_access";
    /* Proven: everything stays. */
    grant(p, all, "urn:mfa", NOW - 10, true, all, 0);
    /* A password login (another acr) keeps the fresh scope only. */
    grant(p, all, "urn:pwd", NOW - 10, true, "mcp:read mcp:fresh offline_access", 1);
    /* A forged-looking acr the policy does not list proves nothing. */
    grant(p, all, "urn:mfa urn:hwk", NOW - 10, true, "mcp:read mcp:fresh offline_access", 1);
    /* An old login keeps the acr scope, loses the fresh one. */
    grant(p, all, "urn:hwk", NOW - 4000, true, "mcp:read mcp:mfa offline_access", 1);
    /* The IdP ignored what was asked: no step-up scope at all. */
    grant(p, all, "urn:mfa", NOW - 10, false, "mcp:read offline_access", 2);
    /* No policy: nothing is a step-up scope. */
    grant(NULL, all, "", 0, false, all, 0);
    grant(p, "", "", 0, true, "", 0);
    policy_release(p);
}

static void
test_without(void **state)
{
    (void)state;
    struct policy *p = load();
    struct buf out;
    buf_init(&out, BOUNDS_SCOPE_MAX_BYTES + 1);
    assert_int_equal(oauth_stepup_rules_without(p, "mcp:read mcp:mfa mcp:fresh mcp:write", &out),
                     0);
    assert_string_equal(buf_cstr(&out), "mcp:read mcp:write");
    buf_reset(&out);
    assert_int_equal(oauth_stepup_rules_without(p, "mcp:mfa", &out), 0);
    assert_string_equal(buf_cstr(&out), "");
    buf_reset(&out);
    assert_int_equal(oauth_stepup_rules_without(NULL, "mcp:read mcp:mfa", &out), 0);
    assert_string_equal(buf_cstr(&out), "mcp:read mcp:mfa");
    buf_cleanup(&out);
    policy_release(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ask),
        cmocka_unit_test(test_auth_time_from_the_future_is_unknown),
        cmocka_unit_test(test_check_asked),
        cmocka_unit_test(test_proven),
        cmocka_unit_test(test_grant_drops_what_is_not_proven),
        cmocka_unit_test(test_without),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
