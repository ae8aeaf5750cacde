/* oauth/page: the consent page checklist of SPEC.md 3.4, the interstitial
 * of 3.6, and HTML escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "fixtures.h"
#include "oauth/page.h"

#define PAGE_MAX (256 * 1024)

static const struct oauth_consent_page base_page = {
    .client_name = "Claude",
    .resource_name = "Acme Tools",
    .redirect_display = "claude.ai",
    .resource_uri = FIXTURE_BASE "/mcp",
    .form_action = FIXTURE_BASE "/consent",
    .consent_token = "sealed.consent-token_value",
    .replay_notice = false,
};

static char *
render(const struct oauth_consent_page *p)
{
    struct buf b;
    buf_init(&b, PAGE_MAX);
    assert_int_equal(oauth_page_consent(p, &b), 0);
    return buf_take(&b);
}

static void
assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        fail_msg("missing: %s", needle);
    }
}

static void
assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle) != NULL) {
        fail_msg("unexpected: %s", needle);
    }
}

/* Every tag in the page is one we write, and no tag carries an event
 * handler, a src or a javascript: URL. Escaped input shows up only as text
 * (it has no raw '<'), so this also proves the escaping. */
static void
assert_only_our_tags(const char *html)
{
    static const char *const allowed[] = {
        "!DOCTYPE", "html", "head", "meta", "title", "style", "body",  "main", "h1",     "p",
        "strong",   "bdi",  "dl",   "dt",   "dd",    "form",  "input", "div",  "button", "a",
    };
    for (const char *p = strchr(html, '<'); p != NULL; p = strchr(p + 1, '<')) {
        const char *name = p[1] == '/' ? p + 2 : p + 1;
        size_t len = strcspn(name, " >");
        bool known = false;
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
            known = known || (strlen(allowed[i]) == len && strncmp(name, allowed[i], len) == 0);
        }
        if (!known) {
            fail_msg("unexpected tag at: %.20s", p);
        }
        const char *end = strchr(p, '>');
        assert_non_null(end);
        /* attribute names only: blank out quoted values (escaped, so they
         * hold no raw '"') */
        char *tag = xstrndup(p, (size_t)(end - p));
        bool quoted = false;
        for (char *c = tag; *c != '\0'; c++) {
            if (*c == '"') {
                quoted = !quoted;
            } else if (quoted) {
                *c = 'x';
            }
        }
        assert_false(quoted);
        if (strstr(tag, " on") != NULL || strstr(tag, " src") != NULL ||
            strstr(tag, "javascript:") != NULL) {
            fail_msg("active attribute in: %s", tag);
        }
        xfree(tag);
    }
}

/* Nothing executable or external, on any page. */
static void
assert_inert(const char *html)
{
    assert_only_our_tags(html);
    assert_lacks(html, "<script");
    assert_lacks(html, "<link");
    assert_lacks(html, "@import");
    assert_lacks(html, "url(");
    assert_contains(html, "<meta name=\"referrer\" content=\"");
    assert_contains(html, "<style>");
    assert_contains(html, "<!DOCTYPE html>");
}

static void
test_consent_checklist(void **state)
{
    (void)state;
    char *html = render(&base_page);
    assert_inert(html);
    /* Not no-referrer: under it the page's own POST carries Origin: null,
     * which POST /consent refuses (page.h). Nothing leaves for another
     * origin under same-origin either. */
    assert_contains(html, "<meta name=\"referrer\" content=\"same-origin\">");
    assert_contains(html, "<html lang=\"en\">");
    assert_contains(html, "name=\"viewport\"");
    assert_contains(html, "<h1>Authorize this MCP client?</h1>");
    assert_contains(html, "Claude");
    assert_contains(html, "Acme Tools");
    assert_contains(html, "claude.ai");
    assert_contains(html, "Will redirect to");
    assert_contains(html, "identity provider");
    assert_contains(html, "<form method=\"POST\" action=\"https://auth.example.com/consent\"");
    assert_contains(html, "<input type=\"hidden\" name=\"consent_token\" "
                          "value=\"sealed.consent-token_value\">");
    assert_contains(html, "name=\"consent_token\"");
    assert_contains(html, "value=\"approve\"");
    assert_contains(html, "value=\"deny\"");
    assert_contains(html, "Approve &amp; sign in");
    /* Deny first, so Enter denies */
    assert_true(strstr(html, "value=\"deny\"") < strstr(html, "value=\"approve\""));
    /* with a resource name, the URI is not shown and there is no notice */
    assert_lacks(html, "https://auth.example.com/mcp");
    assert_lacks(html, "already processed");
    assert_lacks(html, "unnamed");
    /* a website redirect gets no local-app note */
    assert_lacks(html, "on this computer");
    xfree(html);
}

