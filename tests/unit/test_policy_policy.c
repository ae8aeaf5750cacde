/* policy/policy: every reason policy_decide can give, first-match order,
 * method case folding, step_up lookup, and the holder's swap under
 * concurrent acquire/release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "policy/load.h"
#include "policy/policy.h"

#define NOW 1800000000

static const char text[] =
    "default: deny\n"
    "step_up:\n"
    "  mcp:mfa: {acr: [urn:mfa], max_age: 600}\n"
    "rules:\n"
    "  - name: no-drop\n"
    "    match: {name: [drop_*]}\n"
    "    effect: deny\n"
    "  - name: delete-mfa\n"
    "    match: {name: [delete_*]}\n"
    "    require: {groups: [admins, ops], scopes: [mcp:write], step_up: mcp:mfa}\n"
    "    effect: allow\n"
    "  - name: corp-only\n"
    "    match: {name: [corp_*]}\n"
    "    require: {email_domains: [example.com]}\n"
    "    effect: allow\n"
    "  - name: reads\n"
    "    match: {method: [tools/call, prompts/get, resources/read], name: ['read_*', "
    "'file:///pub/*']}\n"
    "    require: {scopes: [mcp:read]}\n"
    "    effect: allow\n"
    "  - name: plumbing\n"
    "    match: {method: [initialize, 'notifications/*', tools/list, ping]}\n"
    "    effect: allow\n";

static struct policy *
load(const char *t)
{
    struct buf err;
    buf_init(&err, 512);
    struct policy *p = policy_load_parse(slice_from_cstr(t), &err);
    if (p == NULL) {
        print_error("%s\n", buf_cstr(&err));
    }
    assert_non_null(p);
    buf_cleanup(&err);
    return p;
}

static const char *const admins[] = {"users", "admins"};

static struct policy_caller
admin(void)
{
    return (struct policy_caller){
        .sub = "u1",
        .email = "a@Example.com",
        .groups = admins,
        .group_count = 2,
        .scope = "mcp:read mcp:write mcp:mfa",
        .acr = "urn:mfa",
        .auth_time = NOW - 100,
    };
}

static struct policy_decision
decide(const struct policy *p, const struct policy_caller *c, const char *method, const char *name)
{
    struct policy_call call = {slice_from_cstr(method), slice_from_cstr(name)};
    struct policy_decision d;
    policy_decide(p, c, &call, NOW, &d);
    return d;
}

#define assert_decision(d, eff, why, rule_name)                                                    \
    do {                                                                                           \
        assert_int_equal((d).effect, (eff));                                                       \
        assert_string_equal(policy_reason_str((d).reason), (why));                                 \
        assert_string_equal((d).rule, (rule_name));                                                \
    } while (0)

static void
test_every_reason(void **state)
{
    (void)state;
    struct policy *p = load(text);
    struct policy_caller c = admin();
    struct policy_decision d;

    d = decide(p, &c, "tools/call", "delete_repo");
    assert_decision(d, POLICY_ALLOW, "rule", "delete-mfa");
    assert_false(d.fixable_by_login);
    assert_string_equal(d.required_scope, "");

    d = decide(p, &c, "tools/call", "drop_table"); /* a deny rule: whoever calls */
    assert_decision(d, POLICY_DENY, "rule", "no-drop");
    assert_false(d.fixable_by_login);

    d = decide(p, &c, "tools/call", "unlisted"); /* nothing matches: default deny */
    assert_decision(d, POLICY_DENY, "default", "");
    d = decide(p, &c, "resources/read", "file:///secret/x");
    assert_decision(d, POLICY_DENY, "default", "");

    struct policy_caller other = c;
    static const char *const users[] = {"users"};
    other.groups = users;
    other.group_count = 1;
    other.scope = ""; /* group is checked before scope: a login cannot fix it */
    d = decide(p, &other, "tools/call", "delete_repo");
    assert_decision(d, POLICY_DENY, "group", "delete-mfa");
    assert_false(d.fixable_by_login);
    other.group_count = 0;
    d = decide(p, &other, "tools/call", "delete_repo");
    assert_decision(d, POLICY_DENY, "group", "delete-mfa");

    other = c;
    other.scope = "mcp:read mcp:mfa";
    d = decide(p, &other, "tools/call", "delete_x");
    assert_decision(d, POLICY_DENY, "scope", "delete-mfa");
    assert_true(d.fixable_by_login);
    assert_string_equal(d.required_scope, "mcp:write mcp:mfa");

    other = c;
    other.scope = "mcp:read mcp:write"; /* step_up scope never granted */
    d = decide(p, &other, "tools/call", "delete_x");
    assert_decision(d, POLICY_DENY, "step_up", "delete-mfa");
    assert_true(d.fixable_by_login);
    assert_string_equal(d.required_scope, "mcp:write mcp:mfa");
    other = c;
    other.acr = "urn:pwd";
    d = decide(p, &other, "tools/call", "delete_x");
    assert_decision(d, POLICY_DENY, "step_up", "delete-mfa");
    other.acr = ""; /* unknown acr never satisfies */
    d = decide(p, &other, "tools/call", "delete_x");
    assert_decision(d, POLICY_DENY, "step_up", "delete-mfa");
    other = c;
    other.auth_time = NOW - 601; /* too old */
    d = decide(p, &other, "tools/call", "delete_x");
    assert_decision(d, POLICY_DENY, "step_up", "delete-mfa");
    other.auth_time = NOW - 600; /* exactly max_age: still holds */
    d = decide(p, &other, "tools/call", "delete_x");
    assert_decision(d, POLICY_ALLOW, "rule", "delete-mfa");
    other.auth_time = 0; /* unknown */
    d = decide(p, &other, "tools/call", "delete_x");
    assert_decision(d, POLICY_DENY, "step_up", "delete-mfa");
    other.auth_time = NOW + 3600; /* from the future */
    d = decide(p, &other, "tools/call", "delete_x");
    assert_decision(d, POLICY_DENY, "step_up", "delete-mfa");

    other = c;
    d = decide(p, &other, "tools/call", "corp_x");
    assert_decision(d, POLICY_ALLOW, "rule", "corp-only");
    other.email = "a@evil.example.com"; /* exact domain, no suffix match */
    d = decide(p, &other, "tools/call", "corp_x");
    assert_decision(d, POLICY_DENY, "email_domain", "corp-only");
    assert_false(d.fixable_by_login);
    other.email = "a@example.com@evil.org";
    d = decide(p, &other, "tools/call", "corp_x");
    assert_decision(d, POLICY_DENY, "email_domain", "corp-only");
    other.email = "";
    d = decide(p, &other, "tools/call", "corp_x");
    assert_decision(d, POLICY_DENY, "email_domain", "corp-only");
    other.email = "example.com";
    d = decide(p, &other, "tools/call", "corp_x");
    assert_decision(d, POLICY_DENY, "email_domain", "corp-only");
    policy_release(p);
}

