#include "oauth/page.h"

#include <string.h>

#include "base/idn.h"
#include "base/url.h"
#include "base/xalloc.h"

/* Shared by both pages. Colours meet WCAG AA contrast in light and dark
 * schemes; buttons are at least 44px tall for touch; nothing is loaded from
 * elsewhere (CSP default-src 'none'). */
static const char page_style[] =
    ":root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--text:#1b1d21;"
    "--muted:#555c68;--line:#d5d9e0;--accent:#1d4ed8;--on-accent:#fff;"
    "--note-bg:#fff7db;--note-line:#d4a500}"
    "@media (prefers-color-scheme:dark){:root{--bg:#131417;--card:#1d1f24;"
    "--text:#e9eaee;--muted:#a6acb8;--line:#3a3e46;--accent:#7aa2ff;"
    "--on-accent:#0c1326;--note-bg:#3a3015;--note-line:#b58c00}}"
    "*{box-sizing:border-box}"
    "body{margin:0;min-height:100vh;display:flex;align-items:center;"
    "justify-content:center;padding:24px 16px;background:var(--bg);color:var(--text);"
    "font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\","
    "Arial,sans-serif}"
    "main{width:100%;max-width:460px;background:var(--card);border:1px solid var(--line);"
    "border-radius:12px;padding:28px 24px;box-shadow:0 1px 3px rgba(0,0,0,.08)}"
    "h1{font-size:1.375rem;line-height:1.3;margin:0 0 16px}"
    "p{margin:0 0 16px}"
    "a{color:var(--accent)}";

static const char consent_style[] =
    ".note{padding:10px 12px;border-left:4px solid var(--note-line);"
    "background:var(--note-bg);border-radius:6px}"
    "dl{margin:0 0 16px;padding:12px 14px;border:1px solid var(--line);border-radius:8px}"
    "dt{font-size:.8125rem;color:var(--muted)}"
    "dd{margin:0 0 8px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
    "font-size:.875rem;overflow-wrap:anywhere}"
    "dd:last-child{margin-bottom:0}"
    ".hint{font-size:.9375rem;color:var(--muted)}"
    ".actions{display:flex;flex-wrap:wrap;gap:12px;margin-top:20px}"
    "button{flex:1 1 150px;min-height:44px;padding:10px 16px;font:inherit;"
    "font-weight:600;border-radius:8px;border:1px solid var(--line);"
    "background:transparent;color:var(--text);cursor:pointer}"
    "button.approve{background:var(--accent);border-color:var(--accent);"
    "color:var(--on-accent)}"
    "button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}";

/* Renders a page as a chain of appends; the first failure sticks and the
 * rest become no-ops, so the page text reads top to bottom. */
struct writer {
    struct buf *out;
    int rc;
};

static void
put(struct writer *w, const char *text)
{
    if (w->rc == 0) {
        w->rc = buf_append_str(w->out, text);
    }
}

/* Escaped text; NULL renders as nothing. */
static void
put_esc(struct writer *w, const char *text)
{
    if (w->rc == 0 && text != NULL) {
        w->rc = oauth_page_html_escape(slice_from_cstr(text), w->out);
    }
}

