/* config_check: the pure value validators, called directly. test_config.c
 * covers every rule through config_load(); this file pins the outputs
 * (split hosts and ports, normalised URLs, parsed numbers) and the edges
 * of each scanner, and the weak-secret analysis of SPEC.md 1.4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/b64url.h"
#include "base/hex.h"
#include "base/rand.h"
#include "base/xalloc.h"
#include "config_check.h"
#include "fixtures.h"

static void
listen_addresses_split(void **state)
{
    (void)state;
    static const struct {
        const char *text, *host;
        uint16_t port;
    } ok[] = {
        {":8080", "", 8080},
        {"127.0.0.1:9090", "127.0.0.1", 9090},
        {"[::1]:9090", "::1", 9090},
        {"[::]:1", "::", 1},
        {"localhost:65535", "localhost", 65535},
        {"0.0.0.0:08080", "0.0.0.0", 8080},
        {"my-host.internal:80", "my-host.internal", 80},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *host = NULL;
        uint16_t port = 0;
        const char *reason = config_check_listen(ok[i].text, &host, &port);
        if (reason != NULL) {
            fail_msg("%s: %s", ok[i].text, reason);
        }
        assert_string_equal(host, ok[i].host);
        assert_int_equal(port, ok[i].port);
        xfree(host);
    }
    static const char *const bad[] = {
        "",        "8080",         ":",     ":0",     ":65536", ":123456",
        ":http",   ":+80",         ": 80",  "::1:80", "[::1]",  "[::1]80",
        "[::1:80", "[1.2.3.4]:80", "[]:80", "a b:80", "a/b:80", "h:80:",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *host = (char *)"untouched";
        uint16_t port = 7;
        if (config_check_listen(bad[i], &host, &port) == NULL) {
            fail_msg("accepted listen address \"%s\"", bad[i]);
        }
        assert_string_equal(host, "untouched");
        assert_int_equal(port, 7);
    }
}

static void
issuer_and_base_rules(void **state)
{
    (void)state;
    assert_null(config_check_issuer_url("https://idp.example.com/", false));
    assert_null(config_check_issuer_url("http://[::1]/", false));
    assert_null(config_check_issuer_url("http://keycloak:8080/realms/x", true));
    assert_non_null(config_check_issuer_url("http://keycloak:8080/realms/x", false));
    /* The flag relaxes only http: other schemes stay refused. */
    assert_non_null(config_check_issuer_url("ftp://keycloak/realms/x", true));
    assert_null(config_check_base_url("https://auth.example.com"));
    assert_null(config_check_base_url("http://127.0.0.1"));
    assert_null(config_check_base_url("https://auth.example.com/"));
    assert_non_null(config_check_base_url("https://auth.example.com/x"));
    /* 128.0.0.1 is not in 127/8; ::2 is not ::1. */
    assert_non_null(config_check_base_url("http://128.0.0.1"));
    assert_non_null(config_check_base_url("http://[::2]"));
    assert_non_null(config_check_base_url("http://localhost.."));
}

static void
upstream_url_outputs(void **state)
{
    (void)state;
    struct config_upstream u = {0};
    assert_null(config_check_upstream_url("https://mcp.example:8443/a/b/", &u));
    assert_string_equal(u.url, "https://mcp.example:8443/a/b");
    assert_string_equal(u.origin, "https://mcp.example:8443");
    assert_string_equal(u.mount, "/a/b");
    config_check_upstream_cleanup(&u);
    assert_null(u.url);
    /* The origin-only reason is one pointer the caller recognises. */
    assert_ptr_equal(config_check_upstream_url("http://mcp", &u), config_check_reason_origin_only);
    assert_ptr_equal(config_check_upstream_url("http://mcp/", &u), config_check_reason_origin_only);
    assert_ptr_equal(config_check_upstream_url("http://mcp///", &u),
                     config_check_reason_origin_only);
    assert_null(u.url); /* untouched on failure */
    /* Each reserved prefix, exactly and below, but not a longer name. */
    static const char *const reserved[] = {"healthz", "register",    "authorize", "callback",
                                           "token",   ".well-known", "consent"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "http://mcp/%s", reserved[i]);
        assert_non_null(config_check_upstream_url(text, &u));
        snprintf(text, sizeof(text), "http://mcp/%s/sub", reserved[i]);
        assert_non_null(config_check_upstream_url(text, &u));
        snprintf(text, sizeof(text), "http://mcp/%sx", reserved[i]);
        assert_null(config_check_upstream_url(text, &u));
        config_check_upstream_cleanup(&u);
        /* Below another segment is not a collision. */
        snprintf(text, sizeof(text), "http://mcp/api/%s", reserved[i]);
        assert_null(config_check_upstream_url(text, &u));
        config_check_upstream_cleanup(&u);
    }
}

