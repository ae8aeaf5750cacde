/* oauth/redirect_uri: the registration check (SPEC.md 3.2 step 7, one row
 * per rule plus the attack list in tests/data), matching (3.3.1) and
 * redirect construction (3.3.2, 3.7 step 20). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/form.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "fixtures.h"
#include "oauth/redirect_uri.h"

#define R_LENGTH "redirect_uri exceeds maximum length"
#define R_MALFORMED "malformed redirect_uri"
#define R_OPAQUE "redirect_uri must be an absolute URI with authority, not opaque"
#define R_HOST "redirect_uri must include a host"
#define R_FRAGMENT "redirect_uri must not contain a fragment"
#define R_USERINFO "redirect_uri must not contain userinfo"
#define R_HTTPS "redirect_uri must use HTTPS for non-loopback addresses"
#define R_SCHEME "redirect_uri scheme is not allowed"
#define R_PCT_HOST "redirect_uri host must not be percent-encoded"
#define R_IDN "redirect_uri host is not a valid internationalized domain name (IDNA2008)"
#define R_MIXED "redirect_uri host mixes scripts (such as Latin and Cyrillic) in one label"

struct check_row {
    const char *uri;
    const char *reason; /* NULL = accepted */
};

static const struct check_row check_rows[] = {
    {"https://app.example.com/callback", NULL},
    {"https://app.example.com", NULL},
    {"https://app.example.com:8443/cb?x=1", NULL},
    {"HTTPS://APP.EXAMPLE.COM/cb", NULL},
    /* b. parse errors: control characters, bad IPv6 literal, bad port */
    {"https://app.example.com/a\tb", R_MALFORMED},
    {"https://app.example.com/\r\n", R_MALFORMED},
    {"http://[::1/cb", R_MALFORMED},
    {"https://app example.com/", R_MALFORMED},
    {"https://app.example.com:70000/", R_MALFORMED},
    {"", R_MALFORMED},
    /* schemes curl 7.88 accepts but RFC 3986 does not (a fuzzer find) */
    {"8ttp:/.0.0.1:/b", R_MALFORMED},
    {"1http://app.example.com/", R_MALFORMED},
    {"C:/x", R_SCHEME}, /* a drive letter, not a scheme */
    /* IPv6 zone ids: unusable by browsers */
    {"https://[fe80::1%25eth0]/cb", R_MALFORMED},
    {"http://[::1%25lo]:8080/cb", R_MALFORMED},
    /* c. opaque */
    {"https:foo", R_OPAQUE},
    {"javascript:alert(1)", R_SCHEME},
    /* d. no host */
    {"https:///cb", R_HOST},
    {"file:///etc/passwd", R_SCHEME},
    /* e. any '#' */
    {"https://app.example.com/cb#frag", R_FRAGMENT},
    {"https://app.example.com/cb#", R_FRAGMENT},
    /* a forbidden scheme is refused before anything else */
    {"ftp://u@app.example.com/#x", R_SCHEME},
    /* f. userinfo with or without password, even empty */
    {"https://user@app.example.com/cb", R_USERINFO},
    {"https://user:pw@app.example.com/cb", R_USERINFO},
    {"https://@app.example.com/cb", R_USERINFO},
    {"ftp://u@app.example.com/", R_SCHEME},
    /* g. scheme rules with loopback */
    {"http://app.example.com/cb", R_HTTPS},
    {"http://localhost/cb", NULL},
    {"http://localhost:8080/cb", NULL},
    {"http://localhost./cb", NULL},
    {"http://LOCALHOST/cb", NULL}, /* SPEC fix 7 */
    {"http://LocalHost.:1234/cb", NULL},
    {"http://127.0.0.1/cb", NULL},
    {"http://127.0.0.1./cb", NULL},
    {"http://127.42.0.9:5000/cb", NULL},
    {"http://[::1]/cb", NULL},
    {"http://[::1]:8080/cb", NULL},
    {"http://[::ffff:127.0.0.1]/cb", NULL},
    {"http://[::FFFF:127.9.9.9]:1/cb", NULL},
    {"http://[::0.0.0.1]/cb", NULL},
    {"http://localhost.evil.com/cb", R_HTTPS},
    {"http://127.0.0.1.evil.com/cb", R_HTTPS},
    {"http://127.1/cb", R_HTTPS},
    {"http://[::2]/cb", R_HTTPS},
    {"http://[::ffff:10.0.0.1]/cb", R_HTTPS},
    {"ftp://app.example.com/cb", R_SCHEME},
    {"ftp://localhost/cb", R_SCHEME},
    /* h. dangerous schemes, in any case */
    {"JAVASCRIPT:alert(1)", R_SCHEME},
    {"JavaScript://x/%0aalert(1)", R_SCHEME},
    {"data:text/html,x", R_SCHEME},
    {"DATA:,x", R_SCHEME},
    {"vbscript:msgbox(1)", R_SCHEME},
    {"VBScript:msgbox(1)", R_SCHEME},
    {"file://localhost/etc/passwd", R_SCHEME},
    {"File:///c:/x", R_SCHEME},
    {"about:blank", R_SCHEME},
    {"About:srcdoc", R_SCHEME},
    {"blob:https://app.example.com/0b7c", R_SCHEME},
    {"BLOB:null/x", R_SCHEME},
    {"ws://127.0.0.1:9/cb", R_SCHEME},
    {"WS://localhost/cb", R_SCHEME},
    {"wss://app.example.com/cb", R_SCHEME},
    {"Wss://app.example.com/cb", R_SCHEME},
    {"FTP://app.example.com/cb", R_SCHEME},
    {"chrome-extension://abc/cb", R_SCHEME},
    /* i. no scheme */
    {"anysphere.cursor-mcp/oauth/callback", R_MALFORMED},
    {"//app.example.com/cb", R_MALFORMED},
    {":/cb", R_MALFORMED},
    {"my_app://cb", R_MALFORMED},
    {"-app://cb", R_MALFORMED},
    /* j. private-use schemes of native apps (RFC 8252 7.1), with or without
     * a period (8.4 deviation, docs/conformance.md) */
    {"cursor://anysphere.cursor-mcp/oauth/callback", NULL},
    {"vscode://vscode.mcp/callback", NULL},
    {"com.example.app:/cb", NULL},
    {"com.example.app:/oauth2redirect/example-provider", NULL},
    {"com.example.app:cb", NULL},
    {"myapp://callback", NULL},
    {"myapp:///cb", NULL},
    {"ldap://app.example.com/", NULL},
    {"Cursor://anysphere.cursor-mcp/cb?x=1", NULL},
    {"app+v2.x-y://h/%2Fp", NULL},
    {"cursor:", R_MALFORMED},
    {"cursor://anysphere.cursor-mcp/cb#", R_FRAGMENT},
    {"com.example.app:/cb#x", R_FRAGMENT},
    {"cursor://u@anysphere.cursor-mcp/cb", R_USERINFO},
    {"cursor://u:p@anysphere.cursor-mcp/cb", R_USERINFO},
    {"cursor://@anysphere.cursor-mcp/cb", R_USERINFO},
    {"com.example.app:/cb@x", NULL}, /* '@' outside an authority is path text */
    {"cursor://anysphere.cursor-mcp/a b", R_MALFORMED},
    {"cursor://anysphere.cursor-mcp/a\tb", R_MALFORMED},
    {"cursor://anysphere.cursor-mcp/\xd0\xb0", R_MALFORMED},
    {"cursor://anysphere.cursor-mcp/<x>", R_MALFORMED},
    {"cursor://anysphere.cursor-mcp/\"x", R_MALFORMED},
    {"cursor://anysphere.cursor-mcp/%zz", R_MALFORMED},
    {"cursor://anysphere.cursor-mcp/%4", R_MALFORMED},
    {"cursor://anysphere.cursor-mcp/a\\b", R_MALFORMED},
    /* Internationalized hosts (base/idn.h): valid IDNA2008 in one script
     * per label (or the CJK sets), raw or as xn--. */
    {"https://\xd0\xb0\xd1\x80\xd1\x80\xd3\x8f\xd0\xb5.com/cb", NULL},
    {"https://xn--80ak6aa92e.com/cb", NULL},
    {"https://\xe6\x97\xa5\xe6\x9c\xac\xe3\x81\xae\xe3\x82\xb5\xe3\x82\xa4\xe3\x83\x88.jp/cb",
     NULL},
    {"https://xn--u9jxf0b3ds196acvb.jp/cb", NULL},
    {"https://b\xc3\xbc"
     "cher.example/cb",
     NULL},
    {"https://\xd0\xb0pple.com/cb", R_MIXED}, /* Cyrillic a + Latin */
    {"https://xn--pple-43d.com/cb", R_MIXED}, /* the same as an A-label */
    {"https://XN--PPLE-43D.com/cb", R_MIXED},
    {"https://login.\xd0\xb0pple.com:8443/cb", R_MIXED},
    {"https://g\xce\xbf\xce\xbfgle.com/cb", R_MIXED}, /* Greek omicrons */
    {"https://xn--zzzzzzz-.com/cb", R_IDN},           /* A-label of ASCII */
    {"https://xn--.com/cb", R_IDN},
    {"https://\xe2\x98\x83.net/cb", R_IDN}, /* U+2603: not IDNA2008 */
    {"https://a\xe2\x80\xae"
     "b.com/cb",
     R_IDN},                                   /* U+202E override */
    {"https://\xff.com/cb", R_IDN},            /* not UTF-8 */
    {"https://%d0%b0pple.com/cb", R_PCT_HOST}, /* browsers decode it */
    {"https://good%2ecom/cb", R_PCT_HOST},
    {"http://local%68ost/cb", R_PCT_HOST},
    /* An IDN host is still not loopback for http. */
    {"http://xn--80ak6aa92e.com/cb", R_HTTPS},
};

