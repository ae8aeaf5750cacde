/* oauth/binding: ties an authorization flow to the browser that started it,
 * so a consent decision and an IdP callback count only in that browser
 * (docs/threat-model.md, "Consent CSRF" and "Login CSRF").
 *
 * One random secret B per flow. The browser holds B in a cookie; our sealed
 * consent token and IdP session hold bh = BASE64URL(SHA-256(B)) (the PKCE
 * S256 transform, so B and bh are each 43 characters). Two cookies carry
 * the same B, each named with the first OAUTH_BINDING_SUFFIX_LEN characters
 * of bh so two sign-ins in two tabs of one browser never clobber each other:
 *
 *   consent  __Host-mcp_consent_<sfx>=B; Path=/; Max-Age=..; HttpOnly; Secure;
 *            SameSite=Strict -- set with the consent page, checked (and
 *            cleared) by POST /consent, which only our own page can send
 *            with it;
 *   callback __Host-mcp_callback_<sfx>=B; ...; SameSite=Lax -- set with the
 *            interstitial (or the /authorize 302 when there is no consent
 *            page), checked (and cleared) by GET /callback. Lax, because
 *            the IdP's redirect to /callback is a cross-site top-level
 *            navigation, on which browsers do not send Strict cookies.
 *
 * Over plain http (PROXY_BASE_URL http://, which configuration allows only
 * for loopback) the names lose `__Host-` and the cookies lose `Secure`:
 * browsers refuse both without https.
 *
 * Also here: the request-site check of POST /consent (Origin and
 * Sec-Fetch-Site). Pure: no I/O; results are static or written to caller
 * buffers. Cookie and secret values are never logged by anyone. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "base/pkce.h"

#define OAUTH_BINDING_SECRET_LEN PKCE_S256_LEN
#define OAUTH_BINDING_HASH_LEN PKCE_S256_LEN
/* 48 bits of bh: unique among one browser's concurrent sign-ins. */
#define OAUTH_BINDING_SUFFIX_LEN 8

enum oauth_binding_cookie {
    OAUTH_BINDING_COOKIE_CONSENT = 0,
    OAUTH_BINDING_COOKIE_CALLBACK,
    OAUTH_BINDING_COOKIE_COUNT,
};

struct oauth_binding {
    char secret[OAUTH_BINDING_SECRET_LEN + 1]; /* B: goes only into the cookie */
    char hash[OAUTH_BINDING_HASH_LEN + 1];     /* bh: goes only into sealed grants */
};

/* A fresh B from the CSPRNG and its bh. */
void oauth_binding_new(struct oauth_binding *out);

/* Are the cookies `__Host-` + Secure? True when base_url is https. */
bool oauth_binding_is_secure(const char *base_url);

/* Appends the Set-Cookie value for cookie `which` of the flow whose bh is
 * `hash`: with secret B and Max-Age=max_age_s (clamped to >= 1), or, when
 * secret is NULL, the same cookie cleared (empty value, Max-Age=0). -1 when
 * hash is not a valid bh, secret is not OAUTH_BINDING_SECRET_LEN
 * base64url characters, or out's cap is reached (out unchanged). */
int oauth_binding_format_set_cookie(enum oauth_binding_cookie which, const char *hash,
                                    const char *secret, int64_t max_age_s, bool secure,
                                    struct buf *out) __attribute__((warn_unused_result));

enum oauth_binding_rc {
    OAUTH_BINDING_OK = 0,
    OAUTH_BINDING_ERR_UNBOUND,  /* the grant carries no valid bh (never minted by us) */
    OAUTH_BINDING_ERR_MISSING,  /* no cookie of that name in the request */
    OAUTH_BINDING_ERR_MISMATCH, /* the cookie is there but its value does not hash to bh */
    OAUTH_BINDING_RC_COUNT,
};

/* "ok", "unbound", "cookie_missing", "cookie_mismatch" (log fields). */
const char *oauth_binding_rc_str(enum oauth_binding_rc rc);

/* Does one of the request's Cookie lines carry cookie `which` whose value
 * hashes to `hash`? Each value of that name (at most
 * BOUNDS_COOKIE_SAME_NAME_MAX) is hashed and compared in constant time.
 * On OK the matching B is copied to out_secret (may be NULL). */
enum oauth_binding_rc oauth_binding_check(enum oauth_binding_cookie which, const char *hash,
                                          bool secure, const struct slice *cookie_lines,
                                          size_t line_count,
                                          char out_secret[OAUTH_BINDING_SECRET_LEN + 1]);

enum oauth_binding_site_rc {
    OAUTH_BINDING_SITE_OK = 0,
    OAUTH_BINDING_SITE_ERR_ORIGIN,     /* an Origin other than base_url's ("null" too) */
    OAUTH_BINDING_SITE_ERR_CROSS_SITE, /* Sec-Fetch-Site: cross-site */
    OAUTH_BINDING_SITE_RC_COUNT,
};

/* "ok", "origin_mismatch", "cross_site" (log fields). */
const char *oauth_binding_site_rc_str(enum oauth_binding_site_rc rc);

/* POST /consent's request-site rule: every Origin value (there should be at
 * most one) must equal base_url's origin -- scheme://host[:port], the
 * default port left out, ASCII case-insensitive -- and no Sec-Fetch-Site
 * value may be "cross-site". No Origin at all is allowed (tools that are
 * not browsers send none; the cookie is still required). */
enum oauth_binding_site_rc
oauth_binding_check_site(const char *base_url, const struct slice *origins, size_t origin_count,
                         const struct slice *fetch_sites, size_t fetch_site_count);
