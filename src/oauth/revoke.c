/* POST /revoke (RFC 7009): a client hands back a token it no longer needs,
 * and the whole family that token belongs to is revoked -- a refresh
 * token's family (every later refresh refused, by the family marker
 * refresh_family_revoked:<fam> that rotation reads) and, through the
 * revoked set every replica keeps (src/revocation/), the family's access
 * tokens on every replica's MCP mount.
 *
 * The front is /token's (oauth/token_client.h): the form in the body, the
 * client resolved, an RFC 7523 assertion checked when sent. Then the token
 * is judged (oauth/revoke_rules.h); only a token this client owns, alive
 * and carrying a family, is revoked; every other token is answered 200 and
 * nothing happens (RFC 7009 2.2). Writing the revocation is the one step
 * that can fail: 503 replay_store_unavailable (RFC 7009 2.2.1 allows 503;
 * docs/conformance.md), so the client retries instead of believing a
 * revocation that did not happen.
 *
 * One struct revoke per request, in the request's arena; the abort
 * callback cancels what is outstanding. A revocation already sent stands
 * (store.h). */
#include "oauth/oauth.h"

#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/form.h"
#include "bounds.h"
#include "config.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/router.h"
#include "log.h"
#include "metrics.h"
#include "oauth/client.h"
#include "oauth/cors.h"
#include "oauth/error.h"
#include "oauth/reply.h"
#include "oauth/revoke_rules.h"
#include "oauth/token_client.h"
#include "oauth/token_rules.h"
#include "revocation/revocation.h"
#include "store/store.h"
#include "worker.h"

struct revoke {
    struct http_request *req;
    const struct oauth *oauth;
    struct worker *w;
    int64_t now_s;
    char *token; /* as sent, arena */
    enum oauth_revoke_rules_hint hint;
    struct oauth_revoke_rules_found found; /* released with the arena */
    /* At most one asynchronous step is outstanding. */
    struct oauth_token_client *client_step;
    struct store_op *op;
};

static void
cleanup_found(void *ptr)
{
    struct revoke *r = ptr;
    oauth_revoke_rules_cleanup(&r->found);
}

static void
on_abort(struct http_request *req, void *arg)
{
    struct revoke *r = arg;
    (void)req;
    oauth_token_client_cancel(r->client_step);
    store_cancel(r->op);
    r->op = NULL;
}

/* RFC 7009 2.2: 200 whether or not anything was revoked. */
static void
reply_ok(struct revoke *r)
{
    http_request_on_abort(r->req, NULL, NULL);
    (void)oauth_reply_json_nostore(r->req, 200, "{}");
}

static void
reply_simple(struct revoke *r, int status, enum oauth_error_code code, const char *description)
{
    struct oauth_error err;
    oauth_error_set(&err, status, code, description);
    http_request_on_abort(r->req, NULL, NULL);
    oauth_reply_error(r->req, &err);
}

static void
fail_unavailable(struct revoke *r, const char *op, const char *error)
{
    metrics_inc_revoke(METRICS_REVOKE_STORE_UNAVAILABLE);
    metrics_inc_denied(METRICS_DENIED_REPLAY_STORE_UNAVAILABLE);
    struct log_line l;
    http_request_log_begin(&l, r->req, LOG_ERROR, "token_revoke_failed");
    log_str(&l, "op", op);
    log_str(&l, "family_id", r->found.family_id);
    log_str(&l, "error", error != NULL ? error : "unavailable");
    log_end(&l);
    struct oauth_error err;
    oauth_token_rules_store_unavailable(&err);
    http_request_on_abort(r->req, NULL, NULL);
    oauth_reply_error(r->req, &err);
}

static void
on_marked(enum store_rc rc, const char *error, void *arg)
{
    struct revoke *r = arg;
    r->op = NULL;
    if (rc != STORE_OK) {
        fail_unavailable(r, "mark_refresh_family", error);
        return;
    }
    metrics_inc_revoke(METRICS_REVOKE_REVOKED_FAMILY);
    struct log_line l;
    http_request_log_begin(&l, r->req, LOG_INFO, "token_revoked");
    log_str(&l, "token_type", r->found.type);
    log_str(&l, "family_id", r->found.family_id);
    log_str(&l, "subject", r->found.sub);
    log_str(&l, "client_id", r->found.client_id);
    log_end(&l);
    reply_ok(r);
}

/* The family is in the revoked set (this replica's at once, every
 * replica's through the store); now the marker refresh rotation reads, so
 * the family's refresh tokens are refused even by a replica that has not
 * heard yet. */
static void
on_revoked(enum store_rc rc, const char *error, void *arg)
{
    struct revoke *r = arg;
    r->op = NULL;
    if (rc != STORE_OK) {
        fail_unavailable(r, "revoke_family", error);
        return;
    }
    struct store *s = store_of_worker(r->w);
    if (s == NULL) {
        on_marked(STORE_OK, NULL, r); /* SPEC.md 5.4: no store, no marker */
        return;
    }
    struct buf key;
    buf_init(&key, BOUNDS_STORE_KEY_MAX);
    if (store_key_refresh_family_revoked(slice_from_cstr(r->found.family_id), &key) != 0) {
        buf_cleanup(&key);
        fail_unavailable(r, "mark_refresh_family", "family id does not fit a store key");
        return;
    }
    r->op = store_mark(s, buf_slice(&key), STORE_FAMILY_REVOKED_TTL_MS, on_marked, r);
    buf_cleanup(&key);
}

