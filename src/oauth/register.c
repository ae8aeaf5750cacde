/* POST /register: RFC 7591 dynamic client registration (SPEC.md 3.2).
 *
 * Stateless: the registration is sealed into the client_id itself (a
 * `client` grant: internal UUID, redirect URIs verbatim, client name,
 * application_type, audience, expiry), so nothing is stored and any replica can open it.
 * No client authentication: the Authorization header is ignored and the
 * Content-Type is not checked, as in Go. The body cap (64 KiB) is the
 * route's, applied by the connection layer before one byte is read. */
#include "oauth/oauth.h"

#include <assert.h>
#include <inttypes.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/rand.h"
#include "bounds.h"
#include "config.h"
#include "grants.h"
#include "http/request.h"
#include "http/router.h"
#include "log.h"
#include "metrics.h"
#include "oauth/cors.h"
#include "oauth/register_rules.h"
#include "oauth/reply.h"

/* The success body: a sealed client (BOUNDS_SEALED_MAX_CHARS at most),
 * five URIs of 512 bytes and a 512-byte name, each escaped six bytes per
 * byte at worst, and a few fixed keys. */
#define REGISTER_BODY_MAX                                                                          \
    (BOUNDS_SEALED_MAX_CHARS +                                                                     \
     6 * (BOUNDS_REDIRECT_URIS_MAX * (BOUNDS_REDIRECT_URI_MAX_BYTES + 3) +                         \
          BOUNDS_CLIENT_NAME_MAX_BYTES + BOUNDS_REGISTER_SCOPE_MAX_BYTES) +                        \
     512)

/* exp of a new client: now + TTL, or 0 (never) when the TTL is 0
 * (CLIENT_REGISTRATION_TTL=0, SPEC.md 2.4). Saturates rather than wrap. */
static int64_t
client_expiry(int64_t now_s, uint64_t ttl_s)
{
    if (ttl_s == 0) {
        return 0;
    }
    if (ttl_s > (uint64_t)(INT64_MAX - now_s)) {
        return INT64_MAX;
    }
    return now_s + (int64_t)ttl_s;
}

/* RFC 7591 3.2.1, keys in SPEC.md 3.2's order; client_name only when
 * non-empty; application_type as stored (not in SPEC.md); the method is
 * always "none" (the only one honoured; a client_secret_* request was
 * replaced by it). Then the accepted metadata the client sent, as
 * registered: grant_types (the supported ones it asked for),
 * response_types, scope (verbatim, "" included). */
static int
format_body(const struct oauth_registration *reg, struct slice client_id, int64_t now_s,
            int64_t exp_s, struct buf *b)
{
    if (buf_append_str(b, "{\"client_id\":") != 0 ||
        oauth_reply_append_json_string(b, client_id) != 0 ||
        buf_appendf(b,
                    ",\"client_id_issued_at\":%" PRId64 ",\"client_id_expires_at\":%" PRId64
                    ",\"redirect_uris\":[",
                    now_s, exp_s) != 0) {
        return -1;
    }
    for (size_t i = 0; i < reg->redirect_uri_count; i++) {
        if ((i > 0 && buf_append_byte(b, ',') != 0) ||
            oauth_reply_append_json_string(b, slice_from_cstr(reg->redirect_uris[i])) != 0) {
            return -1;
        }
    }
    if (buf_append_byte(b, ']') != 0) {
        return -1;
    }
    if (reg->client_name[0] != '\0' &&
        (buf_append_str(b, ",\"client_name\":") != 0 ||
         oauth_reply_append_json_string(b, slice_from_cstr(reg->client_name)) != 0)) {
        return -1;
    }
    /* As stored, so a "web" that was recorded as "native" says so. */
    if (buf_appendf(b, ",\"application_type\":\"%s\"", reg->application_type) != 0) {
        return -1;
    }
    if (buf_append_str(b, ",\"token_endpoint_auth_method\":\"none\"") != 0) {
        return -1;
    }
    if (reg->grant_types_set &&
        buf_append_str(b, reg->refresh_token_grant
                              ? ",\"grant_types\":[\"authorization_code\",\"refresh_token\"]"
                              : ",\"grant_types\":[\"authorization_code\"]") != 0) {
        return -1;
    }
    if (reg->response_types_set && buf_append_str(b, ",\"response_types\":[\"code\"]") != 0) {
        return -1;
    }
    if (reg->scope != NULL &&
        (buf_append_str(b, ",\"scope\":") != 0 ||
         oauth_reply_append_json_string(b, slice_from_cstr(reg->scope)) != 0)) {
        return -1;
    }
    return buf_append_str(b, "}\n");
}

