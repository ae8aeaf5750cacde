/* The bearer step of the MCP route (SPEC.md 4.1). Header format (RFC 6750
 * 2.1, with SPEC.md's exact rules rather than the RFC grammar):
 *
 *   Authorization: Bearer AQAAAA...token
 *
 * The scheme is matched on the first 7 bytes, case-insensitively, space
 * included ("Bearer\tx" and "Bearerx" fail); the token is whatever follows,
 * trimmed. The token itself is only ever handed to grants_open_access, which
 * caps its length before decoding. */
#include "proxy/bearer.h"

#include <string.h>

#include "base/strtab.h"
#include "config.h"
#include "http/reply.h"
#include "proxy/bearer_cache.h"
#include "revocation/revocation.h"

#define SCHEME_LEN 7 /* "Bearer " */

static const char *const rc_names[PROXY_BEARER_RC_COUNT] = {
    [PROXY_BEARER_OK] = "ok",
    [PROXY_BEARER_INVALID_REQUEST] = "invalid_request",
    [PROXY_BEARER_INVALID_TOKEN] = "invalid_token",
    [PROXY_BEARER_NO_CREDENTIALS] = "unauthorized",
};

/* SPEC.md 4.1: fixed, so nothing from the request reaches the reply. */
static const char *const descriptions[PROXY_BEARER_RC_COUNT] = {
    [PROXY_BEARER_INVALID_REQUEST] = "bearer credential is missing or malformed",
    [PROXY_BEARER_INVALID_TOKEN] =
        "bearer token is invalid, expired, or not intended for this resource",
    [PROXY_BEARER_NO_CREDENTIALS] = "a bearer token is required; see WWW-Authenticate",
};

const char *
proxy_bearer_rc_str(enum proxy_bearer_rc rc)
{
    return strtab_name(rc_names, PROXY_BEARER_RC_COUNT, (size_t)rc, "unknown");
}

const char *
proxy_bearer_description(enum proxy_bearer_rc rc)
{
    return strtab_name(descriptions, PROXY_BEARER_RC_COUNT, (size_t)rc, NULL);
}

void
proxy_bearer_policy_init(struct proxy_bearer_policy *out, const struct config *cfg,
                         const struct seal_ring *ring)
{
    *out = (struct proxy_bearer_policy){
        .ring = ring,
        .audience = cfg->proxy_base_url,
        .resource = cfg->canonical_resource,
        .revoke_before_set = cfg->revoke_before_set,
        .revoke_before_s = cfg->revoke_before_s,
        .revoke_before_ns = cfg->revoke_before_ns,
    };
}

bool
proxy_bearer_credential(struct slice value, struct slice *out_token)
{
    if (value.len <= SCHEME_LEN || !slice_case_starts_with(value, SLICE_LIT("Bearer "))) {
        return false;
    }
    /* Go's strings.TrimSpace also trims Unicode spaces such as U+00A0; no
     * client puts those around a token, and a token carrying them simply
     * fails to open (invalid_token instead of invalid_request). */
    struct slice token = slice_trim_space(slice_skip(value, SCHEME_LEN));
    if (token.len == 0) {
        return false;
    }
    *out_token = token;
    return true;
}

/* Does the value name the Bearer scheme (its first token, up to a space or
 * tab, case-insensitively)? "Bearer" alone and "Bearer   " do: a bearer
 * credential that is malformed, not a missing one. */
static bool
names_bearer_scheme(struct slice value)
{
    size_t n = 0;
    while (n < value.len && value.ptr[n] != ' ' && value.ptr[n] != '\t') {
        n++;
    }
    return slice_case_eq_cstr(slice_make(value.ptr, n), "Bearer");
}

/* REVOKE_BEFORE keeps sub-second precision while iat is whole seconds: iat
 * is before the cutoff when it is an earlier second, or the same second and
 * the cutoff lies past its start. */
static bool
is_revoked(const struct proxy_bearer_policy *p, int64_t iat)
{
    if (!p->revoke_before_set) {
        return false;
    }
    return iat < p->revoke_before_s || (iat == p->revoke_before_s && p->revoke_before_ns > 0);
}

/* The token's family (claim `fam`), or empty for a legacy token, which is
 * then checked by subject only. */