static void
test_check_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(check_rows) / sizeof(check_rows[0]); i++) {
        const char *got = oauth_redirect_uri_check(check_rows[i].uri);
        if (check_rows[i].reason == NULL && got != NULL) {
            fail_msg("row %zu %s: unexpected reason %s", i, check_rows[i].uri, got);
        }
        if (check_rows[i].reason != NULL) {
            if (got == NULL) {
                fail_msg("row %zu %s: accepted", i, check_rows[i].uri);
            }
            assert_string_equal(got, check_rows[i].reason);
        }
    }
}

static void
test_check_length_boundary(void **state)
{
    (void)state;
    /* "https://a.example.com/" + padding to exactly 512, then 513 bytes */
    char uri[600];
    const char *prefix = "https://a.example.com/";
    size_t plen = strlen(prefix);
    memcpy(uri, prefix, plen);
    memset(uri + plen, 'p', 512 - plen);
    uri[512] = '\0';
    assert_null(oauth_redirect_uri_check(uri));
    uri[512] = 'p';
    uri[513] = '\0';
    assert_string_equal(oauth_redirect_uri_check(uri), R_LENGTH);
    /* length wins over every other rule */
    memcpy(uri, "javascript:", 11);
    assert_string_equal(oauth_redirect_uri_check(uri), R_LENGTH);
}