/* The start-up check of the mount (SPEC.md preface fix 3): the one that
 * runs, on UPSTREAM_MCP_URL's path. A mount the request-path check could
 * never match safely -- a dot segment, raw or encoded, an encoded slash or
 * an encoded control byte -- is refused. */
static void
upstream_url_mount_refusals(void **state)
{
    (void)state;
    struct config_upstream u = {0};
    assert_null(config_check_upstream_url("http://mcp/mcp", &u));
    config_check_upstream_cleanup(&u);
    assert_null(config_check_upstream_url("http://mcp/api/v1/mcp", &u));
    config_check_upstream_cleanup(&u);
    static const char *const refused[] = {
        "http://mcp/api/../mcp", "http://mcp/./mcp", "http://mcp/mcp/..",
        "http://mcp/%2e%2e/mcp", "http://mcp/a%2fb", "http://mcp/mcp%00",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (config_check_upstream_url(refused[i], &u) == NULL) {
            fail_msg("accepted mount of %s", refused[i]);
        }
        assert_null(u.mount); /* untouched on failure */
    }
}

static void
csp_sources_normalise(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"https://login.example.com", "https://login.example.com"},
        {"HTTPS://Login.Example.COM:443", "https://login.example.com:443"},
        {"http://10.0.0.1:8080", "http://10.0.0.1:8080"},
        {"https://[2001:DB8::1]", "https://[2001:db8::1]"},
        {"custom+scheme.v1://host", "custom+scheme.v1://host"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *out = NULL;
        const char *reason = config_check_csp_source(slice_from_cstr(ok[i].in), &out);
        if (reason != NULL) {
            fail_msg("%s: %s", ok[i].in, reason);
        }
        assert_string_equal(out, ok[i].out);
        xfree(out);
    }
    static const char *const bad[] = {
        "",
        "https",
        "https:",
        "https:/x",
        "1http://x",
        "://x",
        "https://x/",
        "https://x:0",
        "https://x:",
        "https://x:1a",
        "https://[",
        "https://[::1",
        "https://[]",
        "https://x y",
        "https://x\t",
        "https://x,y",
        "https://x%2e",
        "https://x\\y",
        "https://\xc3\xa9.example",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = NULL;
        if (config_check_csp_source(slice_from_cstr(bad[i]), &out) == NULL) {
            fail_msg("accepted CSP source \"%s\" as \"%s\"", bad[i], out);
        }
        assert_null(out);
    }
}

/* MCP_ALLOWED_ORIGINS entries are stored as browsers serialise Origin, so
 * the mount compares bytes; a default port written out must not make a
 * listed origin unmatchable. */
static void
origins_serialise_like_browsers(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"https://app.example", "https://app.example"},
        {"HTTPS://App.Example:443", "https://app.example"},
        {"https://app.example:0443", "https://app.example"},
        {"http://app.example:80", "http://app.example"},
        {"http://app.example:443", "http://app.example:443"},
        {"https://app.example:80", "https://app.example:80"},
        {"http://localhost:06274", "http://localhost:6274"},
        {"http://[::1]:6274", "http://[::1]:6274"},
        {"https://[2001:DB8::1]:443", "https://[2001:db8::1]"},
        {"http://127.0.0.1", "http://127.0.0.1"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *out = NULL;
        const char *reason = config_check_origin(slice_from_cstr(ok[i].in), &out);
        if (reason != NULL) {
            fail_msg("%s: %s", ok[i].in, reason);
        }
        assert_string_equal(out, ok[i].out);
        xfree(out);
    }
    static const struct {
        const char *in, *reason;
    } bad[] = {
        {"*", "DNS rebinding"},
        {"null", "opaque"},
        {"NULL", "opaque"},
        {"https://*.app.example", "wildcard"},
        {"ftp://app.example", "http:// or https://"},
        {"chrome-extension://abc", "http:// or https://"},
        {"https://app.example/", "path"},
        {"https://u@app.example", "userinfo"},
        {"https://app.example:65536", "port"},
        {"", "scheme://host"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = NULL;
        const char *reason = config_check_origin(slice_from_cstr(bad[i].in), &out);
        if (reason == NULL || strstr(reason, bad[i].reason) == NULL) {
            fail_msg("\"%s\": got \"%s\", want a reason with \"%s\"", bad[i].in,
                     reason ? reason : "(accepted)", bad[i].reason);
        }
        assert_null(out);
    }
}

