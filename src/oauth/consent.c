/* POST /consent (SPEC.md 3.5): the user's decision on the consent page.
 *
 * The body is a form (example):
 *   consent_token=<sealed consent>&action=approve
 *
 * Only the browser that was shown the page may decide (ours, not in
 * SPEC.md; oauth/binding.h, docs/threat-model.md "Consent CSRF"): a
 * cross-site request is refused before anything is read, and once the
 * token opens, the request must carry the consent cookie whose secret
 * hashes to the token's bh. Both refusals are a 403 page, before the
 * claim, so nothing is consumed.
 *
 * Steps 1-8 are synchronous. Step 9, the single-use claim of the consent
 * token's jti, is one asynchronous round trip to the worker's replay store
 * (Redis, or the in-process table); the decision (steps 10-12) runs from
 * its answer. The claim comes before the action is read, so a captured
 * token cannot be replayed for either decision. A replay is not an error:
 * the page is shown again with a fresh token (SPEC.md 10.1 item 11).
 *
 * The context lives in the request's arena; the opened grant is released
 * by an arena cleanup. If the client leaves while the claim is in flight,
 * the abort callback cancels it (the claim itself stands, store.h). */
#include "oauth/oauth.h"

#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/form.h"
#include "base/rand.h"
#include "bounds.h"
#include "config.h"
#include "grants.h"
#include "http/request.h"
#include "http/router.h"
#include "log.h"
#include "metrics.h"
#include "oauth/binding.h"
#include "oauth/flow.h"
#include "oauth/reply.h"
#include "store/store.h"
#include "worker.h"

struct consent_ctx {
    struct http_request *req;
    const struct oauth *oauth;
    struct form_params form;
    struct grant_consent grant;
    const char *action;
    struct store_op *claim;
    char secret[OAUTH_BINDING_SECRET_LEN + 1]; /* B from the verified consent cookie */
};

static void
ctx_cleanup(void *ptr)
{
    struct consent_ctx *ctx = ptr;
    form_params_cleanup(&ctx->form);
    grants_cleanup_consent(&ctx->grant);
}

static int
reply_invalid(struct http_request *req, int status, const char *description)
{
    return oauth_reply_error_simple(req, status, OAUTH_ERROR_INVALID_REQUEST, description);
}

/* Step 3: the form is read only under the form media type; any other (or
 * no) Content-Type leaves it empty, which then fails as "consent_token is
 * required" (SPEC.md 3.0.7). Returns 0, or -1 after replying. */
static int
parse_form(struct consent_ctx *ctx)
{
    struct http_request *req = ctx->req;
    struct slice ct;
    if (!http_request_header_get(req, "Content-Type", &ct)) {
        return 0;
    }
    const char *ct_str = arena_slicedup(http_request_arena(req), ct);
    if (ct_str == NULL) {
        (void)oauth_reply_error_simple(req, 500, OAUTH_ERROR_SERVER_ERROR, "internal error");
        return -1;
    }
    if (!form_is_content_type(ct_str)) {
        return 0;
    }
    switch (form_parse(http_request_body_slice(req), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX,
                       &ctx->form)) {
    case FORM_OK:
        return 0;
    case FORM_ERR_TOO_MANY:
        (void)reply_invalid(req, 400, "too many form parameters");
        return -1;
    default:
        (void)reply_invalid(req, 400, "malformed form body");
        return -1;
    }
}