static void
test_methods_and_names(void **state)
{
    (void)state;
    struct policy *p = load(text);
    struct policy_caller c = admin();
    struct policy_decision d;
    /* Methods without a name match by method, with an empty name. */
    d = decide(p, &c, "initialize", "");
    assert_decision(d, POLICY_ALLOW, "rule", "plumbing");
    d = decide(p, &c, "notifications/initialized", "");
    assert_decision(d, POLICY_ALLOW, "rule", "plumbing");
    d = decide(p, &c, "resources/list", "");
    assert_decision(d, POLICY_DENY, "default", "");
    /* Case tricks in the method still meet the rule about tools/call. */
    d = decide(p, &c, "TOOLS/CALL", "drop_x");
    assert_decision(d, POLICY_DENY, "rule", "no-drop");
    d = decide(p, &c, "Tools/Call", "drop_x");
    assert_decision(d, POLICY_DENY, "rule", "no-drop");
    /* Names are exact. */
    d = decide(p, &c, "tools/call", "DROP_x");
    assert_decision(d, POLICY_DENY, "default", "");
    /* The default method is tools/call only: prompts/get drop_x is not no-drop's. */
    d = decide(p, &c, "prompts/get", "drop_x");
    assert_decision(d, POLICY_DENY, "default", "");
    d = decide(p, &c, "resources/read", "file:///pub/a/b");
    assert_decision(d, POLICY_ALLOW, "rule", "reads");
    d = decide(p, &c, "prompts/get", "read_me");
    assert_decision(d, POLICY_ALLOW, "rule", "reads");
    /* A NUL in the name does not cut it short. */
    struct policy_call call = {SLICE_LIT("tools/call"), slice_make("read_x\0", 7)};
    policy_decide(p, &c, &call, NOW, &d);
    assert_decision(d, POLICY_ALLOW, "rule", "reads");
    policy_release(p);
}

