/* The shared steps of the authorization flow. Every buffer here is local
 * and capped (bounds.h); nothing outlives the call but the response. */
#include "oauth/flow.h"

#include <openssl/crypto.h>
#include <string.h>

#include "base/clock.h"
#include "base/rand.h"
#include "base/url.h"
#include "bounds.h"
#include "config.h"
#include "grants.h"
#include "http/output.h"
#include "http/reply.h"
#include "http/request.h"
#include "log.h"
#include "oauth/binding.h"
#include "oauth/oauth.h"
#include "oauth/cimd_rules.h"
#include "oauth/page.h"
#include "base/pkce.h"
#include "oauth/redirect_uri.h"
#include "oauth/reply.h"
#include "oauth/stepup_rules.h"
#include "oidc/provider.h"
#include "policy/policy.h"

static const char *
nz(const char *s)
{
    return s != NULL ? s : "";
}

/* Step-up scopes in the grant: what to ask the IdP for, sealed in the
 * session for /callback to check (docs/step-up.md). The policy is read
 * once here; /callback judges against the one current then. -1 (logged)
 * when the acr_values would not fit. */
static int
stepup_ask(struct http_request *req, const struct oauth *oauth,
           const struct oauth_flow_session_in *in, struct oauth_stepup_ask *ask)
{
    const struct policy *pol = policy_holder_acquire(oauth->policy);
    int rc = oauth_stepup_rules_ask(pol, in->scope, ask);
    policy_release(pol);
    if (rc != 0) {
        struct log_line l;
        http_request_log_begin(&l, req, LOG_ERROR, "stepup_acr_values_too_large");
        log_str(&l, "client_id", nz(in->client_id));
        log_end(&l);
    }
    return rc;
}

enum oauth_flow_rc
oauth_flow_session_begin(struct http_request *req, const struct oauth *oauth,
                         const struct oauth_flow_session_in *in, int64_t now_s, struct buf *out_url)
{
    struct oauth_stepup_ask ask;
    if (stepup_ask(req, oauth, in, &ask) != 0) {
        return OAUTH_FLOW_ERR_URL;
    }
    char nonce[RAND_HEX32_LEN + 1];
    char pv[PKCE_S256_LEN + 1];
    char sv[PKCE_S256_LEN + 1] = "";
    char sch[PKCE_S256_LEN + 1] = "";
    char sid[RAND_UUID_LEN + 1];
    /* SPEC.md 2.7: 16 random bytes as hex; 32 random bytes as base64url. A
     * CSPRNG failure aborts the process (base/rand.h), so unlike Go there
     * is no "nonce RNG failure" branch to answer. */
    rand_hex32(nonce);
    pkce_new_verifier(pv);
    if (in->server_pkce) {
        /* H6: the client sent no challenge and PKCE is optional, so the
         * server holds a downstream pair; /token falls back to sv. */
        pkce_new_verifier(sv);
        pkce_challenge_s256(slice_from_cstr(sv), sch);
    }
    rand_uuid(sid);

    const struct config *cfg = oauth->cfg;
    struct grant_session s = {
        .client_id = in->client_id,
        .redirect_uri = in->redirect_uri,
        .code_challenge = in->server_pkce ? sch : nz(in->code_challenge),
        .client_state = in->client_state,
        .nonce = nonce,
        .upstream_verifier = pv,
        .server_verifier = sv,
        .server_challenge = sch,
        .session_id = sid,
        .aud = cfg->proxy_base_url,
        .resource = in->resource,
        .scope = in->scope,
        .binding_hash = in->binding_hash,
        .exp = now_s + BOUNDS_SESSION_TTL_S,
        .stepup_acr_values = ask.acr_values,
        .stepup_max_age = ask.max_age > 0 ? ask.max_age : 0,
        .stepup_max_age_set = ask.max_age >= 0,
    };
    enum oauth_flow_rc rc = OAUTH_FLOW_OK;
    struct buf state;
    buf_init(&state, BOUNDS_SEALED_MAX_CHARS + 1);
    enum seal_rc src = grants_seal_session(oauth->seal, &s, &state);
    if (src != SEAL_OK) {
        struct log_line l;
        http_request_log_begin(&l, req, LOG_ERROR, "session_seal_failed");
        log_str(&l, "error", seal_rc_str(src));
        log_str(&l, "client_id", nz(in->client_id));
        log_end(&l);
        rc = OAUTH_FLOW_ERR_SEAL;
        goto out;
    }
    struct oidc_authorize_request ar = {
        .client_id = cfg->oidc_client_id,
        .redirect_uri = cfg->idp_redirect_uri,
        .state = buf_cstr(&state),
        .nonce = nonce,
        .pkce_verifier = pv,
        .acr_values = ask.acr_values,
        /* OIDC Core 3.1.2.1: max_age=0 means prompt=login; the explicit
         * prompt is what every IdP understands. */
        .max_age = ask.max_age > 0 ? ask.max_age : 0,
        .prompt_login = ask.max_age == 0,
    };
    struct buf url;
    buf_init(&url, BOUNDS_FLOW_URL_MAX);
    if (oidc_provider_authorization_url(oauth->oidc, &ar, &url) != 0 ||
        buf_append_slice(out_url, buf_slice(&url)) != 0) {
        rc = OAUTH_FLOW_ERR_URL;
    }
    buf_cleanup(&url);
out:
    /* The verifiers are secrets of this session; do not leave them on the
     * stack (OPENSSL_cleanse is not optimised away as a dead store). */
    OPENSSL_cleanse(pv, sizeof(pv));
    OPENSSL_cleanse(sv, sizeof(sv));
    buf_cleanup(&state);
    return rc;
}