/* A metadata-document client: the publishing host is shown before the
 * redirect, escaped; a loopback redirect adds the warning that the host
 * cannot vouch for the local app; a web redirect does not. */
static void
test_consent_document_host(void **state)
{
    (void)state;
    struct oauth_consent_page p = base_page;
    p.document_host = "claude.ai";
    p.redirect_display = "claude.ai";
    p.redirect_kind = OAUTH_REDIRECT_URI_WEB;
    char *html = render(&p);
    assert_inert(html);
    assert_contains(html, "<dt>Client published by</dt>\n<dd><strong id=\"client-host\">claude.ai"
                          "</strong></dd>");
    assert_lacks(html, "local-redirect-warning");
    xfree(html);
    p.document_host = "<i>evil</i>.example";
    p.redirect_display = "127.0.0.1:33418";
    p.redirect_kind = OAUTH_REDIRECT_URI_LOOPBACK;
    html = render(&p);
    assert_inert(html);
    assert_contains(html, "id=\"client-host\">&lt;i&gt;evil&lt;/i&gt;.example</strong>");
    assert_contains(html, "id=\"local-redirect-warning\"");
    assert_contains(html, "cannot vouch for the app that receives this login");
    xfree(html);
    p.document_host = NULL;
    html = render(&p);
    assert_lacks(html, "client-host");
    assert_lacks(html, "local-redirect-warning");
    xfree(html);
}

/* A login to a private-use scheme or a loopback listener goes to an app on
 * this computer, and the page says which (issue 11 item 2). */
static void
test_consent_local_app_notes(void **state)
{
    (void)state;
    struct oauth_consent_page p = base_page;
    p.redirect_display = "cursor://";
    p.redirect_kind = OAUTH_REDIRECT_URI_PRIVATE_USE;
    char *html = render(&p);
    assert_inert(html);
    assert_contains(html, "<dd>cursor://</dd>");
    assert_contains(html, "The login goes to the app registered for <strong>cursor://</strong> on "
                          "this computer, not to a website.");
    xfree(html);
    p.redirect_display = "127.0.0.1:8787";
    p.redirect_kind = OAUTH_REDIRECT_URI_LOOPBACK;
    html = render(&p);
    assert_inert(html);
    assert_contains(html, "The login goes to an app on this computer (listening on "
                          "<strong>127.0.0.1:8787</strong>), not to a website.");
    assert_lacks(html, "app registered for");
    xfree(html);
    /* the display is escaped in the note too */
    p.redirect_display = "<b>x:";
    p.redirect_kind = OAUTH_REDIRECT_URI_PRIVATE_USE;
    html = render(&p);
    assert_inert(html);
    assert_contains(html, "<strong>&lt;b&gt;x:</strong>");
    xfree(html);
}

static void
test_consent_without_resource_name(void **state)
{
    (void)state;
    struct oauth_consent_page p = base_page;
    p.resource_name = NULL;
    char *html = render(&p);
    assert_contains(html, "is requesting access to this MCP service.");
    assert_contains(html, "<dt>Resource</dt>");
    assert_contains(html, "https://auth.example.com/mcp");
    xfree(html);
    p.resource_name = "";
    html = render(&p);
    assert_contains(html, "https://auth.example.com/mcp");
    xfree(html);
}

