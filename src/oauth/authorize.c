/* GET /authorize (SPEC.md 3.3): the pure checks of oauth/authorize_rules
 * around one asynchronous step, the client lookup (oauth/client.h), then
 * the consent fork (render the consent page, 3.4) or the silent fork (302
 * to the IdP, 6.2).
 *
 * The request's context lives in its arena; the decoded parameters are
 * released by an arena cleanup, so every path out simply returns. */
#include "oauth/oauth.h"

#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/form.h"
#include "base/rand.h"
#include "base/scope.h"
#include "bounds.h"
#include "config.h"
#include "grants.h"
#include "http/request.h"
#include "http/router.h"
#include "log.h"
#include "metrics.h"
#include "oauth/authorize_rules.h"
#include "oauth/binding.h"
#include "oauth/client.h"
#include "oauth/flow.h"
#include "oauth/reply.h"
#include "oauth/stepup_rules.h"
#include "policy/policy.h"

struct authorize_ctx {
    struct http_request *req;
    const struct oauth *oauth;
    struct form_params params;
    struct oauth_authorize_request ar;
    struct oauth_client_lookup *lookup;
};

static void
params_cleanup(void *ptr)
{
    form_params_cleanup(ptr);
}

/* Step 2: nothing beyond the parameters we read is forwarded to the IdP;
 * say so at debug level, one line per dropped parameter. */
static void
log_dropped(struct http_request *req, const struct form_params *p)
{
    if (!log_enabled(LOG_DEBUG)) {
        return;
    }
    for (size_t i = 0; i < p->count; i++) {
        const char *category = oauth_authorize_rules_param_category(p->items[i].name);
        if (category == NULL) {
            continue;
        }
        struct log_line l;
        http_request_log_begin(&l, req, LOG_DEBUG, "authorize_param_dropped");
        log_sample(&l, "param", p->items[i].name);
        log_str(&l, "category", category);
        log_end(&l);
    }
}

/* Step 14: the consent page, with a consent grant minted for it and the
 * browser binding (oauth/binding.h): the page sets the cookie holding B,
 * the grant seals its hash, and only that browser can then decide. */
static void
consent_fork(struct authorize_ctx *ctx, const struct oauth_client *client, const char *state,
             bool server_pkce, const char *scope)
{
    const struct config *cfg = ctx->oauth->cfg;
    metrics_inc_authorize_initiated(true);
    char jti[RAND_UUID_LEN + 1];
    rand_uuid(jti);
    struct oauth_binding b;
    oauth_binding_new(&b);
    struct grant_consent g = {
        .jti = jti,
        .client_id = client->id,
        .client_name = client->name,
        .redirect_uri = ctx->ar.redirect_uri,
        .client_state = state,
        .code_challenge = ctx->ar.code_challenge,
        .server_pkce = server_pkce,
        .resource = cfg->canonical_resource,
        .scope = scope,
        .binding_hash = b.hash,
        .aud = cfg->proxy_base_url,
        .exp = clock_unix_s() + BOUNDS_CONSENT_TTL_S,
    };
    (void)oauth_flow_reply_consent_page(ctx->req, ctx->oauth, &g, false, b.secret);
}

/* Step 15: no page; the session is built as /consent's approve builds it
 * and the browser goes straight to the IdP. The 302 sets the callback
 * cookie, so the IdP's answer still counts only in this browser. */
static void
silent_fork(struct authorize_ctx *ctx, const struct oauth_client *client, const char *state,
            bool server_pkce, const char *scope)
{
    const struct config *cfg = ctx->oauth->cfg;
    metrics_inc_authorize_initiated(false);
    struct oauth_binding b;
    oauth_binding_new(&b);
    struct oauth_flow_session_in in = {
        .client_id = client->id,
        .redirect_uri = ctx->ar.redirect_uri,
        .code_challenge = ctx->ar.code_challenge,
        .client_state = state,
        .resource = cfg->canonical_resource,
        .scope = scope,
        .binding_hash = b.hash,
        .server_pkce = server_pkce,
    };
    struct buf url;
    buf_init(&url, BOUNDS_FLOW_URL_MAX);
    if (oauth_flow_session_begin(ctx->req, ctx->oauth, &in, clock_unix_s(), &url) !=
            OAUTH_FLOW_OK ||
        oauth_flow_set_binding_cookie(ctx->req, ctx->oauth, OAUTH_BINDING_COOKIE_CALLBACK, b.hash,
                                      b.secret, BOUNDS_SESSION_TTL_S) != 0) {
        struct oauth_error err;
        oauth_error_set(&err, 302, OAUTH_ERROR_SERVER_ERROR, "internal error");
        (void)oauth_flow_reply_error_to_client(ctx->req, ctx->oauth, OAUTH_FLOW_VIA_REDIRECT,
                                               ctx->ar.redirect_uri, &err, state);
    } else {
        struct log_line l;
        http_request_log_begin(&l, ctx->req, LOG_DEBUG, "idp_redirect");
        log_str(&l, "internal_client_id", client->id);
        log_end(&l);
        (void)oauth_flow_reply_redirect(ctx->req, buf_cstr(&url));
    }
    buf_cleanup(&url);
}

