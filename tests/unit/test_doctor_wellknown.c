/* doctor/wellknown: the well-known URLs of RFC 9728 3.1, RFC 8414 3.1 and
 * OpenID Connect Discovery 4, as the MCP authorization spec orders them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "doctor/wellknown.h"

static const struct {
    const char *url;
    enum doctor_wellknown kind;
    const char *want; /* NULL: refused */
} cases[] = {
    {"https://h/mcp", DOCTOR_WELLKNOWN_PRM_PATH,
     "https://h/.well-known/oauth-protected-resource/mcp"},
    {"https://h:8443/a/b/", DOCTOR_WELLKNOWN_PRM_PATH,
     "https://h:8443/.well-known/oauth-protected-resource/a/b/"},
    {"https://h/", DOCTOR_WELLKNOWN_PRM_PATH, "https://h/.well-known/oauth-protected-resource"},
    {"https://h", DOCTOR_WELLKNOWN_PRM_PATH, "https://h/.well-known/oauth-protected-resource"},
    {"https://h/mcp", DOCTOR_WELLKNOWN_PRM_ROOT, "https://h/.well-known/oauth-protected-resource"},
    {"http://[::1]:9/mcp", DOCTOR_WELLKNOWN_PRM_ROOT,
     "http://[::1]:9/.well-known/oauth-protected-resource"},
    {"https://h", DOCTOR_WELLKNOWN_AS_OAUTH, "https://h/.well-known/oauth-authorization-server"},
    {"https://h/tenant1", DOCTOR_WELLKNOWN_AS_OAUTH,
     "https://h/.well-known/oauth-authorization-server/tenant1"},
    {"https://h/tenant1", DOCTOR_WELLKNOWN_AS_OIDC,
     "https://h/.well-known/openid-configuration/tenant1"},
    {"https://h/tenant1", DOCTOR_WELLKNOWN_AS_OIDC_AFTER,
     "https://h/tenant1/.well-known/openid-configuration"},
    {"https://h/tenant1/", DOCTOR_WELLKNOWN_AS_OIDC_AFTER,
     "https://h/tenant1/.well-known/openid-configuration"},
    {"https://h", DOCTOR_WELLKNOWN_AS_OIDC_AFTER, "https://h/.well-known/openid-configuration"},
    {"https://h/mcp?x=1", DOCTOR_WELLKNOWN_PRM_PATH, NULL},
    {"https://h/mcp#f", DOCTOR_WELLKNOWN_PRM_PATH, NULL},
    {"https://u:p@h/mcp", DOCTOR_WELLKNOWN_PRM_PATH, NULL},
    {"ftp://h/mcp", DOCTOR_WELLKNOWN_PRM_PATH, NULL},
    {"/mcp", DOCTOR_WELLKNOWN_PRM_PATH, NULL},
    {"https://h/mcp", DOCTOR_WELLKNOWN_COUNT, NULL},
};

static void
test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, 4096);
        int rc = doctor_wellknown_url(cases[i].url, cases[i].kind, &b);
        if (cases[i].want == NULL) {
            assert_int_equal(rc, -1);
            assert_int_equal(b.len, 0);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(buf_cstr(&b), cases[i].want);
        }
        buf_cleanup(&b);
    }
}

static void
test_cap_leaves_out_unchanged(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 20);
    assert_int_equal(buf_append_str(&b, "x"), 0);
    assert_int_equal(doctor_wellknown_url("https://h/mcp", DOCTOR_WELLKNOWN_PRM_PATH, &b), -1);
    assert_string_equal(buf_cstr(&b), "x");
    buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_cap_leaves_out_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
