/* oauth/resource: the RFC 8707 matcher of SPEC.md 3.12, with every example
 * it lists, and the base-or-mount acceptance used by /authorize and /token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixtures.h"
#include "oauth/resource.h"

struct row {
    const char *resource;
    const char *candidate;
    bool matches;
};

static const struct row rows[] = {
    /* SPEC.md 3.12 examples against https://auth.example.com */
    {"https://auth.example.com", FIXTURE_BASE, true},
    {"https://auth.example.com/", FIXTURE_BASE, true},
    {"HTTPS://auth.example.com", FIXTURE_BASE, true},
    {"https://AUTH.example.com", FIXTURE_BASE, true},
    {"https://auth.example.com:443", FIXTURE_BASE, true},
    {"https://auth.example.com:443/", FIXTURE_BASE, true},
    {"https://auth.example.com:8443", FIXTURE_BASE, false},
    {"https://other.example.com", FIXTURE_BASE, false},
    {"http://auth.example.com", FIXTURE_BASE, false},
    {"https://auth.example.com/other", FIXTURE_BASE, false},
    {"", FIXTURE_BASE, false},
    {"::not-a-url", FIXTURE_BASE, false},
    /* one row per remaining rule */
    {NULL, FIXTURE_BASE, false},
    {"https:auth.example.com", FIXTURE_BASE, false},       /* opaque */
    {"https:///", FIXTURE_BASE, false},                    /* no host */
    {"/mcp", FIXTURE_BASE, false},                         /* relative */
    {"https://auth.example.com#x", FIXTURE_BASE, false},   /* fragment */
    {"https://auth.example.com/#", FIXTURE_BASE, false},   /* bare '#', refused (Go missed it) */
    {"https://auth.example.com?x=1", FIXTURE_BASE, false}, /* query */
    {"https://auth.example.com/?", FIXTURE_BASE, false},   /* bare '?' */
    {"https://auth.example.com/mcp//", "https://auth.example.com/mcp", true},
    {"https://auth.example.com/mcp", "https://auth.example.com/mcp/", true},
    {"https://auth.example.com/MCP", "https://auth.example.com/mcp", false},
    {"https://auth.example.com/mcp/x", "https://auth.example.com/mcp", false},
    {"https://auth.example.com/mc", "https://auth.example.com/mcp", false},
    {"https://u@auth.example.com", FIXTURE_BASE, true}, /* userinfo not compared (SPEC 3.12) */
    {"http://localhost:80/", "http://localhost", true},
    {"http://localhost:8080", "http://localhost", false},
    {"https://auth.example.com:80", "https://auth.example.com", false},
    {"https://[::1]:443/", "https://[::1]", true},
    {"https://auth.example.com.", FIXTURE_BASE, false},
    {FIXTURE_BASE, "not a url", false},
};

static void
test_match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (oauth_resource_matches(rows[i].resource, rows[i].candidate) != rows[i].matches) {
            fail_msg("row %zu: %s vs %s should %smatch", i,
                     rows[i].resource ? rows[i].resource : "(null)", rows[i].candidate,
                     rows[i].matches ? "" : "not ");
        }
    }
}

static void
test_accepted_base_or_mount(void **state)
{
    (void)state;
    const char *base = FIXTURE_BASE;
    assert_true(oauth_resource_accepted("https://auth.example.com", base, "/mcp"));
    assert_true(oauth_resource_accepted("https://auth.example.com/", base, "/mcp"));
    assert_true(oauth_resource_accepted("https://auth.example.com/mcp", base, "/mcp"));
    assert_true(oauth_resource_accepted("https://auth.example.com/mcp/", base, "/mcp"));
    assert_true(
        oauth_resource_accepted("https://auth.example.com:443/api/v1/mcp", base, "/api/v1/mcp"));
    assert_false(oauth_resource_accepted("https://auth.example.com/mcp", base, "/api/v1/mcp"));
    assert_false(oauth_resource_accepted("https://auth.example.com/other", base, "/mcp"));
    assert_false(oauth_resource_accepted("", base, "/mcp"));
    assert_false(oauth_resource_accepted("https://other.example.com/mcp", base, "/mcp"));
    assert_true(oauth_resource_accepted("https://auth.example.com", base, NULL));
    assert_false(oauth_resource_accepted("https://auth.example.com/mcp", base, NULL));
    assert_false(oauth_resource_accepted("https://auth.example.com/mcp", base, ""));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_accepted_base_or_mount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