static void
on_client(enum oauth_client_rc rc, const struct oauth_client *client, const struct oauth_error *err,
          void *arg)
{
    struct authorize_ctx *ctx = arg;
    struct http_request *req = ctx->req;
    ctx->lookup = NULL;
    http_request_on_abort(req, NULL, NULL);
    /* 4-7: metered and logged by the lookup. */
    if (rc != OAUTH_CLIENT_OK) {
        (void)oauth_reply_error(req, err);
        return;
    }

    const struct config *cfg = ctx->oauth->cfg;
    const struct oauth_authorize_policy policy = {
        .base = cfg->proxy_base_url,
        .mount = cfg->mount,
        .pkce_required = cfg->pkce_required,
        .allow_stateless = cfg->compat_allow_stateless,
        .state_required = cfg->state_required,
        .scopes_supported = cfg->scopes_supported,
    };
    struct oauth_authorize_outcome out;
    oauth_authorize_rules_check(&ctx->ar, client->redirect_uris, client->redirect_uri_count,
                                &policy, &out);
    /* 13: counted in both modes (SPEC.md 10.1 item 6). */
    if (out.state_missing) {
        metrics_inc_denied(METRICS_DENIED_STATE_MISSING);
        if (out.verdict == OAUTH_AUTHORIZE_REDIRECT_ERROR) {
            struct log_line l;
            http_request_log_begin(&l, req, LOG_WARN, "access_denied_state_missing");
            log_str(&l, "client_id", client->id);
            log_end(&l);
        }
    }
    switch (out.verdict) {
    case OAUTH_AUTHORIZE_REPLY_JSON:
        (void)oauth_reply_error(req, &out.err);
        return;
    case OAUTH_AUTHORIZE_REDIRECT_ERROR:
        (void)oauth_flow_reply_error_to_client(req, ctx->oauth, OAUTH_FLOW_VIA_REDIRECT,
                                               ctx->ar.redirect_uri, &out.err, ctx->ar.state);
        return;
    default:
        break;
    }

    char minted[RAND_HEX32_LEN + 1];
    const char *state = ctx->ar.state;
    if (out.synthesize_state) {
        /* COMPAT_ALLOW_STATELESS: SPEC.md 2.7, 16 random bytes as hex. */
        rand_hex32(minted);
        state = minted;
    }
    /* A client that names no scope gets the default without the step-up
     * scopes: a first login asks the IdP for no second factor; the 403
     * challenge of the call that needs one names it (docs/step-up.md). */
    struct slice asked = ctx->ar.scope != NULL ? slice_from_cstr(ctx->ar.scope) : SLICE_LIT("");
    struct slice tok;
    if (!scope_next(&asked, " ", &tok)) {
        struct buf narrowed;
        buf_init(&narrowed, OAUTH_SCOPE_RULES_MAX - 1);
        const struct policy *pol = policy_holder_acquire(ctx->oauth->policy);
        if (pol != NULL && oauth_stepup_rules_without(pol, out.scope, &narrowed) == 0) {
            memcpy(out.scope, buf_cstr(&narrowed), narrowed.len + 1);
        }
        policy_release(pol);
        buf_cleanup(&narrowed);
    }
    if (cfg->render_consent_page) {
        consent_fork(ctx, client, state, out.server_pkce, out.scope);
    } else {
        silent_fork(ctx, client, state, out.server_pkce, out.scope);
    }
}

static void
on_abort(struct http_request *req, void *arg)
{
    (void)req;
    struct authorize_ctx *ctx = arg;
    oauth_client_resolve_cancel(ctx->lookup);
    ctx->lookup = NULL;
}

void
oauth_authorize_handle(struct http_request *req, void *arg)
{
    struct arena *arena = http_request_arena(req);
    struct authorize_ctx *ctx = arena_zalloc(arena, sizeof(*ctx));
    if (ctx == NULL) {
        (void)oauth_reply_error_simple(req, 500, OAUTH_ERROR_SERVER_ERROR, "internal error");
        return;
    }
    ctx->req = req;
    ctx->oauth = arg;

    /* Query mode: malformed pairs are dropped, not refused (SPEC.md 3.0.7);
     * only the pair-count cap can fail. */
    if (form_parse(http_request_query(req), FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX,
                   &ctx->params) != FORM_OK) {
        (void)oauth_reply_error_simple(req, 400, OAUTH_ERROR_INVALID_REQUEST,
                                       "too many query parameters");
        return;
    }
    arena_on_free(arena, params_cleanup, &ctx->params);

    /* 1, 3 (2 logs). */
    struct oauth_error err;
    bool client_id_missing = false;
    enum oauth_authorize_verdict v =
        oauth_authorize_rules_parse(&ctx->params, &ctx->ar, &err, &client_id_missing);
    if (v == OAUTH_AUTHORIZE_PROCEED || client_id_missing) {
        log_dropped(req, &ctx->params);
    }
    if (client_id_missing) {
        metrics_inc_denied(METRICS_DENIED_CLIENT_ID_MISSING);
        struct log_line l;
        http_request_log_begin(&l, req, LOG_WARN, "access_denied_client_id_missing");
        log_end(&l);
    }
    if (v != OAUTH_AUTHORIZE_PROCEED) {
        (void)oauth_reply_error(req, &err);
        return;
    }

    /* 4-7, answered on the loop. */
    ctx->lookup = oauth_client_resolve_start(req, ctx->oauth, slice_from_cstr(ctx->ar.client_id),
                                             OAUTH_CLIENT_SITE_AUTHORIZE, on_client, ctx);
    http_request_on_abort(req, on_abort, ctx);
}

/* GET /authorize (SPEC.md 3.3), HEAD with it: a per-IP bucket of its own
 * (3.0.3); no CORS (SPEC preface fix 10). */
const struct http_route_def oauth_authorize_route = {
    .path = "/authorize",
    .methods = HTTP_METHODS_GET,
    .handler = oauth_authorize_handle,
    .opts = {.rate_limited = true,
             .bucket = METRICS_ENDPOINT_AUTHORIZE,
             .metric_route = METRICS_ROUTE_AUTHORIZE},
};
