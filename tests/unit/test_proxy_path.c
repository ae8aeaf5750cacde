/* proxy/path: request-path safety (SPEC.md fix 3) and the same-origin rule
 * for upstream redirects (SPEC.md 4.3, proxy_test.go SameHost and
 * RedirectFollow_*). base/url's url_resolve is exercised here too, through
 * the Location cases it exists for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/url.h"
#include "base/xalloc.h"
#include "proxy/path.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *
check(const char *path, const char *mount)
{
    return proxy_path_check(slice_from_cstr(path), slice_from_cstr(mount));
}

/* Paths forwarded verbatim (SPEC.md 4.2 ForwardsPathVerbatim and more). */
static void
test_path_accepted(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "/mcp", "/mcp/", "/mcp/tools/list", "/mcp?x=1", "/mcp/?a=/../b", "/mcp/a%20b", "/mcp/a%2Eb",
        "/mcp/...", "/mcp/.well-known", "/mcp/..a", "/mcp/a..", "/mcp/.a", "/mcp//x",
        "/mcp/%2e%2e%2e", "/mcp/%252e%252e", "/mcp/a%2", "/mcp/%2", "/mcp/%", "/mcp/;", "/mcp/x;..",
        "/mcp/a%5", "/mcp/%2G",
        /* Printable escapes next to the refused control range. */
        "/mcp/%20", "/mcp/%7E", "/mcp/%7e", "/mcp/%80", "/mcp/%2000", "/mcp/%250", "/mcp/%0",
        "/mcp/a%1", "/mcp/x?q=%00", /* the query is not the path's business */
    };
    for (size_t i = 0; i < COUNT_OF(ok); i++) {
        const char *r = check(ok[i], "/mcp");
        if (r != NULL) {
            fail_msg("%s refused: %s", ok[i], r);
        }
    }
    assert_null(check("/api/v1/mcp/x", "/api/v1/mcp"));
    assert_null(check("/anything", ""));
    assert_null(check("/", ""));
}

static void
test_path_refused(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        const char *mount;
        const char *reason_part; /* a word of the expected reason */
    } rows[] = {
        /* Not under the mount: prefix near-misses. */
        {"/mcpx", "/mcp", "not under"},
        {"/mcp-admin", "/mcp", "not under"},
        {"/mc", "/mcp", "not under"},
        {"/MCP", "/mcp", "not under"},
        {"/", "/mcp", "not under"},
        {"", "/mcp", "not under"},
        {"mcp", "/mcp", "not under"},
        {"/api/v1/mcpx", "/api/v1/mcp", "not under"},
        {"/api/v1", "/api/v1/mcp", "not under"},
        {"mcp", "", "not under"},
        {"", "", "not under"},
        /* Dot segments, raw. */
        {"/mcp/..", "/mcp", "dot segment"},
        {"/mcp/../admin", "/mcp", "dot segment"},
        {"/mcp/./x", "/mcp", "dot segment"},
        {"/mcp/.", "/mcp", "dot segment"},
        {"/mcp/x/../../y", "/mcp", "dot segment"},
        {"/mcp/..?x", "/mcp", "dot segment"},
        {"/mcp/..;jsessionid=1", "/mcp", "dot segment"},
        {"/mcp/.;", "/mcp", "dot segment"},
        /* Dot segments, percent-encoded in any case and mix. */
        {"/mcp/%2e%2e", "/mcp", "dot segment"},
        {"/mcp/%2E%2E/x", "/mcp", "dot segment"},
        {"/mcp/%2E%2e", "/mcp", "dot segment"},
        {"/mcp/.%2e/x", "/mcp", "dot segment"},
        {"/mcp/%2e./x", "/mcp", "dot segment"},
        {"/mcp/%2e", "/mcp", "dot segment"},
        {"/mcp/%2E/", "/mcp", "dot segment"},
        {"/mcp/%2e%2e;x", "/mcp", "dot segment"},
        /* Encoded separators inside a segment. */
        {"/mcp/a%2Fb", "/mcp", "encoded"},
        {"/mcp/a%2fb", "/mcp", "encoded"},
        {"/mcp/%2F", "/mcp", "encoded"},
        {"/mcp/..%2F..%2Fadmin", "/mcp", "encoded"},
        {"/mcp/a%5Cb", "/mcp", "encoded"},
        {"/mcp/a%5cb", "/mcp", "encoded"},
        /* Raw backslash anywhere. */
        {"/mcp/a\\b", "/mcp", "backslash"},
        {"/mcp\\", "/mcp", "not under"},
        {"/mcp/\\..\\admin", "/mcp", "backslash"},
        /* Encoded control bytes: NUL, which ends a C string (and the path)
         * early, CR/LF, DEL, in either case, alone or beside dots. */
        {"/mcp/%00/x", "/mcp", "control"},
        {"/mcp/..%00/x", "/mcp", "control"},
        {"/mcp/%2e%2e%00/admin", "/mcp", "control"},
        {"/mcp/a%0d%0aX-Injected:1", "/mcp", "control"},
        {"/mcp/a%0D%0A", "/mcp", "control"},
        {"/mcp/%01", "/mcp", "control"},
        {"/mcp/%1f", "/mcp", "control"},
        {"/mcp/%1F", "/mcp", "control"},
        {"/mcp/%7f", "/mcp", "control"},
        {"/mcp/%7F", "/mcp", "control"},
        {"/mcp/tools/%09list", "/mcp", "control"},
        {"/%00", "", "control"},
        /* Empty mount owns "/", but the segment rules still apply. */
        {"/../x", "", "dot segment"},
    };
    for (size_t i = 0; i < COUNT_OF(rows); i++) {
        const char *r = check(rows[i].path, rows[i].mount);
        if (r == NULL || strstr(r, rows[i].reason_part) == NULL) {
            fail_msg("%s on %s: %s", rows[i].path, rows[i].mount, r ? r : "accepted");
        }
    }
    /* The reasons are static: compare by pointer. */
    assert_ptr_equal(check("/mcp/..", "/mcp"), check("/mcp/%2e%2e", "/mcp"));
}