/* Decodes the attack file's escapes: \xHH and \\. */
static char *
unescape_field(const char *s)
{
    struct buf b;
    buf_init(&b, 4096);
    for (size_t i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        if (c == '\\' && s[i + 1] == '\\') {
            i++;
        } else if (c == '\\' && s[i + 1] == 'x' && s[i + 2] && s[i + 3]) {
            char hex[3] = {s[i + 2], s[i + 3], '\0'};
            unsigned v = 0;
            for (int k = 0; k < 2; k++) {
                char h = hex[k];
                v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
            }
            c = (char)v;
            i += 3;
        }
        assert_int_equal(buf_append_byte(&b, c), 0);
    }
    return buf_take(&b);
}

static void
test_attack_list(void **state)
{
    (void)state;
    char *data = fixture_read_data("redirect_uri_attacks.txt", NULL);
    unsigned refused = 0;
    unsigned accepted = 0;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0') {
            continue;
        }
        char *verdict = line;
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = '\0';
        char *field = tab + 1;
        char *why = strchr(field, '\t');
        if (why != NULL) {
            *why++ = '\0';
        }
        char *uri = unescape_field(field);
        const char *reason = oauth_redirect_uri_check(uri);
        if (strcmp(verdict, "refuse") == 0) {
            if (reason == NULL) {
                fail_msg("attack accepted: %s", field);
            }
            /* A refused URI never matches a loopback registration either. */
            assert_false(oauth_redirect_uri_matches("http://127.0.0.1/cb", uri));
            assert_false(oauth_redirect_uri_matches("http://localhost/cb", uri));
            refused++;
        } else {
            assert_string_equal(verdict, "accept");
            if (why == NULL || why[0] == '\0') {
                fail_msg("accept row without a reason: %s", field);
            }
            if (reason != NULL) {
                fail_msg("accept row refused: %s (%s)", field, reason);
            }
            accepted++;
        }
        xfree(uri);
    }
    print_message("attack list: %u refused, %u accepted with reasons\n", refused, accepted);
    assert_true(refused >= 90);
    assert_true(accepted >= 10);
    xfree(data);
}