/* Step 12: seal the IdP session and send the browser there. */
static void
approve(struct consent_ctx *ctx)
{
    const struct grant_consent *g = &ctx->grant;
    struct oauth_flow_session_in in = {
        .client_id = g->client_id,
        .redirect_uri = g->redirect_uri,
        .code_challenge = g->code_challenge,
        .client_state = g->client_state,
        .resource = g->resource,
        .scope = g->scope,
        .binding_hash = g->binding_hash,
        .server_pkce = g->server_pkce,
    };
    struct buf url;
    buf_init(&url, BOUNDS_FLOW_URL_MAX);
    /* The same B moves to the callback cookie: Lax, because the IdP's
     * redirect back is a cross-site navigation (oauth/binding.h). */
    if (oauth_flow_session_begin(ctx->req, ctx->oauth, &in, clock_unix_s(), &url) !=
            OAUTH_FLOW_OK ||
        oauth_flow_set_binding_cookie(ctx->req, ctx->oauth, OAUTH_BINDING_COOKIE_CALLBACK,
                                      g->binding_hash, ctx->secret, BOUNDS_SESSION_TTL_S) != 0) {
        struct oauth_error err;
        oauth_error_set(&err, 400, OAUTH_ERROR_SERVER_ERROR, "internal error");
        (void)oauth_flow_reply_error_to_client(ctx->req, ctx->oauth, OAUTH_FLOW_VIA_INTERSTITIAL,
                                               g->redirect_uri, &err, g->client_state);
        goto out;
    }
    struct log_line l;
    http_request_log_begin(&l, ctx->req, LOG_INFO, "consent_approved");
    log_str(&l, "client_id", g->client_id);
    log_sample(&l, "client_name", slice_from_cstr(g->client_name));
    log_end(&l);
    metrics_inc_consent_decision(true);
    (void)oauth_flow_reply_interstitial(ctx->req, buf_cstr(&url));
out:
    buf_cleanup(&url);
}

/* Steps 10-12, once the token is known to be used for the first time. */
static void
decide(struct consent_ctx *ctx)
{
    const struct grant_consent *g = &ctx->grant;
    /* The token is spent: its cookie has no further use, whatever the
     * answer. */
    oauth_flow_clear_binding_cookie(ctx->req, ctx->oauth, OAUTH_BINDING_COOKIE_CONSENT,
                                    g->binding_hash);
    if (strcmp(ctx->action, "deny") == 0) {
        /* Counted before the target is built, even if it then falls back
         * to JSON (SPEC.md 7.1); a user's "no" is not an access denial. */
        metrics_inc_consent_decision(false);
        struct log_line l;
        http_request_log_begin(&l, ctx->req, LOG_INFO, "consent_denied");
        log_str(&l, "client_id", g->client_id);
        log_sample(&l, "client_name", slice_from_cstr(g->client_name));
        log_end(&l);
        struct oauth_error err;
        oauth_error_set(&err, 400, OAUTH_ERROR_ACCESS_DENIED,
                        "user declined to authorize this client");
        (void)oauth_flow_reply_error_to_client(ctx->req, ctx->oauth, OAUTH_FLOW_VIA_INTERSTITIAL,
                                               g->redirect_uri, &err, g->client_state);
        return;
    }
    if (strcmp(ctx->action, "approve") != 0) {
        (void)reply_invalid(ctx->req, 400, "action must be approve or deny");
        return;
    }
    approve(ctx);
}

/* Step 9, already claimed: show the page again with a new jti and the
 * original expiry, whatever the action said. Benign double submits land
 * here too; the fresh token works exactly once. */
static void
rerender(struct consent_ctx *ctx)
{
    const struct grant_consent *g = &ctx->grant;
    metrics_inc_replay(METRICS_REPLAY_CONSENT);
    struct log_line l;
    http_request_log_begin(&l, ctx->req, LOG_WARN, "consent_token_replay");
    log_str(&l, "jti", g->jti);
    log_str(&l, "client_id", g->client_id);
    log_end(&l);

    char jti[RAND_UUID_LEN + 1];
    rand_uuid(jti);
    struct grant_consent fresh = *g;
    fresh.jti = jti;
    fresh.storage = (struct grants_storage){0}; /* a grant being built owns nothing */
    /* The same bh, and the cookie set again with the same B: a first submit
     * that raced this one may have cleared it. */
    (void)oauth_flow_reply_consent_page(ctx->req, ctx->oauth, &fresh, true, ctx->secret);
}