static void
redis_key_prefix_offsets(void **state)
{
    (void)state;
    size_t offset = 99;
    assert_null(config_check_redis_key_prefix(SLICE_LIT(""), &offset));
    assert_null(config_check_redis_key_prefix(SLICE_LIT(" !~az:AZ09"), &offset));
    assert_int_equal(offset, 99);
    assert_non_null(config_check_redis_key_prefix(SLICE_LIT("ab}"), &offset));
    assert_int_equal(offset, 2);
    /* NUL inside the slice is a forbidden byte too. */
    assert_non_null(config_check_redis_key_prefix(slice_make("a\0b", 3), &offset));
    assert_int_equal(offset, 1);
    for (unsigned c = 0; c < 256; c++) {
        char b = (char)c;
        bool allowed = c >= 0x20 && c <= 0x7e && c != '{' && c != '}';
        assert_int_equal(config_check_redis_key_prefix(slice_make(&b, 1), &offset) == NULL,
                         allowed);
    }
}

static void
header_values(void **state)
{
    (void)state;
    assert_null(config_check_header_value(SLICE_LIT("Bearer abc.def")));
    assert_null(config_check_header_value(SLICE_LIT("Basic a\tb \x80\xff")));
    assert_non_null(config_check_header_value(SLICE_LIT("a\rb")));
    assert_non_null(config_check_header_value(SLICE_LIT("a\nb")));
    assert_non_null(config_check_header_value(slice_make("a\0b", 3)));
    assert_non_null(config_check_header_value(SLICE_LIT("a\x7f")));
}

static void
decimals(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double value;
    } ok[] = {
        {"0", 0},
        {"20", 20},
        {"+20", 20},
        {"2.5", 2.5},
        {".5", 0.5},
        {"5.", 5},
        {"0.25", 0.25},
        {"007.500", 7.5},
        {"9007199254740992", 9007199254740992.0},
        {"0.1", 0.1},
        {"1.000000000000000000000000001", 1},
        {"0.0001220703125", 0.0001220703125}, /* 2^-13: 13 fraction digits */
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        double v = -1;
        const char *reason = config_check_decimal(slice_from_cstr(ok[i].text), &v);
        if (reason != NULL || v != ok[i].value) {
            fail_msg("%s: %s %.17g", ok[i].text, reason ? reason : "", v);
        }
    }
    static const char *const bad[] = {
        "",
        ".",
        "+",
        "-1",
        "-0",
        "-.5",
        "+-1",
        "1e3",
        "1E3",
        "0x10",
        "1,5",
        " 1",
        "1 ",
        "1.2.3",
        "inf",
        "nan",
        "9007199254740993",
        "1_000",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        double v = 42;
        if (config_check_decimal(slice_from_cstr(bad[i]), &v) == NULL) {
            fail_msg("accepted decimal \"%s\" as %g", bad[i], v);
        }
        assert_true(v == 42);
    }
}

static void
integers(void **state)
{
    (void)state;
    bool neg = true;
    uint64_t v = 0;
    assert_null(config_check_integer(SLICE_LIT("007"), &neg, &v));
    assert_false(neg);
    assert_int_equal(v, 7);
    assert_null(config_check_integer(SLICE_LIT("+5"), &neg, &v));
    assert_false(neg);
    assert_int_equal(v, 5);
    assert_null(config_check_integer(SLICE_LIT("-0"), &neg, &v));
    assert_false(neg); /* -0 is zero, not negative */
    assert_null(config_check_integer(SLICE_LIT("-12"), &neg, &v));
    assert_true(neg);
    assert_int_equal(v, 12);
    assert_null(config_check_integer(SLICE_LIT("18446744073709551615"), &neg, &v));
    assert_int_equal(v, UINT64_MAX);
    static const char *const bad[] = {
        "", "+", "-", "--1", "+-1", "1.0", "1e2", " 1", "1 ", "0x1", "1_0", "18446744073709551616",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 42;
        if (config_check_integer(slice_from_cstr(bad[i]), &neg, &v) == NULL) {
            fail_msg("accepted integer \"%s\"", bad[i]);
        }
        assert_int_equal(v, 42);
    }
}

/* ------------------------------------------------------------------ */
/* Weak secrets (SPEC.md 1.4)                                          */

static char *
repeat(const char *unit, size_t times)
{
    size_t n = strlen(unit);
    char *s = xmalloc(n * times + 1);
    for (size_t i = 0; i < times; i++) {
        memcpy(s + i * n, unit, n);
    }
    s[n * times] = '\0';
    return s;
}

static void
expect_weakness(const char *secret, size_t len, const char *want)
{
    char text[64];
    config_check_secret_weakness_text(secret, len, text, sizeof(text));
    if (strcmp(text, want) != 0) {
        fail_msg("weakness of \"%.*s\": got \"%s\" want \"%s\"", (int)len, secret, text, want);
    }
}