static struct slice
access_family(const struct grant_access *g)
{
    return slice_from_cstr(g->family_id);
}

static enum proxy_bearer_rc
deny(struct proxy_bearer_result *out, enum metrics_denied reason, const char *event)
{
    grants_cleanup_access(&out->grant);
    out->rc = PROXY_BEARER_INVALID_TOKEN;
    out->has_reason = true;
    out->reason = reason;
    out->log_event = event;
    return out->rc;
}

enum proxy_bearer_rc
proxy_bearer_check(const struct proxy_bearer_policy *policy, const struct slice *values,
                   size_t value_count, int64_t now_s, struct proxy_bearer_result *out)
{
    return proxy_bearer_check_cached(policy, NULL, values, value_count, now_s, out);
}

enum proxy_bearer_rc
proxy_bearer_check_cached(const struct proxy_bearer_policy *policy,
                          struct proxy_bearer_cache *cache, const struct slice *values,
                          size_t value_count, int64_t now_s, struct proxy_bearer_result *out)
{
    memset(out, 0, sizeof(*out));
    out->rc = PROXY_BEARER_INVALID_REQUEST;
    out->seal_rc = SEAL_OK;
    /* Several Authorization fields are ambiguous (which one would the
     * upstream or another proxy believe?); refuse rather than pick one. */
    if (value_count == 0 || (value_count == 1 && !names_bearer_scheme(values[0]))) {
        out->rc = PROXY_BEARER_NO_CREDENTIALS;
        return out->rc;
    }
    struct slice token;
    if (value_count != 1 || !proxy_bearer_credential(values[0], &token)) {
        return out->rc;
    }

    /* A token this worker opened before under the same ring opens to the
     * same grant (proxy/bearer_cache.h): only what can change since --
     * expiry, audience, then below resource and REVOKE_BEFORE -- is checked
     * again, by the same code and in the same order as a fresh open. */
    const struct grant_access *known = proxy_bearer_cache_get(cache, policy->ring, token, now_s);
    enum grants_rc grc;
    if (known != NULL) {
        out->grant = *known; /* borrowed: its storage is empty, cleanup frees nothing */
        grc = grants_check_access(&out->grant, policy->audience, now_s);
    } else {
        grc = grants_open_access(policy->ring, token, policy->audience, now_s, &out->grant,
                                 &out->seal_rc);
    }
    switch (grc) {
    case GRANTS_OK:
        break;
    case GRANTS_ERR_EXPIRED:
        return deny(out, METRICS_DENIED_TOKEN_EXPIRED, "token_validation_failed");
    case GRANTS_ERR_AUDIENCE:
        return deny(out, METRICS_DENIED_AUDIENCE_MISMATCH, "token_audience_mismatch");
    case GRANTS_ERR_OPEN:
    case GRANTS_ERR_PAYLOAD:
    case GRANTS_ERR_TYP:
    case GRANTS_RC_COUNT:
    default:
        return deny(out, METRICS_DENIED_INVALID_TOKEN, "token_validation_failed");
    }
    /* Empty res: a legacy token minted before resources were bound. */
    if (out->grant.resource[0] != '\0' && strcmp(out->grant.resource, policy->resource) != 0) {
        return deny(out, METRICS_DENIED_RESOURCE_MISMATCH, "token_resource_mismatch");
    }
    if (is_revoked(policy, out->grant.iat)) {
        return deny(out, METRICS_DENIED_TOKEN_REVOKED_IAT_CUTOFF, "token_revoked_iat_cutoff");
    }
    /* The revoked set (issue 14), on every use: a cached token is checked
     * here exactly like a fresh one, so a revocation reaches it at once. */
    enum revocation_verdict rv = revocation_check(access_family(&out->grant),
                                                  slice_from_cstr(out->grant.sub), out->grant.iat);
    if (rv != REVOCATION_CLEAR) {
        return deny(out, revocation_verdict_denied(rv), "token_revoked");
    }
    if (known == NULL) {
        proxy_bearer_cache_put(cache, policy->ring, token, &out->grant); /* only what passed */
    }
    out->rc = PROXY_BEARER_OK;
    return out->rc;
}

void
proxy_bearer_result_cleanup(struct proxy_bearer_result *r)
{
    grants_cleanup_access(&r->grant);
    memset(r, 0, sizeof(*r));
}