static void
store_failed(struct consent_ctx *ctx, const char *error)
{
    metrics_inc_denied(METRICS_DENIED_REPLAY_STORE_UNAVAILABLE);
    struct log_line l;
    http_request_log_begin(&l, ctx->req, LOG_ERROR, "replay_store_error");
    log_str(&l, "op", "claim_consent");
    log_str(&l, "error", error != NULL ? error : "");
    log_end(&l);
    struct oauth_error err;
    oauth_error_set(&err, 503, OAUTH_ERROR_SERVER_ERROR, "replay store unavailable");
    err.error_code = "replay_store_unavailable";
    (void)oauth_reply_error(ctx->req, &err);
}

static void
on_claim(enum store_rc rc, const char *error, void *arg)
{
    struct consent_ctx *ctx = arg;
    ctx->claim = NULL;
    http_request_on_abort(ctx->req, NULL, NULL);
    switch (rc) {
    case STORE_OK:
        decide(ctx);
        break;
    case STORE_ERR_ALREADY_USED:
        rerender(ctx);
        break;
    default:
        store_failed(ctx, error);
        break;
    }
}

static void
on_abort(struct http_request *req, void *arg)
{
    (void)req;
    struct consent_ctx *ctx = arg;
    store_cancel(ctx->claim);
    ctx->claim = NULL;
}

/* Step 9: claim consent:<jti> for the rest of the token's life. Without a
 * store (single replica, REDIS_REQUIRED=false and no in-process store) or
 * on a legacy token without jti there is nothing to claim. */
static void
claim_then_decide(struct consent_ctx *ctx)
{
    struct store *store = store_of_worker(http_request_worker(ctx->req));
    const struct grant_consent *g = &ctx->grant;
    if (store == NULL || g->jti[0] == '\0') {
        decide(ctx);
        return;
    }
    struct buf key;
    buf_init(&key, BOUNDS_STORE_KEY_MAX + 1);
    if (store_key_consent(slice_from_cstr(g->jti), &key) != 0) {
        /* Only a jti we did not mint could be this long: fail closed. */
        buf_cleanup(&key);
        store_failed(ctx, "key too long");
        return;
    }
    int64_t now = clock_unix_s();
    ctx->claim =
        store_claim_once(store, buf_slice(&key), store_ttl_ms_until(g->exp, now), on_claim, ctx);
    buf_cleanup(&key);
    http_request_on_abort(ctx->req, on_abort, ctx);
}

/* Steps 6-8. Returns 0 with ctx->grant open, or -1 after replying. */
static int
open_token(struct consent_ctx *ctx, const char *token)
{
    const struct config *cfg = ctx->oauth->cfg;
    enum grants_rc rc = grants_open_consent(ctx->oauth->seal, slice_from_cstr(token),
                                            cfg->proxy_base_url, clock_unix_s(), &ctx->grant, NULL);
    struct oauth_error err;
    if (!oauth_error_from_grants(OAUTH_ERROR_TOKEN_CONSENT, rc, &err)) {
        (void)oauth_reply_error(ctx->req, &err);
        return -1;
    }
    return 0;
}

/* Step 0 (ours): a decision only from our own page. A cross-site form
 * post is refused before the form is read. Returns 0, or -1 after
 * replying. */
static int
check_site(struct consent_ctx *ctx)
{
    enum oauth_binding_site_rc rc = oauth_flow_site_check(ctx->req, ctx->oauth);
    if (rc == OAUTH_BINDING_SITE_OK) {
        return 0;
    }
    metrics_inc_denied(METRICS_DENIED_CONSENT_CROSS_SITE);
    struct log_line l;
    http_request_log_begin(&l, ctx->req, LOG_WARN, "access_denied_consent_cross_site");
    log_str(&l, "reason", oauth_binding_site_rc_str(rc));
    (void)oauth_flow_reply_refused(ctx->req, &l);
    return -1;
}

