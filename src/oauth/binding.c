#include "oauth/binding.h"

#include <inttypes.h>
#include <string.h>

#include "base/strtab.h"
#include "base/url.h"
#include "bounds.h"
#include "http/cookie.h"

/* "__Host-" + "mcp_callback_" + suffix + NUL, rounded up. */
#define NAME_MAX_LEN 48

static const char *const rc_names[OAUTH_BINDING_RC_COUNT] = {
    [OAUTH_BINDING_OK] = "ok",
    [OAUTH_BINDING_ERR_UNBOUND] = "unbound",
    [OAUTH_BINDING_ERR_MISSING] = "cookie_missing",
    [OAUTH_BINDING_ERR_MISMATCH] = "cookie_mismatch",
};

static const char *const site_rc_names[OAUTH_BINDING_SITE_RC_COUNT] = {
    [OAUTH_BINDING_SITE_OK] = "ok",
    [OAUTH_BINDING_SITE_ERR_ORIGIN] = "origin_mismatch",
    [OAUTH_BINDING_SITE_ERR_CROSS_SITE] = "cross_site",
};

const char *
oauth_binding_rc_str(enum oauth_binding_rc rc)
{
    return strtab_name(rc_names, OAUTH_BINDING_RC_COUNT, (size_t)rc, "unknown");
}

const char *
oauth_binding_site_rc_str(enum oauth_binding_site_rc rc)
{
    return strtab_name(site_rc_names, OAUTH_BINDING_SITE_RC_COUNT, (size_t)rc, "unknown");
}

void
oauth_binding_new(struct oauth_binding *out)
{
    /* 32 bytes from the CSPRNG as base64url; bh is its S256 transform. */
    pkce_new_verifier(out->secret);
    pkce_challenge_s256(slice_from_cstr(out->secret), out->hash);
}

bool
oauth_binding_is_secure(const char *base_url)
{
    return base_url != NULL && strncmp(base_url, "https://", 8) == 0;
}

static bool
is_b64url_43(const char *s)
{
    if (s == NULL || strlen(s) != OAUTH_BINDING_HASH_LEN) {
        return false;
    }
    for (size_t i = 0; i < OAUTH_BINDING_HASH_LEN; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* The cookie's name into out (NAME_MAX_LEN); hash must be a valid bh. */
static void
cookie_name(enum oauth_binding_cookie which, const char *hash, bool secure, char out[NAME_MAX_LEN])
{
    const char *kind = which == OAUTH_BINDING_COOKIE_CONSENT ? "mcp_consent_" : "mcp_callback_";
    /* RFC 6265bis 4.1.3.2: a "__Host-" cookie must be Secure, have Path=/
     * and no Domain, so a sibling subdomain cannot plant one. */
    size_t n = 0;
    if (secure) {
        memcpy(out, "__Host-", 7);
        n = 7;
    }
    size_t kl = strlen(kind);
    memcpy(out + n, kind, kl);
    n += kl;
    memcpy(out + n, hash, OAUTH_BINDING_SUFFIX_LEN);
    n += OAUTH_BINDING_SUFFIX_LEN;
    out[n] = '\0';
}

int
oauth_binding_format_set_cookie(enum oauth_binding_cookie which, const char *hash,
                                const char *secret, int64_t max_age_s, bool secure, struct buf *out)
{
    if (!is_b64url_43(hash) || (secret != NULL && !is_b64url_43(secret))) {
        return -1;
    }
    char name[NAME_MAX_LEN];
    cookie_name(which, hash, secure, name);
    int64_t age = secret == NULL ? 0 : (max_age_s < 1 ? 1 : max_age_s);
    const char *same_site = which == OAUTH_BINDING_COOKIE_CONSENT ? "Strict" : "Lax";
    /* buf_appendf leaves out unchanged when the value does not fit. */
    return buf_appendf(out, "%s=%s; Path=/; Max-Age=%" PRId64 "; HttpOnly; %sSameSite=%s", name,
                       secret != NULL ? secret : "", age, secure ? "Secure; " : "", same_site);
}

enum oauth_binding_rc
oauth_binding_check(enum oauth_binding_cookie which, const char *hash, bool secure,
                    const struct slice *cookie_lines, size_t line_count,
                    char out_secret[OAUTH_BINDING_SECRET_LEN + 1])
{
    if (!is_b64url_43(hash)) {
        return OAUTH_BINDING_ERR_UNBOUND;
    }
    char name[NAME_MAX_LEN];
    cookie_name(which, hash, secure, name);
    struct slice values[BOUNDS_COOKIE_SAME_NAME_MAX];
    size_t n = http_cookie_find(cookie_lines, line_count, slice_from_cstr(name), values,
                                BOUNDS_COOKIE_SAME_NAME_MAX, NULL);
    if (n == 0) {
        return OAUTH_BINDING_ERR_MISSING;
    }
    struct slice h = slice_make(hash, OAUTH_BINDING_HASH_LEN);
    for (size_t i = 0; i < n; i++) {
        /* Only a value of B's exact length can be ours; the compare of the
         * hashes is constant time (pkce_verify_s256). */
        if (values[i].len == OAUTH_BINDING_SECRET_LEN && pkce_verify_s256(values[i], h)) {
            if (out_secret != NULL) {
                memcpy(out_secret, values[i].ptr, OAUTH_BINDING_SECRET_LEN);
                out_secret[OAUTH_BINDING_SECRET_LEN] = '\0';
            }
            return OAUTH_BINDING_OK;
        }
    }
    return OAUTH_BINDING_ERR_MISMATCH;
}

/* RFC 6454 6.1: scheme "://" host [":" port], the default port omitted. */
static int
expected_origin(const char *base_url, struct buf *out)
{
    struct url u;
    if (url_parse(base_url, &u) != URL_OK) {
        return -1;
    }
    int rc = buf_appendf(out, "%s://%s", u.scheme, u.host);
    if (rc == 0 && u.port != NULL && url_effective_port(&u) != url_default_port(u.scheme)) {
        rc = buf_appendf(out, ":%u", url_effective_port(&u));
    }
    url_cleanup(&u);
    return rc;
}

enum oauth_binding_site_rc
oauth_binding_check_site(const char *base_url, const struct slice *origins, size_t origin_count,
                         const struct slice *fetch_sites, size_t fetch_site_count)
{
    enum oauth_binding_site_rc rc = OAUTH_BINDING_SITE_OK;
    if (origin_count > 0) {
        struct buf want;
        buf_init(&want, BOUNDS_URL_MAX);
        bool known = expected_origin(base_url, &want) == 0;
        for (size_t i = 0; i < origin_count && rc == OAUTH_BINDING_SITE_OK; i++) {
            /* "null" (an opaque origin: a sandboxed frame, a data: URL, a
             * no-referrer page) never equals a tuple origin. */
            if (!known || !slice_case_eq(slice_trim_ows(origins[i]), buf_slice(&want))) {
                rc = OAUTH_BINDING_SITE_ERR_ORIGIN;
            }
        }
        buf_cleanup(&want);
    }
    for (size_t i = 0; i < fetch_site_count && rc == OAUTH_BINDING_SITE_OK; i++) {
        if (slice_case_eq_cstr(slice_trim_ows(fetch_sites[i]), "cross-site")) {
            rc = OAUTH_BINDING_SITE_ERR_CROSS_SITE;
        }
    }
    return rc;
}