/* Nothing to revoke: counted and logged (never the token), then 200. */
static void
answer_nothing(struct revoke *r, enum oauth_revoke_rules_verdict v, const char *client_id)
{
    struct log_line l;
    switch (v) {
    case OAUTH_REVOKE_RULES_CLIENT_MISMATCH:
        metrics_inc_revoke(METRICS_REVOKE_CLIENT_MISMATCH);
        http_request_log_begin(&l, r->req, LOG_WARN, "token_revoke_client_mismatch");
        log_str(&l, "token_type", r->found.type);
        log_str(&l, "client_id", client_id);
        log_str(&l, "token_client_id", r->found.client_id);
        break;
    case OAUTH_REVOKE_RULES_LEGACY:
        metrics_inc_revoke(METRICS_REVOKE_LEGACY_TOKEN);
        http_request_log_begin(&l, r->req, LOG_INFO, "token_revoke_legacy_access_token");
        log_str(&l, "reason",
                "access token minted before it carried its family (fam); it "
                "expires within the hour, or use revoke --subject");
        log_str(&l, "subject", r->found.sub);
        log_str(&l, "client_id", client_id);
        break;
    default:
        metrics_inc_revoke(METRICS_REVOKE_UNKNOWN_TOKEN);
        http_request_log_begin(&l, r->req, LOG_DEBUG, "token_revoke_unknown_token");
        log_str(&l, "client_id", client_id);
        break;
    }
    log_end(&l);
    reply_ok(r);
}

/* The client is known (and, with an assertion, authenticated). */
static void
on_client(void *arg, const struct oauth_client *client)
{
    struct revoke *r = arg;
    enum oauth_revoke_rules_verdict v =
        oauth_revoke_rules_judge(r->oauth->seal, slice_from_cstr(r->token), r->hint,
                                 r->oauth->cfg->proxy_base_url, r->now_s, client->id, &r->found);
    if (v != OAUTH_REVOKE_RULES_FAMILY) {
        answer_nothing(r, v, client->id);
        return;
    }
    r->op = revocation_revoke_family(r->w, slice_from_cstr(r->found.family_id), on_revoked, r);
}

void
oauth_revoke_handle(struct http_request *req, void *arg)
{
    const struct oauth *oauth = arg;
    /* CORS as /token: browser-based clients read the answers. */
    (void)oauth_cors_allow_origin(req);
    struct revoke *r = arena_zalloc(http_request_arena(req), sizeof(*r));
    if (r != NULL) {
        r->client_step = oauth_token_client_new(req, oauth, OAUTH_TOKEN_CLIENT_SITE_REVOKE);
    }
    if (r == NULL || r->client_step == NULL) {
        oauth_reply_error_simple(req, 500, OAUTH_ERROR_SERVER_ERROR, "internal error");
        return;
    }
    r->req = req;
    r->oauth = oauth;
    r->w = http_request_worker(req);
    r->now_s = clock_unix_s();
    arena_on_free(http_request_arena(req), cleanup_found, r);
    http_request_on_abort(req, on_abort, r);
    struct form_params p;
    if (!oauth_token_client_read_form(r->client_step, &p)) {
        return;
    }
    struct oauth_error err;
    if (!oauth_revoke_rules_front(&p, &err)) {
        http_request_on_abort(req, NULL, NULL);
        oauth_reply_error(req, &err);
        goto out;
    }
    const char *token = form_params_get(&p, "token", NULL);
    const char *client_id = form_params_get(&p, "client_id", NULL);
    if (!oauth_token_client_read_assertion(r->client_step, &p, &client_id)) {
        goto out;
    }
    /* RFC 7009 2.1: token is required; a public client names itself. */
    if (token[0] == '\0' || client_id[0] == '\0') {
        reply_simple(r, 400, OAUTH_ERROR_INVALID_REQUEST, "missing required parameters");
        goto out;
    }
    r->hint = oauth_revoke_rules_hint_parse(
        slice_from_cstr(form_params_get(&p, "token_type_hint", NULL)));
    r->token = arena_strdup(http_request_arena(req), token);
    if (r->token == NULL) {
        reply_simple(r, 500, OAUTH_ERROR_SERVER_ERROR, "internal error");
        goto out;
    }
    oauth_token_client_start(r->client_step, client_id, on_client, r);
out:
    form_params_cleanup(&p);
}

/* POST /revoke (RFC 7009): CORS and preflight as /token, its own budget
 * (RATE_LIMIT_REVOKE_PER_MIN). */
const struct http_route_def oauth_revoke_route = {
    .path = "/revoke",
    .methods = HTTP_METHODS_POST,
    .handler = oauth_revoke_handle,
    .opts = {.rate_limited = true,
             .bucket = METRICS_ENDPOINT_REVOKE,
             .metric_route = METRICS_ROUTE_REVOKE,
             .too_large = oauth_cors_too_large,
             .rate_limited_reply = oauth_cors_rate_limited},
    .preflight = oauth_cors_preflight_handle,
    .preflight_arg = OAUTH_CORS_METHODS_POST,
};