/* Step 8b (ours): the browser holds the consent cookie whose secret hashes
 * to the token's bh. Before the claim, so a refusal consumes nothing.
 * Returns 0 with ctx->secret set, or -1 after replying. */
static int
check_browser(struct consent_ctx *ctx)
{
    const struct grant_consent *g = &ctx->grant;
    enum oauth_binding_rc rc = oauth_flow_binding_check(
        ctx->req, ctx->oauth, OAUTH_BINDING_COOKIE_CONSENT, g->binding_hash, ctx->secret);
    if (rc == OAUTH_BINDING_OK) {
        return 0;
    }
    metrics_inc_denied(METRICS_DENIED_CONSENT_BROWSER_MISMATCH);
    struct log_line l;
    http_request_log_begin(&l, ctx->req, LOG_WARN, "access_denied_consent_browser_mismatch");
    log_str(&l, "client_id", g->client_id);
    log_str(&l, "reason", oauth_binding_rc_str(rc));
    (void)oauth_flow_reply_refused(ctx->req, &l);
    return -1;
}

void
oauth_consent_handle(struct http_request *req, void *arg)
{
    struct arena *arena = http_request_arena(req);
    struct consent_ctx *ctx = arena_zalloc(arena, sizeof(*ctx));
    if (ctx == NULL) {
        (void)oauth_reply_error_simple(req, 500, OAUTH_ERROR_SERVER_ERROR, "internal error");
        return;
    }
    ctx->req = req;
    ctx->oauth = arg;
    arena_on_free(arena, ctx_cleanup, ctx);

    /* 0. */
    if (check_site(ctx) != 0) {
        return;
    }
    /* 1. Go tests RawQuery != "": a bare '?' is no query. */
    if (http_request_query(req).len > 0) {
        (void)reply_invalid(req, 400,
                            "consent endpoint parameters must be in the request body, not the "
                            "URL query");
        return;
    }
    /* 2. The consent form never carries client credentials. */
    struct slice authz;
    if (http_request_header_get(req, "Authorization", &authz) && authz.len > 0) {
        struct oauth_error err;
        oauth_error_set(&err, 401, OAUTH_ERROR_INVALID_CLIENT,
                        "this consent endpoint does not authenticate clients");
        (void)oauth_reply_error_basic(req, &err, "consent");
        return;
    }
    /* 3 (the 413 is the route's too_large option). */
    if (parse_form(ctx) != 0) {
        return;
    }
    /* 4. */
    static const char *const singletons[] = {"consent_token", "action"};
    const char *repeated = form_params_find_repeated(&ctx->form, singletons, 2);
    if (repeated != NULL) {
        (void)reply_invalid(req, 400,
                            repeated == singletons[0] ? "consent_token must not be repeated"
                                                      : "action must not be repeated");
        return;
    }
    const char *token = form_params_get(&ctx->form, "consent_token", NULL);
    ctx->action = form_params_get(&ctx->form, "action", NULL);
    /* 5. */
    if (token[0] == '\0') {
        (void)reply_invalid(req, 400, "consent_token is required");
        return;
    }
    /* 6-8, 8b. */
    if (open_token(ctx, token) != 0 || check_browser(ctx) != 0) {
        return;
    }
    /* 9-12. */
    claim_then_decide(ctx);
}

/* POST /consent (SPEC.md 3.5): a per-IP bucket of its own, independent of
 * /authorize's (3.0.3); the 1 MiB body cap answers the JSON 413; never a
 * preflight (SPEC preface fix 10). */
const struct http_route_def oauth_consent_route = {
    .path = "/consent",
    .methods = HTTP_METHODS_POST,
    .handler = oauth_consent_handle,
    .opts = {.rate_limited = true,
             .bucket = METRICS_ENDPOINT_CONSENT,
             .metric_route = METRICS_ROUTE_CONSENT,
             .too_large = oauth_reply_too_large},
};