static void
test_kind_and_private_use(void **state)
{
    (void)state;
    assert_int_equal(oauth_redirect_uri_kind("https://app.example.com/cb"), OAUTH_REDIRECT_URI_WEB);
    assert_int_equal(oauth_redirect_uri_kind("https://www.cursor.com/agents/mcp/oauth/callback"),
                     OAUTH_REDIRECT_URI_WEB);
    assert_int_equal(oauth_redirect_uri_kind("http://localhost:8787/callback"),
                     OAUTH_REDIRECT_URI_LOOPBACK);
    assert_int_equal(oauth_redirect_uri_kind("http://127.0.0.1/"), OAUTH_REDIRECT_URI_LOOPBACK);
    assert_int_equal(oauth_redirect_uri_kind("http://[::1]:5/cb"), OAUTH_REDIRECT_URI_LOOPBACK);
    assert_int_equal(oauth_redirect_uri_kind("https://127.0.0.1/cb"), OAUTH_REDIRECT_URI_LOOPBACK);
    assert_int_equal(oauth_redirect_uri_kind("cursor://anysphere.cursor-mcp/oauth/callback"),
                     OAUTH_REDIRECT_URI_PRIVATE_USE);
    assert_int_equal(oauth_redirect_uri_kind("com.example.app:/cb"),
                     OAUTH_REDIRECT_URI_PRIVATE_USE);
    /* a private-use scheme whose authority is "localhost" is still an app's */
    assert_int_equal(oauth_redirect_uri_kind("myapp://localhost/cb"),
                     OAUTH_REDIRECT_URI_PRIVATE_USE);
    assert_false(oauth_redirect_uri_is_private_use("myapp://localhost/cb#x"));
    assert_false(oauth_redirect_uri_is_private_use("javascript:alert(1)"));
    assert_false(oauth_redirect_uri_is_private_use("JavaScript://x/%0aalert(1)"));
    assert_false(oauth_redirect_uri_is_private_use("https://app.example.com/cb"));
    assert_false(oauth_redirect_uri_is_private_use("http://127.0.0.1/cb"));
    assert_false(oauth_redirect_uri_is_private_use("no scheme"));
    assert_false(oauth_redirect_uri_is_private_use(""));
}

static void
test_is_loopback(void **state)
{
    (void)state;
    assert_true(oauth_redirect_uri_is_loopback("http://localhost/cb"));
    assert_true(oauth_redirect_uri_is_loopback("https://LOCALHOST./cb"));
    assert_true(oauth_redirect_uri_is_loopback("http://127.0.0.1:9/cb"));
    assert_true(oauth_redirect_uri_is_loopback("http://[::1]:9/cb"));
    assert_true(oauth_redirect_uri_is_loopback("http://[::ffff:127.0.0.1]/"));
    assert_false(oauth_redirect_uri_is_loopback("http://127.1/"));
    assert_false(oauth_redirect_uri_is_loopback("http://example.com/"));
    assert_false(oauth_redirect_uri_is_loopback("http://[::1%25lo]/"));
    assert_false(oauth_redirect_uri_is_loopback("not a uri"));
    /* userinfo does not change whose host it is, but is refused elsewhere */
    assert_false(oauth_redirect_uri_is_loopback("http://127.0.0.1@evil.com/"));
}

struct match_row {
    const char *registered;
    const char *requested;
    bool matches;
};