static void
test_default_allow_and_empty(void **state)
{
    (void)state;
    struct policy *p = load("rules: []\n");
    struct policy_caller c = {.sub = "", .email = "", .scope = "", .acr = ""};
    struct policy_decision d = decide(p, &c, "tools/call", "x");
    assert_decision(d, POLICY_ALLOW, "default", "");
    policy_release(p);
    p = load("default: allow\nrules:\n- {effect: allow, require: {scopes: [a, b, a]}}\n");
    d = decide(p, &c, "tools/call", "x");
    assert_decision(d, POLICY_DENY, "scope", "");
    assert_string_equal(d.required_scope, "a b"); /* de-duplicated */
    policy_release(p);
}

static void
test_strings(void **state)
{
    (void)state;
    for (int r = 0; r < POLICY_REASON_COUNT; r++) {
        assert_string_not_equal(policy_reason_str((enum policy_reason)r), "unknown");
    }
    assert_string_equal(policy_reason_str(POLICY_REASON_COUNT), "unknown");
    assert_string_equal(policy_effect_str(POLICY_ALLOW), "allow");
    assert_string_equal(policy_effect_str(POLICY_DENY), "deny");
}

/* Readers acquire, decide and release while the main thread swaps in new
 * policies; ASan/LSan see any use after free or leak. */
struct reader {
    struct policy_holder *h;
    int decisions;
};

static void *
read_loop(void *arg)
{
    struct reader *r = arg;
    struct policy_caller c = admin();
    for (int i = 0; i < 2000; i++) {
        const struct policy *p = policy_holder_acquire(r->h);
        if (p != NULL) {
            struct policy_call call = {SLICE_LIT("tools/call"), SLICE_LIT("delete_x")};
            struct policy_decision d;
            policy_decide(p, &c, &call, NOW, &d);
            r->decisions += d.effect == POLICY_ALLOW;
        }
        policy_release(p);
    }
    return NULL;
}

static void
test_holder_swap(void **state)
{
    (void)state;
    assert_null(policy_holder_acquire(NULL));
    struct policy_holder *none = policy_holder_new(NULL);
    assert_null(policy_holder_acquire(none));
    policy_holder_free(none);

    struct policy_holder *h = policy_holder_new(load(text));
    const struct policy *held = policy_holder_acquire(h);
    struct reader readers[3] = {{h, 0}, {h, 0}, {h, 0}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, read_loop, &readers[i]), 0);
    }
    for (int i = 0; i < 200; i++) {
        policy_holder_swap(h, load(i % 2 ? text : "default: deny\n"));
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    /* A policy acquired before the swaps is still whole. */
    assert_int_equal(policy_rule_count(held), 5);
    policy_release(held);
    policy_holder_swap(h, load("default: deny\n"));
    const struct policy *now = policy_holder_acquire(h);
    assert_int_equal(policy_rule_count(now), 0);
    policy_release(now);
    policy_holder_free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_reason),
        cmocka_unit_test(test_methods_and_names),
        cmocka_unit_test(test_default_allow_and_empty),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_holder_swap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