/* SPEC.md 4.3's table, plus relative Locations and refusals. */
static void
test_same_origin(void **state)
{
    (void)state;
    static const struct {
        const char *location;
        const char *current;
        bool same;
        const char *resolved;
    } rows[] = {
        {"https://example.com:443/x", "https://example.com/mcp", true, "https://example.com:443/x"},
        {"https://example.com/x", "https://example.com:443/mcp", true, "https://example.com/x"},
        {"http://example.com:80/", "http://example.com/mcp", true, "http://example.com:80/"},
        {"http://example.com/", "http://example.com:80/mcp", true, "http://example.com/"},
        {"https://EXAMPLE.com/mcp/", "https://example.COM/mcp", true, "https://EXAMPLE.com/mcp/"},
        {"https://example.com:8443/x", "https://example.com/mcp", false, NULL},
        {"https://example.com/x", "https://example.com:8443/mcp", false, NULL},
        {"https://other.example.com/x", "https://example.com/mcp", false, NULL},
        {"https://example.com.evil/x", "https://example.com/mcp", false, NULL},
        /* Scheme changes either way are refused. */
        {"http://example.com/x", "https://example.com/mcp", false, NULL},
        {"http://example.com:443/x", "https://example.com/mcp", false, NULL},
        {"https://example.com:80/x", "http://example.com/mcp", false, NULL},
        {"https://example.com/x", "http://example.com/mcp", false, NULL},
        /* Relative references resolve against the current hop. */
        {"/mcp/", "http://127.0.0.1:8081/mcp", true, "http://127.0.0.1:8081/mcp/"},
        {"sub", "http://127.0.0.1:8081/mcp/", true, "http://127.0.0.1:8081/mcp/sub"},
        {"../x", "https://example.com/mcp/a/b", true, "https://example.com/mcp/x"},
        {"?page=2", "https://example.com/mcp?page=1", true, "https://example.com/mcp?page=2"},
        {"#frag", "https://example.com/mcp/a", true, "https://example.com/mcp/a#frag"},
        {"//example.com/y", "https://example.com/mcp", true, "https://example.com/y"},
        {"//other.example.com/y", "https://example.com/mcp", false, NULL},
        {"//example.com:8443/y", "https://example.com/mcp", false, NULL},
        /* IPv6 literals. */
        {"http://[::1]:8081/mcp/", "http://[::1]:8081/mcp", true, "http://[::1]:8081/mcp/"},
        {"http://[::2]:8081/mcp/", "http://[::1]:8081/mcp", false, NULL},
        /* Unusable Locations are relayed, not followed. */
        {"", "https://example.com/mcp", false, NULL},
        {"https:foo", "https://example.com/mcp", false, NULL},
        {"javascript:alert(1)", "https://example.com/mcp", false, NULL},
        {"ftp://example.com/x", "https://example.com/mcp", false, NULL},
        {"https://user:pw@example.com/x", "https://example.com/mcp", false, NULL},
        {"https://@example.com/x", "https://example.com/mcp", false, NULL},
        {"https://exa mple.com/", "https://example.com/mcp", false, NULL},
        {"https://example.com:99999/", "https://example.com/mcp", false, NULL},
        {"/x", "not a url", false, NULL},
    };
    for (size_t i = 0; i < COUNT_OF(rows); i++) {
        char *resolved = (char *)"sentinel";
        bool same = proxy_path_same_origin(rows[i].location, rows[i].current, &resolved);
        if (same != rows[i].same) {
            fail_msg("row %zu: %s from %s: same=%d", i, rows[i].location, rows[i].current, same);
        }
        if (same) {
            assert_string_equal(resolved, rows[i].resolved);
        } else {
            assert_null(resolved);
        }
        xfree(resolved);
        /* The out parameter is optional. */
        assert_int_equal(proxy_path_same_origin(rows[i].location, rows[i].current, NULL), same);
    }
    assert_false(proxy_path_same_origin(NULL, "https://example.com/mcp", NULL));
    assert_false(proxy_path_same_origin("/x", NULL, NULL));
}