static const struct match_row match_rows[] = {
    /* 1. byte-exact, loopback or not */
    {"https://app.example.com/cb", "https://app.example.com/cb", true},
    {"http://127.0.0.1:8080/cb", "http://127.0.0.1:8080/cb", true},
    /* 2. loopback: any port (RFC 8252 7.3) */
    {"http://127.0.0.1:1111/cb", "http://127.0.0.1:2222/cb", true},
    {"http://127.0.0.1/cb", "http://127.0.0.1:54321/cb", true},
    {"http://[::1]:1/cb", "http://[::1]:2/cb", true},
    {"http://localhost/cb", "http://localhost:8080/cb", true},
    {"http://localhost./cb", "http://localhost:8080/cb", true},
    {"http://LOCALHOST/cb", "http://localhost:9/cb", true},
    {"HTTP://127.0.0.1/cb", "http://127.0.0.1:5/cb", true},
    {"http://127.0.0.1/cb?x=1", "http://127.0.0.1:5/cb?x=1", true},
    {"http://127.0.0.1", "http://127.0.0.1:5", true},
    /* every other part must be equal */
    {"http://127.0.0.1/cb", "http://127.0.0.1:5/other", false},
    {"http://127.0.0.1/a/b", "http://127.0.0.1:5/a%2Fb", false},
    {"http://127.0.0.1/cb", "http://127.0.0.1:5/cb/", false},
    {"http://127.0.0.1/cb", "http://127.0.0.1:5/CB", false},
    {"http://127.0.0.1/cb?x=1", "http://127.0.0.1:5/cb?x=2", false},
    {"http://127.0.0.1/cb", "http://127.0.0.1:5/cb?x=1", false},
    {"http://127.0.0.1/cb", "http://127.0.0.1:5/cb?", false},
    {"http://127.0.0.1/cb", "http://u@127.0.0.1:5/cb", false},
    {"http://127.0.0.1/cb", "http://:@127.0.0.1:5/cb", false},
    {"http://127.0.0.1/cb", "http://127.0.0.1:5/cb#x", false},
    {"http://127.0.0.1/cb", "http://127.0.0.1:5/cb#", false},
    {"http://127.0.0.1/cb", "http://localhost:5/cb", false},
    {"http://127.0.0.1/cb", "http://127.0.0.2:5/cb", false},
    {"http://127.0.0.1/cb", "http://[::1]:5/cb", false},
    {"http://[::1]/cb", "http://[0:0:0:0:0:0:0:1]:5/cb", false},
    {"http://127.0.0.1/cb", "https://127.0.0.1:5/cb", false},
    /* https on loopback: exact only (RFC 8252 7.3 speaks of http) */
    {"https://127.0.0.1/cb", "https://127.0.0.1:5/cb", false},
    {"https://localhost:8443/cb", "https://localhost:8444/cb", false},
    {"https://[::1]/cb", "https://[::1]:5/cb", false},
    /* private-use: byte for byte */
    {"cursor://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp/oauth/callback",
     true},
    {"cursor://anysphere.cursor-mcp/oauth/callback", "CURSOR://anysphere.cursor-mcp/oauth/callback",
     false},
    {"cursor://anysphere.cursor-mcp/oauth/callback",
     "cursor://anysphere.cursor-mcp:5/oauth/callback", false},
    {"cursor://localhost/cb", "cursor://localhost:5/cb", false},
    {"com.example.app:/cb", "com.example.app:/cb/", false},
    /* the real clients' shapes: VS Code's portless loopback, Claude Code's
     * and Codex's CIMD ones, on an ephemeral port */
    {"http://127.0.0.1/", "http://127.0.0.1:33418/", true},
    {"http://127.0.0.1/", "http://127.0.0.1:33418/x", false},
    {"http://localhost/callback", "http://localhost:61234/callback", true},
    {"http://localhost/callback", "http://localhost:61234/callback/", false},
    {"http://127.0.0.1/callback", "http://127.0.0.1:1455/callback", true},
    {"http://[::1]/callback", "http://[::1]:1455/callback", true},
    {"http://[::1]/callback", "http://[::1]:1455/cb", false},
    {"http://localhost:8787/callback", "http://localhost:9999/callback", true},
    {"http://127.0.0.1/cb", "http://127.1:5/cb", false},
    {"http://127.0.0.1/cb", "http://127.0.0.1@evil.com/cb", false},
    /* non-loopback: no relaxation at all */
    {"https://app.example.com/cb", "https://app.example.com:8443/cb", false},
    {"https://app.example.com/cb", "https://app.example.com:443/cb", false},
    {"https://app.example.com/cb", "https://APP.example.com/cb", false},
    {"http://127.0.0.1/cb", "http://example.com:5/cb", false},
    {"http://example.com/cb", "http://127.0.0.1:5/cb", false},
    /* unparseable */
    {"http://127.0.0.1/cb", "http://127.0.0.1:99999/cb", false},
    {"http://127.0.0.1/cb", "", false},
};