static void
test_consent_unnamed_client(void **state)
{
    (void)state;
    struct oauth_consent_page p = base_page;
    p.client_name = "";
    char *html = render(&p);
    assert_contains(html, "An unnamed MCP client is requesting access to");
    assert_contains(html, "did not register a name");
    xfree(html);
    p.client_name = NULL;
    html = render(&p);
    assert_contains(html, "An unnamed MCP client");
    xfree(html);
}

static void
test_consent_replay_notice(void **state)
{
    (void)state;
    struct oauth_consent_page p = base_page;
    p.replay_notice = true;
    char *html = render(&p);
    assert_contains(html, "already processed");
    assert_contains(html, "role=\"status\"");
    xfree(html);
}

/* SPEC.md 3.4: all dynamic values escaped, tested with an XSS client name. */
static void
test_consent_escapes_everything(void **state)
{
    (void)state;
    struct oauth_consent_page p = {
        .client_name = "<script>alert(1)</script>",
        .resource_name = "<img src=x onerror=alert(2)>",
        .redirect_display = "\"><script>alert(3)</script>",
        .resource_uri = "<b>",
        .form_action = "https://auth.example.com/consent\"><script>",
        .consent_token = "tok\" onfocus=\"alert(4)",
        .replay_notice = false,
    };
    char *html = render(&p);
    assert_inert(html);
    assert_contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;");
    assert_contains(html, "&lt;img src=x onerror=alert(2)&gt;");
    assert_contains(html, "&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;");
    assert_contains(html, "value=\"tok&quot; onfocus=&quot;alert(4)\"");
    assert_lacks(html, "<img");
    assert_lacks(html, "<b>");
    xfree(html);
}

static void
test_consent_bidi_isolated(void **state)
{
    (void)state;
    struct oauth_consent_page p = base_page;
    p.client_name = "\xe2\x80\xae"
                    "evil"; /* U+202E RIGHT-TO-LEFT OVERRIDE */
    char *html = render(&p);
    assert_contains(html, "<bdi>\xe2\x80\xae"
                          "evil</bdi>");
    xfree(html);
}

static void
test_consent_refuses_missing_form_values_and_cap(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, PAGE_MAX);
    struct oauth_consent_page p = base_page;
    p.consent_token = NULL;
    assert_int_equal(oauth_page_consent(&p, &b), -1);
    p = base_page;
    p.form_action = NULL;
    assert_int_equal(oauth_page_consent(&p, &b), -1);
    buf_cleanup(&b);
    buf_init(&b, 512);
    assert_int_equal(oauth_page_consent(&base_page, &b), -1);
    buf_cleanup(&b);
}

static void
test_csp_constants(void **state)
{
    (void)state;
    static const char *const required[] = {
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "style-src 'unsafe-inline'",
    };
    for (size_t i = 0; i < 4; i++) {
        assert_contains(OAUTH_PAGE_CONSENT_CSP, required[i]);
        assert_contains(OAUTH_PAGE_INTERSTITIAL_CSP, required[i]);
    }
    assert_contains(OAUTH_PAGE_CONSENT_CSP, "form-action 'self'");
    assert_contains(OAUTH_PAGE_INTERSTITIAL_CSP, "form-action 'none'");
    assert_lacks(OAUTH_PAGE_CONSENT_CSP, "script-src");
    assert_lacks(OAUTH_PAGE_INTERSTITIAL_CSP, "script-src");
    assert_string_equal(OAUTH_PAGE_CONSENT_CSP,
                        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                        "frame-ancestors 'none'; base-uri 'none'");
    assert_string_equal(OAUTH_PAGE_INTERSTITIAL_CSP,
                        "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; "
                        "frame-ancestors 'none'; base-uri 'none'");
}

static void
test_html_escape(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(oauth_page_html_escape(SLICE_LIT("a&b<c>d\"e'f\x01g\x7fh\ti\xc3\xa9"), &b), 0);
    assert_string_equal(buf_cstr(&b),
                        "a&amp;b&lt;c&gt;d&quot;e&#39;f&#xFFFD;g&#xFFFD;h&#xFFFD;i\xc3\xa9");
    buf_cleanup(&b);
    buf_init(&b, 3);
    assert_int_equal(oauth_page_html_escape(SLICE_LIT("&"), &b), -1);
    buf_cleanup(&b);
}