int
oauth_flow_error_url(const struct oauth *oauth, const char *ru, const struct oauth_error *err,
                     const char *state, struct buf *out)
{
    const struct oauth_param params[] = {
        {"error", oauth_error_code_str(err->code)},
        {"error_description", err->description},
        {"state", state},
        {"iss", oauth_discovery_issuer(oauth->cfg)},
    };
    enum oauth_redirect_uri_rc rc =
        oauth_redirect_uri_with_params(ru, params, sizeof(params) / sizeof(params[0]), out);
    return rc == OAUTH_REDIRECT_URI_OK ? 0 : -1;
}

static int
reply_internal_error(struct http_request *req)
{
    return oauth_reply_error_simple(req, 500, OAUTH_ERROR_SERVER_ERROR, "internal error");
}

/* SPEC.md 3.3.2: when the redirect URI cannot carry the error, the error
 * is answered on the proxy instead, as JSON 400. */
static int
reply_json_fallback(struct http_request *req, const struct oauth_error *err)
{
    struct oauth_error e = *err;
    e.status = 400;
    return oauth_reply_error(req, &e);
}

int
oauth_flow_reply_error_to_client(struct http_request *req, const struct oauth *oauth,
                                 enum oauth_flow_via via, const char *ru,
                                 const struct oauth_error *err, const char *state)
{
    struct buf url;
    buf_init(&url, BOUNDS_FLOW_URL_MAX);
    int rc;
    if (oauth_flow_error_url(oauth, ru, err, state, &url) != 0) {
        rc = reply_json_fallback(req, err);
    } else if (via == OAUTH_FLOW_VIA_INTERSTITIAL) {
        rc = oauth_flow_reply_interstitial(req, buf_cstr(&url));
    } else {
        rc = oauth_flow_reply_redirect(req, buf_cstr(&url));
    }
    buf_cleanup(&url);
    return rc;
}

int
oauth_flow_reply_redirect(struct http_request *req, const char *location)
{
    if (http_reply_redirect(req, location) == 0) {
        return 0;
    }
    /* Refused as a header value (a control byte): never leave the request
     * unanswered. Once the response has ended or the client is gone this
     * is a no-op returning -1. */
    return reply_internal_error(req);
}

/* The headers every page shares (SPEC.md 3.4, 3.6): its own CSP replaces
 * the baseline one; never cached. */
