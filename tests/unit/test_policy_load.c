/* policy/load: a good file loads with every field; every bad file is
 * refused with a message naming the line and, inside rules, the rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "bounds.h"
#include "policy/load.h"

static const char good[] = "default: deny\n"
                           "step_up:\n"
                           "  mcp:mfa:\n"
                           "    acr: [urn:mfa, urn:hwk]\n"
                           "    max_age: 300\n"
                           "  mcp:fresh: {max_age: 60}\n"
                           "rules:\n"
                           "  - name: admins-all\n"
                           "    match: {method: ['*'], name: ['*']}\n"
                           "    require: {groups: [admins]}\n"
                           "    effect: allow\n"
                           "  - name: no-delete\n"
                           "    match:\n"
                           "      name: delete_*\n"
                           "    effect: deny\n"
                           "  - match: {method: [prompts/get, resources/read]}\n"
                           "    require:\n"
                           "      scopes: [mcp:read]\n"
                           "      email_domains: [Example.COM]\n"
                           "      step_up: mcp:mfa\n"
                           "    effect: allow\n";

static struct policy *
parse(const char *text, struct buf *err)
{
    buf_init(err, 1024);
    return policy_load_parse(slice_from_cstr(text), err);
}

static void
test_good_file(void **state)
{
    (void)state;
    struct buf err;
    struct policy *p = parse(good, &err);
    assert_non_null(p);
    assert_int_equal(err.len, 0);
    assert_int_equal(policy_rule_count(p), 3);
    assert_int_equal(policy_step_up_count(p), 2);
    const struct policy_step_up *s = policy_step_up_find(p, SLICE_LIT("mcp:mfa"));
    assert_non_null(s);
    assert_string_equal(s->scope, "mcp:mfa");
    assert_int_equal(s->acr_count, 2);
    assert_string_equal(s->acr_values[1], "urn:hwk");
    assert_int_equal(s->max_age, 300);
    s = policy_step_up_find(p, SLICE_LIT("mcp:fresh"));
    assert_non_null(s);
    assert_int_equal(s->acr_count, 0);
    assert_int_equal(s->max_age, 60);
    assert_null(policy_step_up_find(p, SLICE_LIT("mcp:read")));
    assert_null(policy_step_up_find(p, SLICE_LIT("mcp:mf")));
    policy_release(p);
    buf_cleanup(&err);
}

/* Each bad file and the text its message must hold (line first). */
static const struct {
    const char *text;
    const char *want;
} bad[] = {
    {"", "line 1: the file holds no YAML document"},
    {"# only a comment\n", "the file holds no YAML document"},
    {"rules: [\n", "not valid YAML"},
    {"a: 1\n---\nb: 2\n", "line 1: the file: unknown key \"a\""},
    {"default: allow\n---\ndefault: deny\n", "line 3: the file holds more than one YAML document"},
    {"- a\n", "line 1: the file must be a mapping"},
    {"default: maybe\n", "line 1: default must be allow or deny"},
    {"default: allow\ndefualt: deny\n", "line 2: the file: unknown key \"defualt\""},
    {"default: allow\ndefault: deny\n", "line 2: the file: key \"default\" appears twice"},
    {"rules: {}\n", "line 1: rules must be a list"},
    {"rules:\n  - name: r1\n    effect: allow\n  - name: r2\n    efect: allow\n",
     "line 5: rules[1] \"r2\": a rule: unknown key \"efect\""},
    {"rules:\n  - name: r1\n    match: {name: [x]}\n",
     "rules[0] \"r1\": effect (allow or deny) is required"},
    {"rules:\n  - effect: permit\n", "line 2: rules[0]: effect must be allow or deny"},
    {"rules:\n  - name: x\n    effect: deny\n    require: {groups: [a]}\n",
     "line 4: rules[0] \"x\": require has no meaning on a deny rule"},
    {"rules:\n  - name: x\n    effect: allow\n    match: {tool: [a]}\n",
     "line 4: rules[0] \"x\": match: unknown key \"tool\""},
    {"rules:\n  - name: x\n    effect: allow\n    require: {scopes: [\"a b\"]}\n",
     "line 4: rules[0] \"x\": require.scopes is not a valid scope token"},
    {"rules:\n  - name: x\n    effect: allow\n    require:\n      groups: []\n",
     "line 5: rules[0] \"x\": require.groups must not be an empty list"},
    {"rules:\n  - name: x\n    effect: allow\n    require: {groups: [{a: b}]}\n",
     "require.groups must be a string"},
    {"rules:\n  - name: x\n    effect: allow\n    require: {groups: [\"a\\0b\"]}\n",
     "holds a control character"},
    {"rules:\n  - name: x\n    effect: allow\n    require: {step_up: mcp:mfa}\n",
     "line 4: rules[0] \"x\": require.step_up \"mcp:mfa\" is not a scope under step_up"},
    {"rules:\n  - name: x\n    effect: allow\n    require: {email_domains: [\"a@b.c\"]}\n",
     "require.email_domains must be a domain name"},
    {"rules:\n  - name: x\n    effect: allow\n    match: {method: [\"tools call\"]}\n",
     "match.method must be printable ASCII without spaces"},
    {"rules:\n  - name: \"has space\"\n    effect: allow\n",
     "line 2: rules[0]: name must be 1 to 64"},
    {"step_up:\n  mcp:mfa: {}\n", "line 2: step_up \"mcp:mfa\" needs acr, max_age or both"},
    {"step_up:\n  mcp:mfa: {max_age: -1}\n", "line 2: step_up max_age must be a whole number"},
    {"step_up:\n  mcp:mfa: {max_age: 99999999999}\n", "step_up max_age must be a whole number"},
    {"step_up:\n  mcp:mfa: {acr: [a], level: 2}\n",
     "line 2: a step_up requirement: unknown key \"level\""},
    {"step_up:\n  \"bad scope\": {max_age: 1}\n",
     "line 2: a step_up key is not a valid scope token"},
    {"step_up: [a]\n", "line 1: step_up must be a mapping"},
    {"rules:\n  - name: a\n    effect: allow\n  - <<: {effect: deny}\n",
     "line 4: rules[1]: a rule: unknown key \"<<\""},
};

