/* oauth/binding: the browser binding of the authorization flow -- the
 * secret and its hash, the Set-Cookie values in both variants (https:
 * `__Host-` + Secure; plain-http loopback: neither), the cookie check in
 * every outcome, and POST /consent's request-site rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "bounds.h"
#include "fixtures.h"
#include "oauth/binding.h"
#include "base/pkce.h"

#define B FIXTURE_BINDING_SECRET
#define BH FIXTURE_BINDING_HASH

static void
test_new(void **state)
{
    (void)state;
    struct oauth_binding a, b;
    oauth_binding_new(&a);
    oauth_binding_new(&b);
    assert_int_equal(strlen(a.secret), OAUTH_BINDING_SECRET_LEN);
    assert_int_equal(strlen(a.hash), OAUTH_BINDING_HASH_LEN);
    char h[PKCE_S256_LEN + 1];
    pkce_challenge_s256(slice_from_cstr(a.secret), h);
    assert_string_equal(h, a.hash);
    assert_string_not_equal(a.secret, b.secret);
    assert_string_not_equal(a.hash, b.hash);
}

static void
test_is_secure(void **state)
{
    (void)state;
    assert_true(oauth_binding_is_secure("https://auth.example.com"));
    assert_false(oauth_binding_is_secure("http://127.0.0.1:8080"));
    assert_false(oauth_binding_is_secure("http://localhost"));
    assert_false(oauth_binding_is_secure(NULL));
}

static void
format(enum oauth_binding_cookie which, const char *hash, const char *secret, int64_t age,
       bool secure, const char *want)
{
    struct buf out;
    buf_init(&out, BOUNDS_COOKIE_SET_MAX);
    int rc = oauth_binding_format_set_cookie(which, hash, secret, age, secure, &out);
    if (want == NULL) {
        assert_int_equal(rc, -1);
        assert_int_equal(out.len, 0);
    } else {
        assert_int_equal(rc, 0);
        assert_string_equal(buf_cstr(&out), want);
    }
    buf_cleanup(&out);
}

/* Both variants of every Set-Cookie value the flow sends. */
static void
test_set_cookie_values(void **state)
{
    (void)state;
    format(OAUTH_BINDING_COOKIE_CONSENT, BH, B, 300, true,
           "__Host-mcp_consent_E9Melhoa=" B
           "; Path=/; Max-Age=300; HttpOnly; Secure; SameSite=Strict");
    format(OAUTH_BINDING_COOKIE_CONSENT, BH, B, 300, false,
           "mcp_consent_E9Melhoa=" B "; Path=/; Max-Age=300; HttpOnly; SameSite=Strict");
    format(OAUTH_BINDING_COOKIE_CALLBACK, BH, B, 600, true,
           "__Host-mcp_callback_E9Melhoa=" B
           "; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Lax");
    format(OAUTH_BINDING_COOKIE_CALLBACK, BH, B, 600, false,
           "mcp_callback_E9Melhoa=" B "; Path=/; Max-Age=600; HttpOnly; SameSite=Lax");
    /* Cleared: empty value, Max-Age=0, the same name and attributes (a
     * browser matches the cookie to delete by name, domain and path). */
    format(OAUTH_BINDING_COOKIE_CONSENT, BH, NULL, 300, true,
           "__Host-mcp_consent_E9Melhoa=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
    format(OAUTH_BINDING_COOKIE_CALLBACK, BH, NULL, 0, false,
           "mcp_callback_E9Melhoa=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    /* A re-render near the end of the token's life never sends Max-Age=0
     * (that would delete the cookie it means to set). */
    format(OAUTH_BINDING_COOKIE_CONSENT, BH, B, 0, false,
           "mcp_consent_E9Melhoa=" B "; Path=/; Max-Age=1; HttpOnly; SameSite=Strict");
    format(OAUTH_BINDING_COOKIE_CONSENT, BH, B, -5, false,
           "mcp_consent_E9Melhoa=" B "; Path=/; Max-Age=1; HttpOnly; SameSite=Strict");
    /* Nothing but our own 43-character values goes into a header. */
    format(OAUTH_BINDING_COOKIE_CONSENT, "", B, 300, true, NULL);
    format(OAUTH_BINDING_COOKIE_CONSENT, "short", B, 300, true, NULL);
    format(OAUTH_BINDING_COOKIE_CONSENT, BH "x", B, 300, true, NULL);
    format(OAUTH_BINDING_COOKIE_CONSENT, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw;cM", B, 300,
           true, NULL);
    format(OAUTH_BINDING_COOKIE_CONSENT, BH, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX\r", 300,
           true, NULL);
    format(OAUTH_BINDING_COOKIE_CONSENT, NULL, B, 300, true, NULL);
    /* The cap. */
    struct buf tiny;
    buf_init(&tiny, 16);
    assert_int_equal(
        oauth_binding_format_set_cookie(OAUTH_BINDING_COOKIE_CONSENT, BH, B, 1, true, &tiny), -1);
    assert_int_equal(tiny.len, 0);
    buf_cleanup(&tiny);
}

static enum oauth_binding_rc
check(enum oauth_binding_cookie which, const char *hash, bool secure, const char *line,
      char *out_secret)
{
    struct slice l = slice_from_cstr(line);
    return oauth_binding_check(which, hash, secure, &l, 1, out_secret);
}

static void
test_check_outcomes(void **state)
{
    (void)state;
    char got[OAUTH_BINDING_SECRET_LEN + 1] = "";
    const enum oauth_binding_cookie C = OAUTH_BINDING_COOKIE_CONSENT;
    const enum oauth_binding_cookie K = OAUTH_BINDING_COOKIE_CALLBACK;
    assert_int_equal(check(C, BH, true, "__Host-mcp_consent_E9Melhoa=" B, got), OAUTH_BINDING_OK);
    assert_string_equal(got, B);
    assert_int_equal(check(C, BH, false, "x=1; mcp_consent_E9Melhoa=" B, NULL), OAUTH_BINDING_OK);
    assert_int_equal(check(K, BH, true, "__Host-mcp_callback_E9Melhoa=" B, NULL), OAUTH_BINDING_OK);
    assert_int_equal(check(K, BH, false, "mcp_callback_E9Melhoa=\"" B "\"", NULL),
                     OAUTH_BINDING_OK);

    /* Missing: no such cookie -- the other kind, the other variant, a
     * different flow's suffix, a name of another case. */
    assert_int_equal(check(C, BH, true, "", NULL), OAUTH_BINDING_ERR_MISSING);
    assert_int_equal(check(C, BH, true, "__Host-mcp_callback_E9Melhoa=" B, NULL),
                     OAUTH_BINDING_ERR_MISSING);
    assert_int_equal(check(C, BH, true, "mcp_consent_E9Melhoa=" B, NULL),
                     OAUTH_BINDING_ERR_MISSING);
    assert_int_equal(check(C, BH, false, "__Host-mcp_consent_E9Melhoa=" B, NULL),
                     OAUTH_BINDING_ERR_MISSING);
    assert_int_equal(check(C, BH, true, "__Host-mcp_consent_E9Melhob=" B, NULL),
                     OAUTH_BINDING_ERR_MISSING);
    assert_int_equal(check(C, BH, true, "__host-mcp_consent_E9Melhoa=" B, NULL),
                     OAUTH_BINDING_ERR_MISSING);
    /* Stepped over as malformed, so not there. */
    assert_int_equal(check(C, BH, true, "__Host-mcp_consent_E9Melhoa=" B " x", NULL),
                     OAUTH_BINDING_ERR_MISSING);

    /* Mismatch: the name is there, the value is not B. */
    snprintf(got, sizeof(got), "%s", "untouched");
    assert_int_equal(check(C, BH, true, "__Host-mcp_consent_E9Melhoa=", got),
                     OAUTH_BINDING_ERR_MISMATCH);
    assert_string_equal(got, "untouched");
    assert_int_equal(check(C, BH, true, "__Host-mcp_consent_E9Melhoa=" BH, NULL),
                     OAUTH_BINDING_ERR_MISMATCH);
    assert_int_equal(check(C, BH, true, "__Host-mcp_consent_E9Melhoa=" B "A", NULL),
                     OAUTH_BINDING_ERR_MISMATCH);
    assert_int_equal(
        check(C, BH, true,
              "__Host-mcp_consent_E9Melhoa=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl", NULL),
        OAUTH_BINDING_ERR_MISMATCH);

    /* Unbound: the grant's bh is not one we mint. */
    assert_int_equal(check(C, "", true, "__Host-mcp_consent_=" B, NULL), OAUTH_BINDING_ERR_UNBOUND);
    assert_int_equal(check(C, "E9Melhoa", true, "__Host-mcp_consent_E9Melhoa=" B, NULL),
                     OAUTH_BINDING_ERR_UNBOUND);
    assert_int_equal(check(C, NULL, true, "", NULL), OAUTH_BINDING_ERR_UNBOUND);

    assert_string_equal(oauth_binding_rc_str(OAUTH_BINDING_ERR_MISSING), "cookie_missing");
    assert_string_equal(oauth_binding_rc_str(OAUTH_BINDING_ERR_MISMATCH), "cookie_mismatch");
    assert_string_equal(oauth_binding_rc_str(OAUTH_BINDING_ERR_UNBOUND), "unbound");
    assert_string_equal(oauth_binding_rc_str(OAUTH_BINDING_RC_COUNT), "unknown");
}

/* The same name more than once (two paths, a planted copy): any value
 * that hashes to bh counts, among the first BOUNDS_COOKIE_SAME_NAME_MAX;
 * several lines are walked in order. */
static void
test_check_repeats_and_lines(void **state)
{
    (void)state;
    const enum oauth_binding_cookie C = OAUTH_BINDING_COOKIE_CONSENT;
    assert_int_equal(check(C, BH, true,
                           "__Host-mcp_consent_E9Melhoa=planted; __Host-mcp_consent_E9Melhoa=" B,
                           NULL),
                     OAUTH_BINDING_OK);
    struct buf l;
    buf_init(&l, 4096);
    for (int i = 0; i < BOUNDS_COOKIE_SAME_NAME_MAX; i++) {
        assert_int_equal(buf_append_str(&l, "__Host-mcp_consent_E9Melhoa=x; "), 0);
    }
    assert_int_equal(buf_append_str(&l, "__Host-mcp_consent_E9Melhoa=" B), 0);
    assert_int_equal(check(C, BH, true, buf_cstr(&l), NULL), OAUTH_BINDING_ERR_MISMATCH);
    buf_cleanup(&l);

    const struct slice lines[] = {
        slice_from_cstr("a=1"),
        slice_from_cstr("b=2; __Host-mcp_callback_E9Melhoa=" B),
    };
    assert_int_equal(oauth_binding_check(OAUTH_BINDING_COOKIE_CALLBACK, BH, true, lines, 2, NULL),
                     OAUTH_BINDING_OK);
    assert_int_equal(oauth_binding_check(OAUTH_BINDING_COOKIE_CALLBACK, BH, true, lines, 1, NULL),
                     OAUTH_BINDING_ERR_MISSING);
}

static enum oauth_binding_site_rc
site(const char *base, const char *origin, const char *origin2, const char *fetch_site)
{
    struct slice o[2];
    size_t no = 0;
    if (origin != NULL) {
        o[no++] = slice_from_cstr(origin);
    }
    if (origin2 != NULL) {
        o[no++] = slice_from_cstr(origin2);
    }
    struct slice f = slice_from_cstr(fetch_site != NULL ? fetch_site : "");
    return oauth_binding_check_site(base, o, no, &f, fetch_site != NULL ? 1 : 0);
}

static void
test_site_table(void **state)
{
    (void)state;
    static const struct {
        const char *base, *origin, *origin2, *fetch_site;
        enum oauth_binding_site_rc want;
    } rows[] = {
        /* Our own page, and tools that send neither header. */
        {"https://auth.example.com", "https://auth.example.com", NULL, "same-origin",
         OAUTH_BINDING_SITE_OK},
        {"https://auth.example.com", NULL, NULL, NULL, OAUTH_BINDING_SITE_OK},
        {"https://auth.example.com", " https://auth.example.com ", NULL, NULL,
         OAUTH_BINDING_SITE_OK},
        {"https://auth.example.com", "HTTPS://AUTH.EXAMPLE.COM", NULL, NULL, OAUTH_BINDING_SITE_OK},
        {"https://Auth.Example.com", "https://auth.example.com", NULL, NULL, OAUTH_BINDING_SITE_OK},
        /* The default port is never part of an origin; another port is. */
        {"https://auth.example.com:443", "https://auth.example.com", NULL, NULL,
         OAUTH_BINDING_SITE_OK},
        {"http://127.0.0.1:8080", "http://127.0.0.1:8080", NULL, "same-origin",
         OAUTH_BINDING_SITE_OK},
        {"http://[::1]:8080", "http://[::1]:8080", NULL, NULL, OAUTH_BINDING_SITE_OK},
        /* same-site and none are not cross-site (the Origin still decides). */
        {"https://auth.example.com", NULL, NULL, "same-site", OAUTH_BINDING_SITE_OK},
        {"https://auth.example.com", NULL, NULL, "none", OAUTH_BINDING_SITE_OK},
        /* Refused. */
        {"https://auth.example.com", "https://attacker.example", NULL, NULL,
         OAUTH_BINDING_SITE_ERR_ORIGIN},
        {"https://auth.example.com", "null", NULL, NULL, OAUTH_BINDING_SITE_ERR_ORIGIN},
        {"https://auth.example.com", "", NULL, NULL, OAUTH_BINDING_SITE_ERR_ORIGIN},
        {"https://auth.example.com", "https://auth.example.com/", NULL, NULL,
         OAUTH_BINDING_SITE_ERR_ORIGIN},
        {"https://auth.example.com", "http://auth.example.com", NULL, NULL,
         OAUTH_BINDING_SITE_ERR_ORIGIN},
        {"https://auth.example.com", "https://auth.example.com:443", NULL, NULL,
         OAUTH_BINDING_SITE_ERR_ORIGIN},
        {"https://auth.example.com", "https://evil.auth.example.com", NULL, "same-site",
         OAUTH_BINDING_SITE_ERR_ORIGIN},
        {"https://auth.example.com", "https://auth.example.com", "null", NULL,
         OAUTH_BINDING_SITE_ERR_ORIGIN},
        {"http://127.0.0.1:8080", "http://127.0.0.1:8081", NULL, NULL,
         OAUTH_BINDING_SITE_ERR_ORIGIN},
        {"http://127.0.0.1:8080", "http://localhost:8080", NULL, NULL,
         OAUTH_BINDING_SITE_ERR_ORIGIN},
        {"https://auth.example.com", "https://auth.example.com", NULL, "cross-site",
         OAUTH_BINDING_SITE_ERR_CROSS_SITE},
        {"https://auth.example.com", NULL, NULL, " CROSS-SITE ", OAUTH_BINDING_SITE_ERR_CROSS_SITE},
        /* A base that does not parse (never after config) fails closed. */
        {"not a url", "not a url", NULL, NULL, OAUTH_BINDING_SITE_ERR_ORIGIN},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        enum oauth_binding_site_rc rc =
            site(rows[i].base, rows[i].origin, rows[i].origin2, rows[i].fetch_site);
        if (rc != rows[i].want) {
            fail_msg("row %zu (%s, Origin %s, Sec-Fetch-Site %s): %s, want %s", i, rows[i].base,
                     rows[i].origin ? rows[i].origin : "-",
                     rows[i].fetch_site ? rows[i].fetch_site : "-", oauth_binding_site_rc_str(rc),
                     oauth_binding_site_rc_str(rows[i].want));
        }
    }
    assert_string_equal(oauth_binding_site_rc_str(OAUTH_BINDING_SITE_ERR_CROSS_SITE), "cross_site");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_is_secure),
        cmocka_unit_test(test_set_cookie_values),
        cmocka_unit_test(test_check_outcomes),
        cmocka_unit_test(test_check_repeats_and_lines),
        cmocka_unit_test(test_site_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