static int
reply_page(struct http_request *req, int status, const char *csp, const struct buf *page)
{
    if (http_output_header_set(req, "Content-Security-Policy", csp) != 0 ||
        http_output_header_set(req, "Cache-Control", "no-store") != 0 ||
        http_output_header_set(req, "Pragma", "no-cache") != 0) {
        /* Only a response already ended (or a client gone) refuses these;
         * answering again is then a no-op. Never serve a page without its
         * CSP. */
        return reply_internal_error(req);
    }
    return http_reply_html(req, status, page->ptr, page->len);
}

int
oauth_flow_reply_interstitial(struct http_request *req, const char *target)
{
    struct buf page;
    buf_init(&page, BOUNDS_FLOW_PAGE_MAX);
    int rc;
    if (oauth_page_interstitial(target, &page) != 0) {
        struct log_line l;
        http_request_log_begin(&l, req, LOG_WARN, "nav_interstitial_execute_failed");
        log_end(&l);
        rc = reply_internal_error(req);
    } else {
        rc = reply_page(req, 200, OAUTH_PAGE_INTERSTITIAL_CSP, &page);
    }
    buf_cleanup(&page);
    return rc;
}

/* The page around an already sealed token. -1 when it does not render. */
static int
render_consent(const struct oauth *oauth, const struct grant_consent *g, const char *token,
               bool replay_notice, struct buf *page)
{
    const struct config *cfg = oauth->cfg;
    struct buf display, action;
    buf_init(&display, BOUNDS_FLOW_URL_MAX);
    buf_init(&action, BOUNDS_FLOW_URL_MAX);
    int rc = -1;
    if (oauth_page_redirect_display(nz(g->redirect_uri), &display) != 0 ||
        url_join(&action, cfg->proxy_base_url, "/consent") != 0) {
        goto out;
    }
    char host[256] = "";
    if (oauth_cimd_rules_is_document_url(slice_from_cstr(nz(g->client_id))) &&
        oauth_cimd_rules_check_url(slice_from_cstr(g->client_id), host, sizeof(host)) != NULL) {
        host[0] = '\0';
    }
    struct oauth_consent_page in = {
        .client_name = g->client_name,
        .document_host = host,
        .resource_name = cfg->mcp_resource_name,
        .redirect_display = buf_cstr(&display),
        .redirect_kind = oauth_redirect_uri_kind(nz(g->redirect_uri)),
        .resource_uri =
            (g->resource != NULL && g->resource[0] != '\0') ? g->resource : cfg->canonical_resource,
        .form_action = buf_cstr(&action),
        .consent_token = token,
        .replay_notice = replay_notice,
    };
    rc = oauth_page_consent(&in, page);
out:
    buf_cleanup(&display);
    buf_cleanup(&action);
    return rc;
}

int
oauth_flow_reply_consent_page(struct http_request *req, const struct oauth *oauth,
                              const struct grant_consent *g, bool replay_notice, const char *secret)
{
    struct buf token, page;
    buf_init(&token, BOUNDS_SEALED_MAX_CHARS + 1);
    buf_init(&page, BOUNDS_FLOW_PAGE_MAX);
    int rc;
    enum seal_rc src = grants_seal_consent(oauth->seal, g, &token);
    if (src != SEAL_OK) {
        struct log_line l;
        http_request_log_begin(&l, req, LOG_ERROR, "consent_seal_failed");
        log_str(&l, "error", seal_rc_str(src));
        log_str(&l, "client_id", nz(g->client_id));
        log_end(&l);
        struct oauth_error err;
        oauth_error_set(&err, 400, OAUTH_ERROR_SERVER_ERROR, "internal error");
        rc = oauth_flow_reply_error_to_client(req, oauth, OAUTH_FLOW_VIA_INTERSTITIAL,
                                              nz(g->redirect_uri), &err, nz(g->client_state));
        goto out;
    }
    if (render_consent(oauth, g, buf_cstr(&token), replay_notice, &page) != 0) {
        struct log_line l;
        http_request_log_begin(&l, req, LOG_WARN, "consent_template_execute_failed");
        log_end(&l);
        rc = reply_internal_error(req);
        goto out;
    }
    /* The cookie lives as long as the token it pairs with. Without it the
     * page's own POST would be refused, so a page is never served bare. */
    if (oauth_flow_set_binding_cookie(req, oauth, OAUTH_BINDING_COOKIE_CONSENT, g->binding_hash,
                                      secret, g->exp - clock_unix_s()) != 0 ||
        http_output_header_set(req, "Referrer-Policy", OAUTH_PAGE_CONSENT_REFERRER) != 0) {
        rc = reply_internal_error(req);
        goto out;
    }
    rc = reply_page(req, 200, OAUTH_PAGE_CONSENT_CSP, &page);
out:
    buf_cleanup(&token);
    buf_cleanup(&page);
    return rc;
}

