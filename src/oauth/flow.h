/* oauth/flow: the steps GET /authorize and POST /consent share -- minting
 * the IdP session and its authorization URL (SPEC.md 3.5 "approve", 3.3
 * step 15, 6.2), rendering the consent page (3.4), the navigation
 * interstitial (3.6) and the error redirect back to the client (3.3.2).
 *
 * The reply helpers end the response (now, synchronously) and return 0, or
 * -1 when the response had already ended or the client is gone. They log
 * what SPEC.md 7.2 names for their own failures (consent_seal_failed,
 * session_seal_failed, consent_template_execute_failed,
 * nav_interstitial_execute_failed) and nothing else. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "oauth/binding.h"
#include "oauth/error.h"

struct oauth;
struct grant_consent;
struct http_request;
struct log_line;

/* What a session is built from (a validated /authorize request, or an
 * opened consent grant). Strings borrowed; NULL counts as "". */
struct oauth_flow_session_in {
    const char *client_id;      /* internal client id */
    const char *redirect_uri;   /* the redirect_uri the client sent to /authorize */
    const char *code_challenge; /* the client's ("" when none) */
    const char *client_state;   /* the client's state (possibly synthesized) */
    const char *resource;       /* canonical resource */
    const char *scope;          /* the granted scope (oauth/scope_rules.h); "" = none */
    const char *binding_hash;   /* browser binding hash (oauth/binding.h), sealed as is */
    bool server_pkce;           /* mint a server-side downstream PKCE pair */
};

enum oauth_flow_rc {
    OAUTH_FLOW_OK = 0,
    OAUTH_FLOW_ERR_SEAL, /* the session did not seal (too large) */
    OAUTH_FLOW_ERR_URL,  /* the authorization URL did not fit its cap */
    OAUTH_FLOW_RC_COUNT,
};

/* SPEC.md 3.5 step 12: a fresh nonce (32 hex), upstream PKCE verifier, the
 * server-side pair (server_verifier, server_challenge) when
 * in->server_pkce (then the session's code_challenge is server_challenge,
 * else in->code_challenge), a session id (new UUID), aud = PROXY_BASE_URL,
 * exp = now_s + 10 min;
 * sealed as the IdP `state`, and the IdP authorization URL (6.2) appended
 * to out_url. Logs session_seal_failed (error) on ERR_SEAL; out_url is
 * unchanged on failure. */
enum oauth_flow_rc oauth_flow_session_begin(struct http_request *req, const struct oauth *oauth,
                                            const struct oauth_flow_session_in *in, int64_t now_s,
                                            struct buf *out_url)
    __attribute__((warn_unused_result));

/* Appends the client redirect of SPEC.md 3.3.2 to out: ru with error,
 * error_description, state (when non-empty) and iss = oauth_discovery_issuer().
 * Returns 0, or -1 when ru does not parse or the URL does not fit (out
 * unchanged). */
int oauth_flow_error_url(const struct oauth *oauth, const char *ru, const struct oauth_error *err,
                         const char *state, struct buf *out) __attribute__((warn_unused_result));

/* How an error travels back to the client's redirect_uri. */
enum oauth_flow_via {
    OAUTH_FLOW_VIA_REDIRECT = 0, /* 302 (/authorize phase 2) */
    OAUTH_FLOW_VIA_INTERSTITIAL, /* 200 navigation page (POST /consent, SPEC.md 3.6) */
};

/* The error sent to the client at oauth_flow_error_url(), by 302 or by the
 * interstitial as via says; when the URL cannot be built, the same error as
 * JSON 400 on the proxy (SPEC.md 3.3.2). err->status is ignored. */
int oauth_flow_reply_error_to_client(struct http_request *req, const struct oauth *oauth,
                                     enum oauth_flow_via via, const char *ru,
                                     const struct oauth_error *err, const char *state);

/* 302 to location (already a valid absolute URL); a location the HTTP
 * layer refuses as a header value becomes JSON 500 server_error instead,
 * so the request is always answered. */
int oauth_flow_reply_redirect(struct http_request *req, const char *location);

/* The navigation interstitial (SPEC.md 3.6) to target: 200 text/html,
 * CSP OAUTH_PAGE_INTERSTITIAL_CSP, Cache-Control: no-store, Pragma:
 * no-cache. A target the page refuses: warn nav_interstitial_execute_failed
 * and JSON 500 server_error. */
int oauth_flow_reply_interstitial(struct http_request *req, const char *target);

/* Seals g (its jti, bh and exp as given) and answers the consent page
 * (SPEC.md 3.4): 200 text/html, CSP OAUTH_PAGE_CONSENT_CSP, no-store,
 * Referrer-Policy OAUTH_PAGE_CONSENT_REFERRER, and the consent binding
 * cookie carrying secret (whose hash is g->binding_hash) until g->exp; replay_notice
 * adds the "already processed" notice. A seal failure logs
 * consent_seal_failed and sends server_error "internal error" through the
 * interstitial to g->redirect_uri (with g->client_state and iss); a page that does not render
 * (or a cookie that cannot be formatted) logs consent_template_execute_failed
 * or answers JSON 500. */
int oauth_flow_reply_consent_page(struct http_request *req, const struct oauth *oauth,
                                  const struct grant_consent *g, bool replay_notice,
                                  const char *secret);

/* ---- browser binding (oauth/binding.h) ---- */

/* Adds one Set-Cookie header to the pending response: cookie `which` of
 * the flow bound to hash, carrying secret for max_age_s seconds, or cleared
 * when secret is NULL. `__Host-`/Secure follow PROXY_BASE_URL's scheme.
 * Returns 0, or -1 (nothing added) when the value is refused or the
 * response already started. */
int oauth_flow_set_binding_cookie(struct http_request *req, const struct oauth *oauth,
                                  enum oauth_binding_cookie which, const char *hash,
                                  const char *secret, int64_t max_age_s)
    __attribute__((warn_unused_result));

/* The same cookie cleared (Max-Age=0), for a flow whose token is spent. A
 * failure means only that the response is already gone: nothing to do. */
void oauth_flow_clear_binding_cookie(struct http_request *req, const struct oauth *oauth,
                                     enum oauth_binding_cookie which, const char *hash);

/* oauth_binding_check over every Cookie line of the request. */
enum oauth_binding_rc oauth_flow_binding_check(const struct http_request *req,
                                               const struct oauth *oauth,
                                               enum oauth_binding_cookie which, const char *hash,
                                               char out_secret[OAUTH_BINDING_SECRET_LEN + 1]);

/* oauth_binding_check_site over every Origin and Sec-Fetch-Site line. */
enum oauth_binding_site_rc oauth_flow_site_check(const struct http_request *req,
                                                 const struct oauth *oauth);

/* The refusal of a request from the wrong browser: adds status 403 to
 * *event (begun by the caller with its warn event and fields), ends it,
 * and answers 403 text/html oauth_page_refused() with OAUTH_PAGE_REFUSED_CSP
 * and no-store. Never JSON and never a redirect: the flow's redirect URI
 * may be the attacker's. *event is consumed. */
int oauth_flow_reply_refused(struct http_request *req, struct log_line *event);