static void
test_redirect_display(void **state)
{
    (void)state;
    static const char *const rows[][2] = {
        {"https://claude.ai/api/mcp/auth_callback", "claude.ai"},
        {"https://app.example.com:8443/cb?x=1", "app.example.com:8443"},
        {"http://127.0.0.1:53682/callback", "127.0.0.1:53682"},
        {"http://[::1]:3000/cb", "[::1]:3000"},
        {"http://localhost/cb", "localhost"},
        /* private-use schemes: the scheme, never the host (an app's text) */
        {"cursor://anysphere.cursor-mcp/oauth/callback", "cursor://"},
        {"vscode://evil.example.com/cb", "vscode://"},
        {"com.example.app:/oauth2redirect", "com.example.app:"},
        {"not a uri", "not a uri"},
        {"https:///cb", "https:///cb"},
        /* Internationalized hosts: the A-label the browser looks up first,
         * the Unicode form beside it and marked. */
        {"https://\xd0\xb0\xd1\x80\xd1\x80\xd3\x8f\xd0\xb5.com/cb",
         "xn--80ak6aa92e.com (Unicode: \xd0\xb0\xd1\x80\xd1\x80\xd3\x8f\xd0\xb5.com)"},
        {"https://xn--80ak6aa92e.com:8443/cb",
         "xn--80ak6aa92e.com:8443 (Unicode: \xd0\xb0\xd1\x80\xd1\x80\xd3\x8f\xd0\xb5.com)"},
        {"https://B\xc3\xbc"
         "cher.example/cb",
         "xn--bcher-kva.example (Unicode: b\xc3\xbc"
         "cher.example)"},
        /* Registered before the rule: never shown as "apple.com". */
        {"https://\xd0\xb0pple.com/cb", "xn--pple-43d.com (mixed-script name)"},
        {"https://\xff\xfe.com/cb", "%FF%FE.com"},
        /* Full-width letters map to the ASCII name they stand for. */
        {"https://\xef\xbd\x87\xef\xbd\x8f\xef\xbd\x8f\xef\xbd\x84.com/cb", "good.com"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct buf b;
        buf_init(&b, 1024);
        assert_int_equal(oauth_page_redirect_display(rows[i][0], &b), 0);
        assert_string_equal(buf_cstr(&b), rows[i][1]);
        buf_cleanup(&b);
    }
}

/* The text between `start` and the next '"' after it. */
static char *
attr_after(const char *html, const char *start)
{
    const char *p = strstr(html, start);
    assert_non_null(p);
    p += strlen(start);
    const char *end = strchr(p, '"');
    assert_non_null(end);
    return xstrndup(p, (size_t)(end - p));
}

static char *
html_unescape(const char *s)
{
    static const char *const ents[][2] = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"},
    };
    struct buf b;
    buf_init(&b, 8192);
    while (*s != '\0') {
        size_t k = 0;
        for (; k < 5; k++) {
            if (strncmp(s, ents[k][0], strlen(ents[k][0])) == 0) {
                break;
            }
        }
        if (k < 5) {
            assert_int_equal(buf_append_str(&b, ents[k][1]), 0);
            s += strlen(ents[k][0]);
        } else {
            assert_int_equal(buf_append_byte(&b, *s++), 0);
        }
    }
    return buf_take(&b);
}

static void
test_interstitial(void **state)
{
    (void)state;
    const char *target = "https://app.example.com/cb?error=access_denied&error_description="
                         "user+declined&iss=https%3A%2F%2Fauth.example.com&state=a'b";
    struct buf b;
    buf_init(&b, PAGE_MAX);
    assert_int_equal(oauth_page_interstitial(target, &b), 0);
    const char *html = buf_cstr(&b);
    assert_inert(html);
    assert_contains(html, "<meta name=\"referrer\" content=\"no-referrer\">");
    assert_lacks(html, "<form");
    assert_contains(html, "Continuing\xe2\x80\xa6");
    char *meta = attr_after(html, "<meta http-equiv=\"refresh\" content=\"0;url=");
    char *href = attr_after(html, "<a href=\"");
    assert_string_equal(meta, href);
    assert_contains(meta, "&amp;error_description=");
    assert_contains(meta, "state=a&#39;b");
    char *plain = html_unescape(meta);
    assert_string_equal(plain, target);
    struct url u;
    assert_int_equal(url_parse(plain, &u), URL_OK);
    url_cleanup(&u);
    xfree(plain);
    xfree(meta);
    xfree(href);
    buf_cleanup(&b);
}