static void
test_match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(match_rows) / sizeof(match_rows[0]); i++) {
        const struct match_row *r = &match_rows[i];
        if (oauth_redirect_uri_matches(r->registered, r->requested) != r->matches) {
            fail_msg("row %zu: %s vs %s should %smatch", i, r->registered, r->requested,
                     r->matches ? "" : "not ");
        }
    }
}

struct build_row {
    const char *uri;
    struct oauth_param params[5];
    const char *expected; /* NULL = unparseable */
};

static const struct build_row build_rows[] = {
    /* SPEC.md 3.5 step 10's deny redirect */
    {"https://app.example.com/cb",
     {{"error", "access_denied"},
      {"error_description", "user declined to authorize this client"},
      {"state", "xyz"},
      {"iss", FIXTURE_BASE}},
     "https://app.example.com/cb?error=access_denied&error_description=user+declined+to+"
     "authorize+this+client&iss=https%3A%2F%2Fauth.example.com&state=xyz"},
    /* 3.7 step 20's success redirect */
    {"http://127.0.0.1:53682/callback",
     {{"code", "sealed.code-_~"}, {"state", "s t"}, {"iss", FIXTURE_BASE}},
     "http://127.0.0.1:53682/callback?code=sealed.code-_~&iss=https%3A%2F%2Fauth.example.com"
     "&state=s+t"},
    /* existing query kept, re-encoded and sorted; same-name order kept;
     * fragment dropped */
    {"https://app.example.com/cb?z=1&a=2&a=1&m=x%20y#frag",
     {{"error", "e"}},
     "https://app.example.com/cb?a=2&a=1&error=e&m=x+y&z=1"},
    /* set overwrites every existing value of that name */
    {"https://app.example.com/cb?state=old&error=x&error=y",
     {{"error", "access_denied"}, {"state", "new"}},
     "https://app.example.com/cb?error=access_denied&state=new"},
    /* empty or NULL values are not set: the existing state survives */
    {"https://app.example.com/cb?state=keep",
     {{"error", "invalid_request"}, {"error_description", ""}, {"state", NULL}},
     "https://app.example.com/cb?error=invalid_request&state=keep"},
    /* malformed pairs of the existing query are dropped */
    {"https://app.example.com/cb?a=%zz&b;c=1&d=4&e=%00",
     {{"iss", "i"}},
     "https://app.example.com/cb?d=4&iss=i"},
    /* a later duplicate parameter wins */
    {"https://app.example.com/cb",
     {{"state", "first"}, {"state", "second"}},
     "https://app.example.com/cb?state=second"},
    /* bare '?' and empty query */
    {"https://app.example.com/cb?", {{"iss", "i"}}, "https://app.example.com/cb?iss=i"},
    {"https://app.example.com?", {{"iss", "i"}}, "https://app.example.com?iss=i"},
    /* non-ASCII bytes of the path escaped (Location must be ASCII) */
    {"https://app.example.com/caf\xc3\xa9",
     {{"iss", "i"}},
     "https://app.example.com/caf%C3%A9?iss=i"},
    /* escaping of values: only A-Za-z0-9-_.~ stay */
    {"https://app.example.com/cb",
     {{"state", "a+b/c?d&e=f;g<h>\""}},
     "https://app.example.com/cb?state=a%2Bb%2Fc%3Fd%26e%3Df%3Bg%3Ch%3E%22"},
    /* no parameters and no query: the URL as written minus the fragment */
    {"https://app.example.com/cb#x", {{NULL, NULL}}, "https://app.example.com/cb"},
    /* unparseable: fall back to JSON */
    {"not a uri", {{"error", "e"}}, NULL},
    {"javascript:alert(1)", {{"error", "e"}}, NULL},
    {"data:,x", {{"error", "e"}}, NULL},
    /* private-use schemes (RFC 8252 7.1), with and without an authority */
    {"cursor://anysphere.cursor-mcp/oauth/callback",
     {{"code", "c"}, {"state", "s"}, {"iss", FIXTURE_BASE}},
     "cursor://anysphere.cursor-mcp/oauth/callback?code=c&iss=https%3A%2F%2Fauth.example.com"
     "&state=s"},
    {"com.example.app:/cb?z=1",
     {{"error", "access_denied"}},
     "com.example.app:/cb?error=access_denied&z=1"},
    /* a private-use URI refused at registration is not built either */
    {"cursor://anysphere.cursor-mcp/a b", {{"error", "e"}}, NULL},
    /* parses, but not once the zone id's non-ASCII bytes are escaped */
    {"https://[::1%25do*\xff\xff\xff\xff\xff]/cb", {{"error", "e"}}, NULL},
};