static void
weak_secret_shapes(void **state)
{
    (void)state;
    char *s = repeat("a", 32);
    expect_weakness(s, 32, "is 32 copies of a single byte");
    size_t detail = 0;
    assert_string_equal(config_check_secret_weakness(s, 32, &detail), "copies of a single byte");
    assert_int_equal(detail, 32);
    xfree(s);
    s = repeat("0123456789abcdef", 2);
    expect_weakness(s, 32, "repeats with period 16");
    assert_string_equal(config_check_secret_weakness(s, 32, &detail), "repeats with period");
    assert_int_equal(detail, 16);
    xfree(s);
    s = repeat("abc", 11);
    expect_weakness(s, 33, "repeats with period 3");
    xfree(s);
    /* A partial trailing repetition still counts. */
    expect_weakness("abcabcab", 8, "repeats with period 3");
    /* a x31 + b: not periodic, two distinct values. */
    s = repeat("a", 32);
    s[31] = 'b';
    expect_weakness(s, 32, "uses only 2 distinct byte values");
    assert_string_equal(config_check_secret_weakness(s, 32, &detail), "distinct byte values");
    assert_int_equal(detail, 2);
    xfree(s);
    /* The 7 / 8 distinct boundary. */
    expect_weakness("aaaaabbbbbcccccdddddeeeeefffffgg", 32, "uses only 7 distinct byte values");
    expect_weakness("aaaaabbbbbcccccdddddeeeeefffffgh", 32, "");
    assert_null(config_check_secret_weakness("aaaaabbbbbcccccdddddeeeeefffffgh", 32, &detail));
    /* Periods past half the length are never detected. */
    expect_weakness("abcdefghXabcdefgh", 17, "");
    /* Too short to judge. */
    expect_weakness("a", 1, "");
    expect_weakness("", 0, "");
    /* Two bytes: "aa" is period 1, "ab" a tiny alphabet. */
    expect_weakness("aa", 2, "is 2 copies of a single byte");
    expect_weakness("ab", 2, "uses only 2 distinct byte values");
    /* The fixtures and the demo secret are fine. */
    expect_weakness(FIXTURE_SECRET, strlen(FIXTURE_SECRET), "");
    expect_weakness(FIXTURE_SECRET_2, strlen(FIXTURE_SECRET_2), "");
    /* Bytes past a NUL count: length, not strlen. */
    expect_weakness("abcdefgh\0abcdefgh\0", 18, "repeats with period 9");
    /* Small output buffers are cut, not overrun. */
    char tiny[8];
    config_check_secret_weakness_text("aaaaaaaa", 8, tiny, sizeof(tiny));
    assert_int_equal(strlen(tiny), 7);
}

static void
weak_secret_detection_is_linear(void **state)
{
    (void)state;
    /* a x N then b: the quadratic period search would take ~N^2/2 steps. */
    size_t n = 4u << 20;
    char *s = xmalloc(n);
    memset(s, 'a', n);
    s[n - 1] = 'b';
    clock_t start = clock();
    size_t detail = 0;
    assert_string_equal(config_check_secret_weakness(s, n, &detail), "distinct byte values");
    assert_true((double)(clock() - start) / CLOCKS_PER_SEC < 5.0);
    xfree(s);
}

static void
random_secrets_are_never_flagged(void **state)
{
    (void)state;
    static const size_t lens[] = {32, 48, 64};
    uint8_t raw[64];
    char hex[129];
    char b64[96];
    size_t samples = 0;
    for (size_t l = 0; l < 3; l++) {
        for (int i = 0; i < 1000; i++) {
            size_t detail = 0;
            rand_bytes(raw, lens[l]);
            if (config_check_secret_weakness((const char *)raw, lens[l], &detail) != NULL) {
                fail_msg("random raw secret of %zu bytes flagged", lens[l]);
            }
            hex_encode(raw, lens[l] / 2, hex);
            if (config_check_secret_weakness(hex, lens[l], &detail) != NULL) {
                fail_msg("random hex secret \"%s\" flagged", hex);
            }
            b64url_encode(raw, lens[l] * 3 / 4, b64);
            if (config_check_secret_weakness(b64, strlen(b64), &detail) != NULL) {
                fail_msg("random base64 secret \"%s\" flagged", b64);
            }
            samples += 3;
        }
    }
    assert_int_equal(samples, 9000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(listen_addresses_split),
        cmocka_unit_test(issuer_and_base_rules),
        cmocka_unit_test(upstream_url_outputs),
        cmocka_unit_test(upstream_url_mount_refusals),
        cmocka_unit_test(csp_sources_normalise),
        cmocka_unit_test(origins_serialise_like_browsers),
        cmocka_unit_test(redis_key_prefix_offsets),
        cmocka_unit_test(header_values),
        cmocka_unit_test(decimals),
        cmocka_unit_test(integers),
        cmocka_unit_test(weak_secret_shapes),
        cmocka_unit_test(weak_secret_detection_is_linear),
        cmocka_unit_test(random_secrets_are_never_flagged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