static void
test_bad_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf err;
        struct policy *p = parse(bad[i].text, &err);
        if (p != NULL || err.len == 0 || strstr(buf_cstr(&err), bad[i].want) == NULL) {
            print_error("case %zu: want \"%s\", got \"%s\"\n", i, bad[i].want,
                        err.len ? buf_cstr(&err) : "(none)");
            fail();
        }
        buf_cleanup(&err);
    }
}

static void
test_caps(void **state)
{
    (void)state;
    struct buf text, err;
    /* One rule past the cap. */
    buf_init(&text, BOUNDS_POLICY_FILE_MAX * 2);
    assert_int_equal(buf_append_str(&text, "rules:\n"), 0);
    for (int i = 0; i <= BOUNDS_POLICY_RULES_MAX; i++) {
        assert_int_equal(buf_append_str(&text, "- {effect: allow}\n"), 0);
    }
    buf_init(&err, 512);
    assert_null(policy_load_parse(buf_slice(&text), &err));
    assert_non_null(strstr(buf_cstr(&err), "rules has more than 512 entries"));
    buf_cleanup(&err);
    /* One list item past the cap. */
    buf_reset(&text);
    assert_int_equal(buf_append_str(&text, "rules:\n- effect: allow\n  match:\n    name:\n"), 0);
    for (int i = 0; i <= BOUNDS_POLICY_LIST_MAX; i++) {
        assert_int_equal(buf_appendf(&text, "    - t%d\n", i), 0);
    }
    buf_init(&err, 512);
    assert_null(policy_load_parse(buf_slice(&text), &err));
    assert_non_null(
        strstr(buf_cstr(&err), "line 5: rules[0]: match.name has more than 64 entries"));
    buf_cleanup(&err);
    /* A file past the size cap, refused before parsing. */
    buf_reset(&text);
    while (text.len <= BOUNDS_POLICY_FILE_MAX) {
        assert_int_equal(buf_append_str(&text, "# padding padding padding padding\n"), 0);
    }
    buf_init(&err, 512);
    assert_null(policy_load_parse(buf_slice(&text), &err));
    assert_non_null(strstr(buf_cstr(&err), "larger than"));
    buf_cleanup(&err);
    /* A string past the cap. */
    buf_reset(&text);
    assert_int_equal(buf_append_str(&text, "rules:\n- effect: allow\n  match: {name: ["), 0);
    for (int i = 0; i <= BOUNDS_POLICY_STRING_MAX; i++) {
        assert_int_equal(buf_append_byte(&text, 'a'), 0);
    }
    assert_int_equal(buf_append_str(&text, "]}\n"), 0);
    buf_init(&err, 512);
    assert_null(policy_load_parse(buf_slice(&text), &err));
    assert_non_null(
        strstr(buf_cstr(&err), "line 3: rules[0]: match.name is longer than 512 bytes"));
    buf_cleanup(&err);
    buf_cleanup(&text);
}

static void
test_file_and_scopes(void **state)
{
    (void)state;
    char path[] = "/tmp/test_policy_load_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, good, strlen(good)), (ssize_t)strlen(good));
    close(fd);
    struct buf err;
    buf_init(&err, 512);
    struct policy *p = policy_load_file(path, &err);
    assert_non_null(p);
    assert_int_equal(policy_load_check_scopes(p, "mcp:read mcp:mfa mcp:fresh", &err), 0);
    assert_int_equal(policy_load_check_scopes(p, "mcp:read mcp:mfa", &err), -1);
    assert_string_equal(buf_cstr(&err),
                        "step_up scope \"mcp:fresh\" is not in MCP_SCOPES_SUPPORTED");
    policy_release(p);
    buf_reset(&err);
    unlink(path);
    assert_null(policy_load_file(path, &err));
    assert_non_null(strstr(buf_cstr(&err), "cannot open"));
    buf_reset(&err);
    assert_null(policy_load_file("/tmp", &err));
    assert_non_null(strstr(buf_cstr(&err), "not a regular file"));
    buf_cleanup(&err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_file_and_scopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