int
oauth_page_html_escape(struct slice in, struct buf *out)
{
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.ptr[i];
        int rc;
        switch (c) {
        case '&':
            rc = buf_append_str(out, "&amp;");
            break;
        case '<':
            rc = buf_append_str(out, "&lt;");
            break;
        case '>':
            rc = buf_append_str(out, "&gt;");
            break;
        case '"':
            rc = buf_append_str(out, "&quot;");
            break;
        case '\'':
            rc = buf_append_str(out, "&#39;");
            break;
        default:
            /* A control byte is never meaningful in these values; make it
             * visible instead of passing it to the parser. */
            rc = c < 0x20 || c == 0x7f ? buf_append_str(out, "&#xFFFD;")
                                       : buf_append_byte(out, (char)c);
            break;
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

/* "cursor://" or "com.example.app:": the operating system hands the URI
 * to whichever app registered that scheme (the consent page says so). */
static int
append_private_use_display(const char *redirect_uri, struct buf *out)
{
    size_t scheme_len = strcspn(redirect_uri, ":");
    bool slashes = strncmp(redirect_uri + scheme_len, "://", 3) == 0;
    if (buf_append_slice(out, slice_make(redirect_uri, scheme_len)) != 0) {
        return -1;
    }
    return buf_append_str(out, slashes ? "://" : ":");
}

int
oauth_page_redirect_display(const char *redirect_uri, struct buf *out)
{
    if (oauth_redirect_uri_is_private_use(redirect_uri)) {
        return append_private_use_display(redirect_uri, out);
    }
    struct url u;
    if (url_parse(redirect_uri, &u) != URL_OK) {
        return buf_append_str(out, redirect_uri);
    }
    /* A non-ASCII or "xn--" name is shown by its A-label, the name the
     * browser looks up, so "\u0430pple.com" cannot pass for apple.com; the
     * Unicode form follows, marked, only when its scripts do not mix. A
     * name that does not convert (registered before the rule) shows its
     * non-ASCII bytes as %HH. */
    char *ascii = NULL;
    char *unicode = NULL;
    enum idn_rc idn = u.host[0] == '[' ? IDN_ASCII : idn_host_parse(u.host, &ascii, &unicode);
    int rc = 0;
    if (idn == IDN_OK || idn == IDN_ERR_MIXED_SCRIPT) {
        rc = buf_append_str(out, ascii);
    } else {
        for (const unsigned char *p = (const unsigned char *)u.host; rc == 0 && *p != '\0'; p++) {
            rc = *p < 0x80 ? buf_append_byte(out, (char)*p) : buf_appendf(out, "%%%02X", *p);
        }
    }
    if (rc == 0 && u.port != NULL) {
        rc = buf_appendf(out, ":%s", u.port);
    }
    if (rc == 0 && idn == IDN_OK && strcmp(ascii, unicode) != 0) {
        rc = buf_appendf(out, " (Unicode: %s)", unicode);
    } else if (rc == 0 && idn == IDN_ERR_MIXED_SCRIPT) {
        rc = buf_append_str(out, " (mixed-script name)");
    }
    xfree(ascii);
    xfree(unicode);
    url_cleanup(&u);
    return rc;
}

static void
put_head(struct writer *w, const char *title, const char *extra_style, const char *referrer,
         const char *refresh)
{
    put(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta name=\"referrer\" content=\"");
    put(w, referrer);
    put(w, "\">\n<meta name=\"robots\" content=\"noindex, nofollow\">\n");
    if (refresh != NULL) {
        put(w, "<meta http-equiv=\"refresh\" content=\"0;url=");
        put_esc(w, refresh);
        put(w, "\">\n");
    }
    put(w, "<title>");
    put(w, title);
    put(w, "</title>\n<style>");
    put(w, page_style);
    put(w, extra_style);
    put(w, "</style>\n</head>\n<body>\n<main>\n");
}

static bool
is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Names are wrapped in <bdi> so right-to-left or override characters in a
 * client-chosen name cannot reorder the sentence around it. */
static void
put_request_sentence(struct writer *w, const struct oauth_consent_page *in)
{
    if (is_set(in->client_name)) {
        put(w, "<p><strong><bdi>");
        put_esc(w, in->client_name);
        put(w, "</bdi></strong> is requesting access to ");
    } else {
        put(w, "<p>An unnamed MCP client is requesting access to ");
    }
    if (is_set(in->resource_name)) {
        put(w, "<strong><bdi>");
        put_esc(w, in->resource_name);
        put(w, "</bdi></strong>.");
    } else {
        put(w, "this MCP service.");
    }
    if (!is_set(in->client_name)) {
        put(w, " The client did not register a name, so check that you started this "
               "request yourself.");
    }
    put(w, "</p>\n");
}

/* A login sent to this computer is safe only if the user started it from
 * the app that will receive it: say so plainly, since "127.0.0.1:8787" or
 * "cursor://" means little to most people. */
static void
put_local_app_note(struct writer *w, const struct oauth_consent_page *in)
{
    switch (in->redirect_kind) {
    case OAUTH_REDIRECT_URI_PRIVATE_USE:
        put(w, "<p class=\"note\">The login goes to the app registered for <strong>");
        put_esc(w, in->redirect_display);
        put(w, "</strong> on this computer, not to a website. Approve only if you started "
               "this from that app.</p>\n");
        break;
    case OAUTH_REDIRECT_URI_LOOPBACK:
        put(w, "<p class=\"note\">The login goes to an app on this computer (listening on "
               "<strong>");
        put_esc(w, in->redirect_display);
        put(w, "</strong>), not to a website. Approve only if you started this from an app "
               "you trust.</p>\n");
        break;
    case OAUTH_REDIRECT_URI_WEB:
        break;
    }
}

/* A metadata document proves who published the client_id, but a login
 * sent to a loopback or private-use redirect reaches whichever app on
 * this computer listens there: any local program can present a
 * well-known client_id. Say so, beside the publisher's name. */
static void
put_document_local_warning(struct writer *w, const struct oauth_consent_page *in)
{
    if (!is_set(in->document_host) || in->redirect_kind == OAUTH_REDIRECT_URI_WEB) {
        return;
    }
    put(w, "<p class=\"note\" role=\"alert\" id=\"local-redirect-warning\">Warning: "
           "<strong>");
    put_esc(w, in->document_host);
    put(w, "</strong> cannot vouch for the app that receives this login, because it goes to "
           "this computer. Any app here could use this client's name.</p>\n");
}

int
oauth_page_consent(const struct oauth_consent_page *in, struct buf *out)
{
    if (in->form_action == NULL || in->consent_token == NULL) {
        return -1;
    }
    struct writer w = {.out = out, .rc = 0};
    put_head(&w, "Authorize MCP client", consent_style, OAUTH_PAGE_CONSENT_REFERRER, NULL);
    put(&w, "<h1>Authorize this MCP client?</h1>\n");
    if (in->replay_notice) {
        put(&w, "<p class=\"note\" role=\"status\">Your previous response to this request was "
                "already processed. If you still want to continue, please confirm "
                "again.</p>\n");
    }
    put_request_sentence(&w, in);
    put(&w, "<dl>\n");
    if (is_set(in->document_host)) {
        put(&w, "<dt>Client published by</dt>\n<dd><strong id=\"client-host\">");
        put_esc(&w, in->document_host);
        put(&w, "</strong></dd>\n");
    }
    put(&w, "<dt>Will redirect to</dt>\n<dd>");
    put_esc(&w, in->redirect_display);
    put(&w, "</dd>\n");
    if (!is_set(in->resource_name) && is_set(in->resource_uri)) {
        put(&w, "<dt>Resource</dt>\n<dd>");
        put_esc(&w, in->resource_uri);
        put(&w, "</dd>\n");
    }
    put(&w, "</dl>\n");
    put_local_app_note(&w, in);
    put_document_local_warning(&w, in);
    put(&w, "<p class=\"hint\">Approving takes you to your identity provider to sign "
            "in. If you did not start this, choose Deny.</p>\n");
    put(&w, "<form method=\"POST\" action=\"");
    put_esc(&w, in->form_action);
    put(&w, "\" aria-label=\"Authorization decision\">\n"
            "<input type=\"hidden\" name=\"consent_token\" value=\"");
    put_esc(&w, in->consent_token);
    /* Deny comes first so that pressing Enter submits the safe choice. */
    put(&w, "\">\n<div class=\"actions\">\n"
            "<button type=\"submit\" name=\"action\" value=\"deny\">Deny</button>\n"
            "<button type=\"submit\" name=\"action\" value=\"approve\" class=\"approve\">"
            "Approve &amp; sign in</button>\n"
            "</div>\n</form>\n</main>\n</body>\n</html>\n");
    return w.rc;
}

static bool
is_http_url(const char *target)
{
    struct url u;
    if (target == NULL) {
        return false;
    }
    if (oauth_redirect_uri_is_private_use(target)) {
        return true; /* a native app's redirect (RFC 8252 7.1) */
    }
    if (url_parse(target, &u) != URL_OK) {
        return false;
    }
    bool yes = strcmp(u.scheme, "https") == 0 || strcmp(u.scheme, "http") == 0;
    url_cleanup(&u);
    return yes;
}

int
oauth_page_interstitial(const char *target, struct buf *out)
{
    /* Defence in depth: a meta refresh or link to a javascript: or data:
     * URL would run in our origin's page. */
    if (!is_http_url(target)) {
        return -1;
    }
    struct writer w = {.out = out, .rc = 0};
    put_head(&w, "Continuing\xe2\x80\xa6", "", "no-referrer", target);
    put(&w, "<p>Continuing\xe2\x80\xa6</p>\n<p><a href=\"");
    put_esc(&w, target);
    put(&w, "\">Continue</a> if nothing happens.</p>\n</main>\n</body>\n</html>\n");
    return w.rc;
}

int
oauth_page_refused(struct buf *out)
{
    struct writer w = {.out = out, .rc = 0};
    put_head(&w, "Sign-in stopped", "", "no-referrer", NULL);
    put(&w, "<h1>This sign-in can\xe2\x80\x99t continue here</h1>\n"
            "<p>For your security, a sign-in can only be completed in the browser where it "
            "was started, from the page this service showed you there. This request came "
            "from somewhere else, so it was stopped and nothing was shared.</p>\n"
            "<p>Go back to your application and start the sign-in again.</p>\n"
            "<p>If you did not start a sign-in, you can close this page.</p>\n"
            "</main>\n</body>\n</html>\n");
    return w.rc;
}