static void
test_interstitial_refuses_non_http_targets(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "JAVASCRIPT://x/%0a",
        "not a url",
        "",
        "ftp://files.example.com/",
        "//evil.com/",
        "vbscript:msgbox(1)",
        "Data:,x",
        "blob:https://app.example.com/x",
        "about:blank",
        "file:///etc/passwd",
        "cursor://anysphere.cursor-mcp/cb#frag",
        "cursor://anysphere.cursor-mcp/\"><x>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf b;
        buf_init(&b, PAGE_MAX);
        assert_int_equal(oauth_page_interstitial(bad[i], &b), -1);
        assert_int_equal(b.len, 0);
        buf_cleanup(&b);
    }
    struct buf b;
    buf_init(&b, PAGE_MAX);
    assert_int_equal(oauth_page_interstitial(NULL, &b), -1);
    assert_int_equal(oauth_page_interstitial("http://127.0.0.1:8080/cb?code=x", &b), 0);
    buf_reset(&b);
    /* a native app's private-use redirect (RFC 8252 7.1) */
    assert_int_equal(oauth_page_interstitial(
                         "cursor://anysphere.cursor-mcp/oauth/callback?error=access_denied", &b),
                     0);
    assert_contains(buf_cstr(&b), "url=cursor://anysphere.cursor-mcp/oauth/callback?error="
                                  "access_denied\"");
    buf_reset(&b);
    assert_int_equal(oauth_page_interstitial("com.example.app:/cb?error=access_denied", &b), 0);
    buf_cleanup(&b);
    buf_init(&b, 200);
    assert_int_equal(oauth_page_interstitial("https://idp.example.com/auth", &b), -1);
    buf_cleanup(&b);
}

/* The refusal page of a request from another browser: fixed text saying
 * what happened and what to do, nothing to click, nothing to submit, no
 * referrer, and it fits the flow's page cap with room to spare. */
static void
test_refused(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, PAGE_MAX);
    assert_int_equal(oauth_page_refused(&b), 0);
    const char *html = buf_cstr(&b);
    assert_inert(html);
    assert_contains(html, "<meta name=\"referrer\" content=\"no-referrer\">");
    assert_lacks(html, "<form");
    assert_lacks(html, "<a ");
    assert_lacks(html, "http-equiv");
    assert_contains(html, "<title>Sign-in stopped</title>");
    assert_contains(html, "can only be completed in the browser where it was started");
    assert_contains(html, "nothing was shared");
    assert_contains(html, "start the sign-in again");
    buf_cleanup(&b);
    buf_init(&b, 64);
    assert_int_equal(oauth_page_refused(&b), -1);
    buf_cleanup(&b);
    assert_string_equal(OAUTH_PAGE_REFUSED_CSP, OAUTH_PAGE_INTERSTITIAL_CSP);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_consent_checklist),
        cmocka_unit_test(test_consent_without_resource_name),
        cmocka_unit_test(test_consent_unnamed_client),
        cmocka_unit_test(test_consent_local_app_notes),
        cmocka_unit_test(test_consent_replay_notice),
        cmocka_unit_test(test_consent_escapes_everything),
        cmocka_unit_test(test_consent_bidi_isolated),
        cmocka_unit_test(test_consent_refuses_missing_form_values_and_cap),
        cmocka_unit_test(test_csp_constants),
        cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_redirect_display),
        cmocka_unit_test(test_consent_document_host),
        cmocka_unit_test(test_interstitial),
        cmocka_unit_test(test_interstitial_refuses_non_http_targets),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