/* ---- browser binding (oauth/binding.h) ---------------------------------- */

/* The one Set-Cookie of oauth_flow_set_binding_cookie; -1 when the value
 * is refused or the response already started (nothing added). */
static int
add_binding_cookie(struct http_request *req, const struct oauth *oauth,
                   enum oauth_binding_cookie which, const char *hash, const char *secret,
                   int64_t max_age_s)
{
    struct buf v;
    buf_init(&v, BOUNDS_COOKIE_SET_MAX);
    int rc = -1;
    if (oauth_binding_format_set_cookie(which, hash, secret, max_age_s,
                                        oauth_binding_is_secure(oauth->cfg->proxy_base_url),
                                        &v) == 0) {
        rc = http_output_header_add(req, "Set-Cookie", buf_cstr(&v));
    }
    buf_cleanup(&v);
    return rc;
}

int
oauth_flow_set_binding_cookie(struct http_request *req, const struct oauth *oauth,
                              enum oauth_binding_cookie which, const char *hash, const char *secret,
                              int64_t max_age_s)
{
    return add_binding_cookie(req, oauth, which, hash, secret, max_age_s);
}

void
oauth_flow_clear_binding_cookie(struct http_request *req, const struct oauth *oauth,
                                enum oauth_binding_cookie which, const char *hash)
{
    /* Refused only once the response went, or for a hash that was never
     * ours (then no such cookie exists): nothing left to clear either way. */
    (void)add_binding_cookie(req, oauth, which, hash, NULL, 0);
}

/* Every value of a request header, at most BOUNDS_HEADER_COUNT_MAX (the
 * parser allows no more lines than that). */
static size_t
header_values(const struct http_request *req, const char *name,
              struct slice out[BOUNDS_HEADER_COUNT_MAX])
{
    size_t n = 0;
    size_t cursor = 0;
    while (n < BOUNDS_HEADER_COUNT_MAX && http_request_header_next(req, name, &cursor, &out[n])) {
        n++;
    }
    return n;
}

enum oauth_binding_rc
oauth_flow_binding_check(const struct http_request *req, const struct oauth *oauth,
                         enum oauth_binding_cookie which, const char *hash,
                         char out_secret[OAUTH_BINDING_SECRET_LEN + 1])
{
    struct slice lines[BOUNDS_HEADER_COUNT_MAX];
    size_t n = header_values(req, "Cookie", lines);
    return oauth_binding_check(which, hash, oauth_binding_is_secure(oauth->cfg->proxy_base_url),
                               lines, n, out_secret);
}

enum oauth_binding_site_rc
oauth_flow_site_check(const struct http_request *req, const struct oauth *oauth)
{
    struct slice origins[BOUNDS_HEADER_COUNT_MAX];
    struct slice sites[BOUNDS_HEADER_COUNT_MAX];
    size_t no = header_values(req, "Origin", origins);
    size_t ns = header_values(req, "Sec-Fetch-Site", sites);
    return oauth_binding_check_site(oauth->cfg->proxy_base_url, origins, no, sites, ns);
}

int
oauth_flow_reply_refused(struct http_request *req, struct log_line *event)
{
    log_int(event, "status", 403);
    log_end(event);
    struct buf page;
    buf_init(&page, BOUNDS_FLOW_PAGE_MAX);
    int rc = oauth_page_refused(&page) == 0 ? reply_page(req, 403, OAUTH_PAGE_REFUSED_CSP, &page)
                                            : reply_internal_error(req);
    buf_cleanup(&page);
    return rc;
}