int
proxy_bearer_format_body(enum proxy_bearer_rc rc, struct buf *out)
{
    const char *desc = proxy_bearer_description(rc);
    if (desc == NULL) {
        return -1;
    }
    /* The HTTP layer's JSON error (keys already in sorted order), then the
     * newline SPEC.md 4.1's body has; all or nothing. */
    struct buf body;
    buf_init(&body, out->max);
    int ret = http_reply_format_error_json(&body, proxy_bearer_rc_str(rc), desc) != 0 ||
                      buf_append_byte(&body, '\n') != 0 ||
                      buf_append_slice(out, buf_slice(&body)) != 0
                  ? -1
                  : 0;
    buf_cleanup(&body);
    return ret;
}

/* Appends s as the inside of an RFC 9110 quoted-string. */
static int
append_quoted(struct buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if ((*s == '"' || *s == '\\') && buf_append_byte(b, '\\') != 0) {
            return -1;
        }
        if (buf_append_byte(b, *s) != 0) {
            return -1;
        }
    }
    return 0;
}

int
proxy_bearer_append_challenge_scope(const char *scope, struct buf *out)
{
    if (scope == NULL || scope[0] == '\0') {
        return 0;
    }
    struct buf tmp;
    buf_init(&tmp, out->max);
    int err = buf_append_str(&tmp, ", scope=\"");
    if (err == 0) {
        err = append_quoted(&tmp, scope);
    }
    if (err == 0) {
        err = buf_append_byte(&tmp, '"');
    }
    if (err == 0) {
        err = buf_append_slice(out, buf_slice(&tmp));
    }
    buf_cleanup(&tmp);
    return err;
}

/* The protected-resource metadata URL of the mount, quoted for a
 * WWW-Authenticate parameter: both challenges name it. */
static int
append_metadata_url(struct buf *b, const char *base, const char *mount)
{
    int err = append_quoted(b, base);
    if (err == 0) {
        err = buf_append_str(b, "/.well-known/oauth-protected-resource");
    }
    if (err == 0) {
        err = append_quoted(b, mount);
    }
    return err;
}

int
proxy_bearer_format_challenge(enum proxy_bearer_rc rc, const char *base, const char *mount,
                              struct buf *out)
{
    const char *desc = proxy_bearer_description(rc);
    if (desc == NULL) {
        return -1;
    }
    /* Built aside and appended in one step, so a cap hit leaves out as it
     * was. */
    struct buf tmp;
    buf_init(&tmp, out->max);
    int err = rc == PROXY_BEARER_NO_CREDENTIALS
                  ? buf_append_str(&tmp, "Bearer resource_metadata=\"")
                  : buf_appendf(&tmp,
                                "Bearer error=\"%s\", error_description=\"%s\", "
                                "resource_metadata=\"",
                                proxy_bearer_rc_str(rc), desc);
    if (err == 0) {
        err = append_metadata_url(&tmp, base, mount);
    }
    if (err == 0) {
        err = buf_append_byte(&tmp, '"');
    }
    if (err == 0) {
        err = buf_append_slice(out, buf_slice(&tmp));
    }
    buf_cleanup(&tmp);
    return err;
}

int
proxy_bearer_format_scope_challenge(const char *scope, const char *description, const char *base,
                                    const char *mount, struct buf *out)
{
    struct buf tmp;
    buf_init(&tmp, out->max);
    int err = buf_append_str(&tmp, "Bearer error=\"insufficient_scope\", scope=\"");
    if (err == 0) {
        err = append_quoted(&tmp, scope);
    }
    if (err == 0) {
        err = buf_append_str(&tmp, "\", resource_metadata=\"");
    }
    if (err == 0) {
        err = append_metadata_url(&tmp, base, mount);
    }
    if (err == 0) {
        err = buf_append_str(&tmp, "\", error_description=\"");
    }
    if (err == 0) {
        err = append_quoted(&tmp, description);
    }
    if (err == 0) {
        err = buf_append_byte(&tmp, '"');
    }
    if (err == 0) {
        err = buf_append_slice(out, buf_slice(&tmp));
    }
    buf_cleanup(&tmp);
    return err;
}