/* url_resolve directly: RFC 3986 5.4.1 examples curl gets right, and the
 * two it needs help with (empty and fragment-only references). */
static void
test_url_resolve(void **state)
{
    (void)state;
    static const struct {
        const char *ref;
        enum url_rc rc;
        const char *want;
    } rows[] = {
        {"g", URL_OK, "http://a/b/c/g"},
        {"./g", URL_OK, "http://a/b/c/g"},
        {"g/", URL_OK, "http://a/b/c/g/"},
        {"/g", URL_OK, "http://a/g"},
        {"//g", URL_OK, "http://g/"},
        {"?y", URL_OK, "http://a/b/c/d;p?y"},
        {"g?y", URL_OK, "http://a/b/c/g?y"},
        {"#s", URL_OK, "http://a/b/c/d;p?q#s"},
        {"g;x", URL_OK, "http://a/b/c/g;x"},
        {"", URL_OK, "http://a/b/c/d;p?q"},
        {".", URL_OK, "http://a/b/c/"},
        {"..", URL_OK, "http://a/b/"},
        {"../g", URL_OK, "http://a/b/g"},
        {"../..", URL_OK, "http://a/"},
        {"../../../g", URL_OK, "http://a/g"},
        {"https://x.example/p", URL_OK, "https://x.example/p"},
        {"g:h", URL_ERR_OPAQUE, NULL},
        {"http:g", URL_ERR_OPAQUE, NULL},
    };
    for (size_t i = 0; i < COUNT_OF(rows); i++) {
        char *out = (char *)"sentinel";
        enum url_rc rc = url_resolve("http://a/b/c/d;p?q", rows[i].ref, &out);
        if (rc != rows[i].rc) {
            fail_msg("ref \"%s\": rc %d", rows[i].ref, rc);
        }
        if (rc == URL_OK) {
            assert_string_equal(out, rows[i].want);
        } else {
            assert_null(out);
        }
        xfree(out);
    }
    char *out = NULL;
    assert_int_equal(url_resolve("not a url", "/x", &out), URL_ERR_MALFORMED);
    assert_null(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_accepted),
        cmocka_unit_test(test_path_refused),
        cmocka_unit_test(test_same_origin),
        cmocka_unit_test(test_url_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
