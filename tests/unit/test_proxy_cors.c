/* proxy/cors: the Origin rule of the MCP mount (MCP transport "Security
 * Warning": validate Origin against DNS rebinding, 403 when invalid) and
 * the origin list it is judged against. The request half (headers on the
 * reply) is exercised end to end in tests/e2e/mount_origin.test.mjs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "proxy/cors.h"

static enum proxy_cors_verdict
judge1(const struct proxy_cors_policy *p, const char *origin, const char **allowed)
{
    struct slice v = slice_from_cstr(origin);
    return proxy_cors_judge(p, &v, 1, allowed);
}

/* The base URL's origin comes first, as browsers serialise it; configured
 * origins are kept as given (config_check_origin already normalised them). */
static void
test_policy_lists_own_origin_first(void **state)
{
    (void)state;
    char *extra[] = {"http://localhost:6274", "https://app.example"};
    struct proxy_cors_policy p;
    proxy_cors_policy_init(&p, "https://Auth.Example.com:443", extra, 2);
    assert_int_equal(p.count, 3);
    assert_string_equal(p.origins[0], "https://auth.example.com");
    assert_string_equal(p.origins[1], "http://localhost:6274");
    assert_string_equal(p.origins[2], "https://app.example");
    proxy_cors_policy_cleanup(&p);
    assert_null(p.origins);
    proxy_cors_policy_cleanup(&p); /* twice is harmless */

    proxy_cors_policy_init(&p, "http://127.0.0.1:8080", NULL, 0);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.origins[0], "http://127.0.0.1:8080");
    proxy_cors_policy_cleanup(&p);
}

static void
test_judge(void **state)
{
    (void)state;
    char *extra[] = {"http://localhost:6274"};
    struct proxy_cors_policy p;
    proxy_cors_policy_init(&p, "https://auth.example.com", extra, 1);
    const char *allowed = "x";

    /* No Origin: every CLI and desktop client. */
    assert_int_equal(proxy_cors_judge(&p, NULL, 0, &allowed), PROXY_CORS_NO_ORIGIN);
    assert_null(allowed);

    assert_int_equal(judge1(&p, "https://auth.example.com", &allowed), PROXY_CORS_ALLOWED);
    assert_ptr_equal(allowed, p.origins[0]);
    assert_int_equal(judge1(&p, " http://localhost:6274\t", &allowed), PROXY_CORS_ALLOWED);
    assert_ptr_equal(allowed, p.origins[1]);
    /* Scheme and host are case-insensitive. */
    assert_int_equal(judge1(&p, "HTTPS://AUTH.example.com", &allowed), PROXY_CORS_ALLOWED);

    static const char *const foreign[] = {
        "https://evil.example",
        "null",
        "",
        "https://auth.example.com.evil.example",
        "https://auth.example.co",
        "https://auth.example.com:444",
        "http://auth.example.com", /* another scheme is another origin */
        "https://auth.example.com/",
        "http://localhost:6275",
        "http://localhost",
        "http://127.0.0.1:6274", /* the same machine, another origin */
    };
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        allowed = "x";
        if (judge1(&p, foreign[i], &allowed) != PROXY_CORS_FOREIGN) {
            fail_msg("\"%s\" was not judged foreign", foreign[i]);
        }
        assert_null(allowed);
    }

    /* Two Origin fields, even two allowed ones, are foreign. */
    struct slice two[2] = {SLICE_LIT("https://auth.example.com"),
                           SLICE_LIT("https://auth.example.com")};
    assert_int_equal(proxy_cors_judge(&p, two, 2, &allowed), PROXY_CORS_FOREIGN);
    assert_null(allowed);
    proxy_cors_policy_cleanup(&p);
}

/* The fixed strings a browser reads: no wildcard anywhere, the three
 * headers a client needs exposed, the transport's request headers allowed. */
static void
test_constants(void **state)
{
    (void)state;
    assert_null(strchr(PROXY_CORS_EXPOSE_HEADERS, '*'));
    assert_null(strchr(PROXY_CORS_ALLOW_HEADERS, '*'));
    assert_string_equal(PROXY_CORS_EXPOSE_HEADERS,
                        "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version");
    static const char *const need[] = {"Authorization", "Content-Type",         "Mcp-Session-Id",
                                       "Last-Event-ID", "Mcp-Protocol-Version", "Mcp-Method",
                                       "Mcp-Name"};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        assert_non_null(strstr(PROXY_CORS_ALLOW_HEADERS, need[i]));
    }
    assert_string_equal(PROXY_CORS_ALLOW_METHODS, "GET, POST, DELETE, OPTIONS");
}

/* 2026-07-28 Mcp-Param-* headers asked for in a preflight are allowed by
 * name (a preflight cannot allow a prefix); nothing else is echoed. */
static void
test_allow_headers_echo_params(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(proxy_cors_allow_headers(SLICE_NULL, &b), 0);
    assert_string_equal(buf_cstr(&b), PROXY_CORS_ALLOW_HEADERS);
    buf_reset(&b);
    assert_int_equal(proxy_cors_allow_headers(SLICE_LIT("authorization, mcp-param-region,X-Evil, "
                                                        "Mcp-Param-Units ,mcp-param-,mcp-param-a b,"
                                                        "mcp-param-\"q\",,cookie"),
                                              &b),
                     0);
    assert_string_equal(buf_cstr(&b),
                        PROXY_CORS_ALLOW_HEADERS ", mcp-param-region, Mcp-Param-Units");
    buf_cleanup(&b);
    struct buf small;
    buf_init(&small, 8);
    assert_int_equal(proxy_cors_allow_headers(SLICE_NULL, &small), -1);
    buf_cleanup(&small);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_lists_own_origin_first),
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_allow_headers_echo_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