static void
reply_seal_failed(struct http_request *req, const char *why)
{
    struct oauth_error err;
    oauth_error_set(&err, 500, OAUTH_ERROR_SERVER_ERROR, "failed to register client");
    struct log_line l;
    http_request_log_begin(&l, req, LOG_ERROR, "client_seal_failed");
    log_str(&l, "error", why);
    (void)oauth_reply_error_event(req, &err, &l);
}

static void
log_registered(const struct http_request *req, const char *id, const struct oauth_registration *reg)
{
    struct log_line l;
    http_request_log_begin(&l, req, LOG_INFO, "client_registered");
    log_str(&l, "internal_id", id);
    /* Client-chosen text: truncated, non-printable bytes replaced. */
    log_sample(&l, "client_name", slice_from_cstr(reg->client_name));
    log_str(&l, "application_type", reg->application_type);
    if (reg->application_type_coerced) {
        log_bool(&l, "application_type_coerced", true);
    }
    if (reg->auth_method_replaced) {
        log_bool(&l, "auth_method_replaced", true);
    }
    log_end(&l);
}

void
oauth_register_handle(struct http_request *req, void *arg)
{
    const struct oauth *oauth = arg;
    const struct config *cfg = oauth->cfg;
    struct oauth_registration reg = {0};
    struct buf token;
    struct buf body;
    buf_init(&token, BOUNDS_SEALED_MAX_CHARS);
    buf_init(&body, REGISTER_BODY_MAX);
    (void)oauth_cors_allow_origin(req);

    struct oauth_error err;
    if (!cfg->dcr_enabled) {
        /* DCR_ENABLED=false: the metadata no longer names this endpoint;
         * a client that calls it anyway is told why, not a bare 404. */
        oauth_error_set(&err, 400, OAUTH_ERROR_INVALID_REQUEST,
                        "dynamic client registration is disabled on this server; use a client "
                        "ID metadata document (an https client_id)");
        (void)oauth_reply_error(req, &err);
        goto out;
    }
    if (oauth_register_rules_parse(http_request_body_slice(req), BOUNDS_OAUTH_BODY_MAX, &reg,
                                   &err) != 0) {
        (void)oauth_reply_error(req, &err);
        goto out;
    }
    char id[RAND_UUID_LEN + 1];
    rand_uuid(id);
    int64_t now_s = clock_unix_s();
    int64_t exp_s = client_expiry(now_s, cfg->client_registration_ttl_s);
    struct grant_client client = {
        .id = id,
        .redirect_uris = (const char *const *)reg.redirect_uris,
        .redirect_uri_count = reg.redirect_uri_count,
        .client_name = reg.client_name,
        .application_type = reg.application_type,
        .aud = cfg->proxy_base_url,
        .exp = exp_s,
    };
    if (oauth->seal == NULL) {
        /* Fail closed: without a key ring nothing can be sealed. */
        reply_seal_failed(req, "no seal key ring");
        goto out;
    }
    enum seal_rc rc = grants_seal_client(oauth->seal, &client, &token);
    if (rc != SEAL_OK) {
        reply_seal_failed(req, seal_rc_str(rc));
        goto out;
    }
    /* REGISTER_BODY_MAX covers the largest accepted registration. */
    int formatted = format_body(&reg, buf_slice(&token), now_s, exp_s, &body);
    assert(formatted == 0);
    (void)formatted;
    metrics_inc(METRICS_CLIENTS_REGISTERED);
    log_registered(req, id, &reg);
    (void)oauth_reply_json_nostore(req, 201, buf_cstr(&body));
out:
    buf_cleanup(&body);
    buf_cleanup(&token);
    oauth_register_rules_cleanup(&reg);
}

/* POST /register (SPEC.md 3.2): its own per-IP bucket; the JSON 413 with
 * CORS is sent before the body is read; a CORS preflight (SPEC preface
 * fix 10). */
const struct http_route_def oauth_register_route = {
    .path = "/register",
    .methods = HTTP_METHODS_POST,
    .handler = oauth_register_handle,
    .opts = {.rate_limited = true,
             .bucket = METRICS_ENDPOINT_REGISTER,
             .metric_route = METRICS_ROUTE_REGISTER,
             .too_large = oauth_cors_too_large,
             .rate_limited_reply = oauth_cors_rate_limited},
    .preflight = oauth_cors_preflight_handle,
    .preflight_arg = OAUTH_CORS_METHODS_POST,
};
