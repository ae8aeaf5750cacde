/* base/url: one table of URLs with every part url_parse reports, including
 * the facts curl cannot (bare '?' and '#', empty userinfo, opaque URLs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/url.h"

/* "-" in a string column means NULL. */
struct row {
    const char *text;
    enum url_rc rc;
    const char *scheme;
    const char *host;
    const char *port;
    const char *path;
    const char *query;
    const char *fragment;
    bool has_query;
    bool has_fragment;
    bool has_userinfo;
};

#define N "-"

static const struct row rows[] = {
    /* Plain shapes. */
    {"https://example.com", URL_OK, "https", "example.com", N, "", N, N, false, false, false},
    {"https://example.com/", URL_OK, "https", "example.com", N, "/", N, N, false, false, false},
    {"http://example.com:8080/a/b", URL_OK, "http", "example.com", "8080", "/a/b", N, N, false,
     false, false},
    {"https://example.com/p?x=1&y=2#frag", URL_OK, "https", "example.com", N, "/p", "x=1&y=2",
     "frag", true, true, false},
    {"https://example.com?x=1", URL_OK, "https", "example.com", N, "", "x=1", N, true, false,
     false},
    {"HTTPS://Example.COM/Path", URL_OK, "https", "Example.COM", N, "/Path", N, N, false, false,
     false},
    {"custom+scheme.v1://host/x", URL_OK, "custom+scheme.v1", "host", N, "/x", N, N, false, false,
     false},
    /* Opaque: a scheme without "//". */
    {"https:foo", URL_ERR_OPAQUE, N, N, N, N, N, N, false, false, false},
    {"https:/foo", URL_ERR_OPAQUE, N, N, N, N, N, N, false, false, false},
    {"javascript:alert(1)", URL_ERR_OPAQUE, N, N, N, N, N, N, false, false, false},
    {"mailto:a@example.com", URL_ERR_OPAQUE, N, N, N, N, N, N, false, false, false},
    {"urn:ietf:rfc:3986", URL_ERR_OPAQUE, N, N, N, N, N, N, false, false, false},
    /* Hostless. */
    {"https:///x", URL_ERR_NO_HOST, N, N, N, N, N, N, false, false, false},
    {"https://", URL_ERR_NO_HOST, N, N, N, N, N, N, false, false, false},
    {"https://?x", URL_ERR_NO_HOST, N, N, N, N, N, N, false, false, false},
    {"https://#x", URL_ERR_NO_HOST, N, N, N, N, N, N, false, false, false},
    {"file:///etc/passwd", URL_ERR_NO_HOST, N, N, N, N, N, N, false, false, false},
    {"http://:80/x", URL_ERR_NO_HOST, N, N, N, N, N, N, false, false, false},
    /* Userinfo, including a bare '@'. */
    {"https://user:pw@host/x", URL_OK, "https", "host", N, "/x", N, N, false, false, true},
    {"https://user@host", URL_OK, "https", "host", N, "", N, N, false, false, true},
    {"https://:pw@host/", URL_OK, "https", "host", N, "/", N, N, false, false, true},
    {"https://@host/", URL_OK, "https", "host", N, "/", N, N, false, false, true},
    {"https://:@host/", URL_OK, "https", "host", N, "/", N, N, false, false, true},
    {"https://host/a@b", URL_OK, "https", "host", N, "/a@b", N, N, false, false, false},
    {"https://host/?next=a@b", URL_OK, "https", "host", N, "/", "next=a@b", N, true, false, false},
    /* Bare '?' and '#'. */
    {"https://host/?", URL_OK, "https", "host", N, "/", N, N, true, false, false},
    {"https://host/#", URL_OK, "https", "host", N, "/", N, N, false, true, false},
    {"https://host/?#", URL_OK, "https", "host", N, "/", N, N, true, true, false},
    {"https://host?", URL_OK, "https", "host", N, "", N, N, true, false, false},
    {"https://host#", URL_OK, "https", "host", N, "", N, N, false, true, false},
    {"https://host/p#f?x", URL_OK, "https", "host", N, "/p", N, "f?x", false, true, false},
    /* IPv6 literals. */
    {"https://[::1]:8443/x", URL_OK, "https", "[::1]", "8443", "/x", N, N, false, false, false},
    {"http://[2001:db8::1]/", URL_OK, "http", "[2001:db8::1]", N, "/", N, N, false, false, false},
    {"http://[::1/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"http://[zz::1]/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    /* Dot segments and percent-encoding are kept verbatim. */
    {"https://host/a/../b/./c", URL_OK, "https", "host", N, "/a/../b/./c", N, N, false, false,
     false},
    {"https://host/../../etc", URL_OK, "https", "host", N, "/../../etc", N, N, false, false, false},
    {"https://host/a%2Fb%2e%2E/%20x?q=%41#%42", URL_OK, "https", "host", N, "/a%2Fb%2e%2E/%20x",
     "q=%41", "%42", true, true, false},
    {"https://host/mcp/", URL_OK, "https", "host", N, "/mcp/", N, N, false, false, false},
    /* Control bytes and spaces are refused anywhere. */
    {"https://host/a\x01"
     "b",
     URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"https://ho\tst/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"https://host/\r\nX: y", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"https://host/\x7f", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"https://host/a b", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {" https://host/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"https://host/ ", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"https://host/?q=\x1f", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    /* Bad ports. */
    {"https://host:99999/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"https://host:65536/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"https://host:abc/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"https://host:-1/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"https://host:8080x/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"https://[::1]:x/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"https://host:65535/", URL_OK, "https", "host", "65535", "/", N, N, false, false, false},
    /* Not absolute. */
    {"", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"/relative", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"//host/x", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"host/x", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    /* Schemes outside RFC 3986 3.1 (curl 7.88 takes them). */
    {"1http://host/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"+x://host/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    {"://host/", URL_ERR_MALFORMED, N, N, N, N, N, N, false, false, false},
    /* The host is reported as written, not as curl normalises it. */
    {"https://local%68ost/", URL_OK, "https", "local%68ost", N, "/", N, N, false, false, false},
    {"http://0x7f.1/", URL_OK, "http", "0x7f.1", N, "/", N, N, false, false, false},
    {"http://2130706433:80/", URL_OK, "http", "2130706433", "80", "/", N, N, false, false, false},
    {"http://[::1%25eth0]:9/", URL_OK, "http", "[::1%25eth0]", "9", "/", N, N, false, false, false},
    {"http://u:p@[::1]:1/x", URL_OK, "http", "[::1]", "1", "/x", N, N, false, false, true},
    {"http://localhost.:8080/", URL_OK, "http", "localhost.", "8080", "/", N, N, false, false,
     false},
    /* Port edge cases: an empty port is no port; leading zeros are dropped. */
    {"https://host:/x", URL_OK, "https", "host", N, "/x", N, N, false, false, false},
    {"https://host:00080/", URL_OK, "https", "host", "80", "/", N, N, false, false, false},
};

/* Every mismatch is printed, so one run shows all of them. */
static int failures;

static void
check_str(size_t i, const char *what, const char *got, const char *want)
{
    bool want_null = strcmp(want, N) == 0;
    if (want_null ? got != NULL : got == NULL || strcmp(got, want) != 0) {
        print_error("row %zu (%s): %s is \"%s\", want \"%s\"\n", i, rows[i].text, what,
                    got ? got : "(null)", want);
        failures++;
    }
}

static void
test_table(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct url u;
        memset(&u, 0x5a, sizeof(u));
        enum url_rc rc = url_parse(r->text, &u);
        if (rc != r->rc) {
            print_error("row %zu (%s): rc %d, want %d\n", i, r->text, rc, r->rc);
            failures++;
            if (rc == URL_OK) {
                url_cleanup(&u);
            }
            continue;
        }
        if (rc != URL_OK) {
            /* Zeroed on failure, nothing to clean up. */
            assert_null(u.scheme);
            assert_null(u.host);
            assert_null(u.path);
            assert_false(u.has_query);
            continue;
        }
        check_str(i, "scheme", u.scheme, r->scheme);
        check_str(i, "host", u.host, r->host);
        check_str(i, "port", u.port, r->port);
        check_str(i, "path", u.path, r->path);
        check_str(i, "query", u.query, r->query);
        check_str(i, "fragment", u.fragment, r->fragment);
        if (u.has_query != r->has_query || u.has_fragment != r->has_fragment ||
            u.has_userinfo != r->has_userinfo) {
            print_error("row %zu (%s): flags q=%d f=%d u=%d\n", i, r->text, u.has_query,
                        u.has_fragment, u.has_userinfo);
            failures++;
        }
        url_cleanup(&u);
        assert_null(u.scheme);
    }
    assert_int_equal(failures, 0);
}

static void
test_ports(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned port;
    } rows_port[] = {
        {"https://h/", 443}, {"http://h/", 80},   {"https://h:8443/", 8443}, {"http://h:443/", 443},
        {"ftp://h/", 0},     {"ftp://h:21/", 21}, {"https://[::1]:1/", 1},   {"HTTP://h/", 80},
    };
    for (size_t i = 0; i < sizeof(rows_port) / sizeof(rows_port[0]); i++) {
        struct url u;
        assert_int_equal(url_parse(rows_port[i].text, &u), URL_OK);
        assert_int_equal(url_effective_port(&u), rows_port[i].port);
        url_cleanup(&u);
    }
    assert_int_equal(url_default_port("https"), 443);
    assert_int_equal(url_default_port("http"), 80);
    assert_int_equal(url_default_port("ws"), 0);
    assert_int_equal(url_default_port(NULL), 0);
}

static void
test_host_bare(void **state)
{
    (void)state;
    struct url u;
    char out[64];
    assert_int_equal(url_parse("https://[2001:db8::1]:8443/", &u), URL_OK);
    assert_true(url_host_bare(&u, out, sizeof(out)));
    assert_string_equal(out, "2001:db8::1");
    /* "2001:db8::1" needs 12 bytes with its terminator. */
    assert_false(url_host_bare(&u, out, 11));
    assert_true(url_host_bare(&u, out, 12));
    url_cleanup(&u);
    assert_int_equal(url_parse("https://example.com/", &u), URL_OK);
    assert_true(url_host_bare(&u, out, sizeof(out)));
    assert_string_equal(out, "example.com");
    url_cleanup(&u);
    struct url empty;
    memset(&empty, 0, sizeof(empty));
    assert_false(url_host_bare(&empty, out, sizeof(out)));
}

/* url_join is plain concatenation: no slash is added, removed or
 * resolved, and a join that does not fit leaves the buffer as it was. */
static void
test_join(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(url_join(&b, "https://proxy.example", "/callback"), 0);
    assert_string_equal(buf_cstr(&b), "https://proxy.example/callback");
    buf_reset(&b);
    assert_int_equal(url_join(&b, "/.well-known/oauth-protected-resource", "/mcp"), 0);
    assert_string_equal(buf_cstr(&b), "/.well-known/oauth-protected-resource/mcp");
    buf_reset(&b);
    assert_int_equal(url_join(&b, "https://proxy.example", ""), 0);
    assert_string_equal(buf_cstr(&b), "https://proxy.example");
    /* Appends: what is already there stays. */
    assert_int_equal(url_join(&b, "/a/..", "/b"), 0);
    assert_string_equal(buf_cstr(&b), "https://proxy.example/a/../b");
    buf_cleanup(&b);

    buf_init(&b, 10);
    assert_int_equal(url_join(&b, "https://", "x"), 0);
    assert_int_equal(url_join(&b, "ab", "c"), -1);
    assert_string_equal(buf_cstr(&b), "https://x");
    buf_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_host_bare),
        cmocka_unit_test(test_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
