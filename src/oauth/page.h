/* The two HTML pages of the authorization flow (SPEC.md 3.4, 3.6): the
 * consent page and the navigation interstitial, plus the HTML escaping they
 * rely on.
 *
 * Pure: each function renders already-validated values into a struct buf.
 * Headers (the CSP values below, no-store, content type) are the reply's
 * job. The pages carry no script, no external resource and only an inline
 * <style>, which is exactly what the CSP values allow. */
#pragma once

#include <stdbool.h>

#include "base/buf.h"
#include "base/slice.h"
#include "oauth/redirect_uri.h"

/* Content-Security-Policy values replacing the baseline on these pages. */
#define OAUTH_PAGE_CONSENT_CSP                                                                     \
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "                          \
    "frame-ancestors 'none'; base-uri 'none'"
#define OAUTH_PAGE_INTERSTITIAL_CSP                                                                \
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; "                          \
    "frame-ancestors 'none'; base-uri 'none'"
/* The refusal page has no form and no navigation: the interstitial's CSP. */
#define OAUTH_PAGE_REFUSED_CSP OAUTH_PAGE_INTERSTITIAL_CSP

/* The consent page's referrer policy (its <meta> and its Referrer-Policy
 * header). Not the baseline no-referrer: under no-referrer a browser sends
 * `Origin: null` with the page's own form POST (Fetch, "serializing a
 * request origin"), and POST /consent refuses any Origin but ours.
 * same-origin still sends nothing to any other origin. */
#define OAUTH_PAGE_CONSENT_REFERRER "same-origin"

/* What the consent page shows. All strings are borrowed C strings and are
 * escaped here; none may be trusted to be HTML-safe. */
struct oauth_consent_page {
    const char *client_name; /* registered client_name; NULL or "" = unnamed */
    /* The host of a client ID metadata document client_id (the only part
     * of the client's identity anyone vouches for: whoever controls that
     * host published the name); NULL or "" for a registered client. */
    const char *document_host;
    const char *resource_name;    /* MCP_RESOURCE_NAME; NULL or "" = none */
    const char *redirect_display; /* oauth_page_redirect_display() of the redirect_uri */
    /* oauth_redirect_uri_kind() of the redirect_uri: a loopback or
     * private-use one gets a note that an app on this computer, not a
     * website, receives the login. */
    enum oauth_redirect_uri_kind redirect_kind;
    const char *resource_uri;  /* canonical resource; shown only without resource_name */
    const char *form_action;   /* absolute "{PROXY_BASE_URL}/consent" */
    const char *consent_token; /* the sealed consent blob */
    bool replay_notice;        /* re-render after a replayed POST /consent */
};

/* Appends in with & < > " ' escaped as entities and every control byte
 * (0x00-0x1F, 0x7F) replaced by &#xFFFD;, so the result is safe both as
 * element text and inside a double- or single-quoted attribute. Returns 0,
 * or -1 at out's cap (out may then hold part of it). */
int oauth_page_html_escape(struct slice in, struct buf *out) __attribute__((warn_unused_result));

/* Appends what "Will redirect to" shows for redirect_uri: its host and
 * explicit port ("app.example.com", "127.0.0.1:8080", "[::1]:3000"); for a
 * private-use scheme only the scheme, "cursor://" or "com.example.app:",
 * since the host of such a URI names nothing anyone looks up; or the raw URI when it does not
 * parse or has no host. An internationalized host
 * is shown by its A-label, then its Unicode form marked:
 * "xn--80ak6aa92e.com (Unicode: аррӏе.com)"; a mixed-script one as
 * "xn--pple-43d.com (mixed-script name)"; one that is not valid IDNA with
 * its non-ASCII bytes as %HH. Not escaped. Returns 0, or -1 at out's cap. */
int oauth_page_redirect_display(const char *redirect_uri, struct buf *out)
    __attribute__((warn_unused_result));

/* Appends the complete consent page (SPEC.md 3.4): heading, optional replay
 * notice ("already processed"), who asks for what, where it redirects, the
 * IdP hint, and a POST form to form_action with the hidden consent_token and
 * the buttons Deny (first, so Enter denies) and "Approve & sign in". Returns
 * 0, or -1 at out's cap or when form_action or consent_token is NULL. */
int oauth_page_consent(const struct oauth_consent_page *in, struct buf *out)
    __attribute__((warn_unused_result));

/* Appends the navigation interstitial (SPEC.md 3.6): a meta refresh
 * "0;url=TARGET" and a fallback <a href="TARGET"> carrying the identical
 * attribute-escaped text, a short "Continuing..." line, no script, no form.
 * target must be an absolute http or https URL (a client redirect_uri or the
 * IdP authorization URL) or a private-use redirect URI
 * (oauth_redirect_uri_is_private_use); anything else -- a javascript: or
 * data: URL above all -- is refused with -1, as is running out of out's cap. */
int oauth_page_interstitial(const char *target, struct buf *out)
    __attribute__((warn_unused_result));

/* Appends the page POST /consent and GET /callback answer (403) when the
 * request did not come from the browser the flow belongs to
 * (oauth/binding.h): what happened, that nothing was shared, and to start
 * the sign-in again from the application. Fixed text, no link, no form.
 * Returns 0, or -1 at out's cap. */
int oauth_page_refused(struct buf *out) __attribute__((warn_unused_result));