static size_t
param_count(const struct oauth_param *p)
{
    size_t n = 0;
    while (n < 5 && p[n].name != NULL) {
        n++;
    }
    return n;
}

static void
test_with_params_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(build_rows) / sizeof(build_rows[0]); i++) {
        const struct build_row *r = &build_rows[i];
        struct buf out;
        buf_init(&out, 8192);
        enum oauth_redirect_uri_rc rc =
            oauth_redirect_uri_with_params(r->uri, r->params, param_count(r->params), &out);
        if (r->expected == NULL) {
            assert_int_equal(rc, OAUTH_REDIRECT_URI_ERR_UNPARSEABLE);
            assert_int_equal(out.len, 0);
        } else {
            assert_int_equal(rc, OAUTH_REDIRECT_URI_OK);
            assert_string_equal(buf_cstr(&out), r->expected);
            /* the result is itself a valid URL without a fragment, or a
             * private-use URI that passes its own rules */
            if (oauth_redirect_uri_is_private_use(r->uri)) {
                assert_true(oauth_redirect_uri_is_private_use(buf_cstr(&out)));
            } else {
                struct url u;
                assert_int_equal(url_parse(buf_cstr(&out), &u), URL_OK);
                assert_false(u.has_fragment);
                url_cleanup(&u);
            }
        }
        buf_cleanup(&out);
    }
}

static void
test_with_params_appends_and_caps(void **state)
{
    (void)state;
    const struct oauth_param p[] = {{"error", "access_denied"}};
    struct buf out;
    buf_init(&out, 47); /* exactly the first result */
    assert_int_equal(buf_append_str(&out, "prefix "), 0);
    assert_int_equal(oauth_redirect_uri_with_params("https://a.example/cb", p, 1, &out),
                     OAUTH_REDIRECT_URI_OK);
    assert_string_equal(buf_cstr(&out), "prefix https://a.example/cb?error=access_denied");
    /* does not fit: TOO_LONG and the buffer is unchanged */
    assert_int_equal(oauth_redirect_uri_with_params("https://a.example/cb", p, 1, &out),
                     OAUTH_REDIRECT_URI_ERR_TOO_LONG);
    assert_string_equal(buf_cstr(&out), "prefix https://a.example/cb?error=access_denied");
    buf_cleanup(&out);
    assert_string_equal(oauth_redirect_uri_rc_str(OAUTH_REDIRECT_URI_ERR_TOO_LONG), "too_long");
    assert_string_equal(oauth_redirect_uri_rc_str(OAUTH_REDIRECT_URI_RC_COUNT), "unknown");
}

/* The state a client sent comes back exactly, whatever its bytes. */
static void
test_with_params_state_round_trip(void **state)
{
    (void)state;
    const char *client_state = "a b+c&d=e;f%g\xe2\x80\x94\x01~";
    const struct oauth_param p[] = {{"state", client_state}, {"iss", FIXTURE_BASE}};
    struct buf out;
    buf_init(&out, 4096);
    assert_int_equal(oauth_redirect_uri_with_params("https://a.example/cb?x=1", p, 2, &out),
                     OAUTH_REDIRECT_URI_OK);
    const char *q = strchr(buf_cstr(&out), '?') + 1;
    struct form_params params;
    assert_int_equal(
        form_parse(slice_from_cstr(q), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &params), FORM_OK);
    size_t count = 0;
    assert_string_equal(form_params_get(&params, "state", &count), client_state);
    assert_int_equal(count, 1);
    assert_string_equal(form_params_get(&params, "iss", NULL), FIXTURE_BASE);
    assert_string_equal(form_params_get(&params, "x", NULL), "1");
    form_params_cleanup(&params);
    buf_cleanup(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_table),
        cmocka_unit_test(test_check_length_boundary),
        cmocka_unit_test(test_attack_list),
        cmocka_unit_test(test_is_loopback),
        cmocka_unit_test(test_kind_and_private_use),
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_with_params_table),
        cmocka_unit_test(test_with_params_appends_and_caps),
        cmocka_unit_test(test_with_params_state_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
