/* POST /token (SPEC.md 3.8): the authorization_code and refresh_token
 * grants. Everything up to the replay-store step is synchronous; the
 * single-use claim of a code, the family revocation after a code replay
 * or a refresh-token reuse (the refresh marker and, issue 14, the revoked
 * set that refuses the family's access tokens on every replica), and the
 * refresh rotation check are asynchronous store operations, after which
 * the tokens are minted and the answer written.
 *
 * One struct token per request, in the request's arena, holds the opened
 * grants (released with the arena) and the one store operation
 * outstanding; the abort callback cancels it when the client leaves. A
 * cancelled store operation is not undone (store.h): a revocation already
 * sent stands, as SPEC.md 5.3 wants. */
#include "oauth/oauth.h"

#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/form.h"
#include "base/rand.h"
#include "bounds.h"
#include "config.h"
#include "grants.h"
#include "http/output.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/router.h"
#include "log.h"
#include "metrics.h"
#include "oauth/client.h"
#include "oauth/cors.h"
#include "oauth/error.h"
#include "base/pkce.h"
#include "oauth/callback_rules.h"
#include "oauth/reply.h"
#include "oauth/scope_rules.h"
#include "oauth/token_client.h"
#include "oauth/token_derive.h"
#include "oauth/token_rules.h"
#include "revocation/revocation.h"
#include "store/store.h"
#include "worker.h"

/* The success body: two sealed tokens and a few dozen bytes of JSON. */
#define SUCCESS_BODY_MAX (2 * BOUNDS_SEALED_MAX_CHARS + BOUNDS_SCOPE_MAX_BYTES + 256)

struct token {
    struct http_request *req;
    const struct oauth *oauth;
    struct worker *w;
    int64_t now_s;
    enum oauth_token_grant grant;
    char *verifier;     /* code_verifier as sent ("" when not), arena */
    char *redirect_uri; /* as sent, arena */
    /* Opened grants, released with the arena. */
    struct grant_code code;
    struct grant_refresh refresh;
    const char *client_id; /* the resolved client's internal id (borrowed) */
    /* Refresh: the scope the new tokens get (oauth/scope_rules.h), decided
     * before the claim so a refused scope does not spend the token. */
    char refresh_scope[OAUTH_SCOPE_RULES_MAX];
    /* The client's resolution and authentication (oauth/token_client.h,
     * shared with /revoke) and the store operation: at most one is
     * outstanding. */
    struct oauth_token_client *client_step;
    struct store_op *op;
    /* A reused refresh token's refusal, sent once its family is revoked. */
    struct oauth_error denial;
};

/* What a successful grant mints from (both grants, steps 12-13 / 10-11). */
struct issue {
    enum metrics_grant grant;
    const char *sub;
    const char *email;
    const char *const *groups;
    size_t group_count;
    const char *client_id;
    const char *resource;
    const char *scope; /* granted; "" with scopes off */
    const char *family_id;
    int64_t family_iat; /* 0: the tokens' own iat (a new family) */
    int64_t generation; /* of the refresh token minted here */
    /* The recorded authentication (docs/step-up.md): the code's, or the
     * rotated refresh token's unchanged -- a refresh never upgrades it. */
    const char *acr;
    int64_t auth_time;
    /* What the ids and times are derived from (oauth/token_derive.h), so a
     * retry of the same grant mints the same bytes. */
    enum oauth_token_derive_grant derive;
    const char *parent_tid;
    int64_t issued_ms;
    bool retry; /* answering a retry: counted apart from tokens issued */
};

static void resolve_client(struct token *t, const char *client_id);

static void
cleanup_grants(void *ptr)
{
    struct token *t = ptr;
    grants_cleanup_code(&t->code);
    grants_cleanup_refresh(&t->refresh);
}

static void
on_abort(struct http_request *req, void *arg)
{
    struct token *t = arg;
    (void)req;
    oauth_token_client_cancel(t->client_step);
    store_cancel(t->op);
    t->op = NULL;
}

static void
reply_error(struct token *t, const struct oauth_error *err)
{
    http_request_on_abort(t->req, NULL, NULL);
    oauth_reply_error(t->req, err);
}

static void
reply_simple(struct token *t, int status, enum oauth_error_code code, const char *description,
             const char *error_code)
{
    struct oauth_error err;
    oauth_error_set(&err, status, code, description);
    err.error_code = error_code;
    reply_error(t, &err);
}

static void
log_store_error(struct token *t, const char *op, const char *error)
{
    struct log_line l;
    http_request_log_begin(&l, t->req, LOG_ERROR, "replay_store_error");
    log_str(&l, "op", op);
    log_str(&l, "error", error != NULL ? error : "unavailable");
    log_end(&l);
}

/* ---- minting (code steps 12-14, refresh steps 10-12) ------------------ */

/* The two grants a successful exchange mints, from what it mints from and
 * the derived ids and times. */
static void
grants_to_issue(const struct issue *in, const struct oauth_token_derive_out *d, const char *base,
                struct grant_access *access, struct grant_refresh *refresh)
{
    *access = (struct grant_access){
        .token_id = d->access_tid,
        .family_id = in->family_id,
        .aud = base,
        .resource = in->resource,
        .scope = in->scope,
        .sub = in->sub,
        .email = in->email,
        .groups = in->groups,
        .group_count = in->group_count,
        .client_id = in->client_id,
        .iat = d->iat_s,
        .exp = d->iat_s + OAUTH_TOKEN_ACCESS_TTL_S,
        .acr = in->acr,
        .auth_time = in->auth_time,
    };
    *refresh = (struct grant_refresh){
        .token_id = d->refresh_tid,
        .family_id = in->family_id,
        .sub = in->sub,
        .email = in->email,
        .groups = in->groups,
        .group_count = in->group_count,
        .client_id = in->client_id,
        .aud = base,
        .resource = in->resource,
        .scope = in->scope,
        .iat = d->iat_s,
        .family_iat = in->family_iat != 0 ? in->family_iat : d->iat_s,
        .exp = d->iat_s + OAUTH_TOKEN_REFRESH_TTL_S,
        .generation = in->generation,
        .acr = in->acr,
        .auth_time = in->auth_time,
    };
}

static void
issue_tokens(struct token *t, const struct issue *in)
{
    const struct config *cfg = t->oauth->cfg;
    const char *base = cfg->proxy_base_url;
    bool refreshing = in->grant == METRICS_GRANT_REFRESH_TOKEN;
    const struct oauth_token_derive_in din = {
        .grant = in->derive,
        .parent_tid = in->parent_tid,
        .family_id = in->family_id,
        .issued_ms = in->issued_ms > 0 ? in->issued_ms : 0,
    };
    struct oauth_token_derive_out d;
    oauth_token_derive(t->oauth->seal, &din, &d);
    struct grant_access access;
    struct grant_refresh refresh;
    grants_to_issue(in, &d, base, &access, &refresh);
    struct buf a, r, body;
    buf_init(&a, BOUNDS_SEALED_MAX_CHARS);
    buf_init(&r, BOUNDS_SEALED_MAX_CHARS);
    buf_init(&body, SUCCESS_BODY_MAX);
    struct log_line l;
    if (grants_seal_access_synthetic(t->oauth->seal, &access, &a) != SEAL_OK) {
        http_request_log_begin(&l, t->req, LOG_ERROR,
                               refreshing ? "token_refresh_issue_failed" : "token_issue_failed");
        log_end(&l);
        reply_simple(t, 500, OAUTH_ERROR_SERVER_ERROR, "failed to issue token",
                     "token_issue_failed");
        goto out;
    }
    /* With offline_access supported, a grant without it gets no refresh
     * token (oauth/scope_rules.h); r then stays empty and is left out. */
    bool with_refresh = oauth_scope_rules_refresh_token_allowed(cfg->scopes_supported, in->scope);
    if ((with_refresh && grants_seal_refresh_synthetic(t->oauth->seal, &refresh, &r) != SEAL_OK) ||
        oauth_token_rules_format_success(buf_slice(&a), buf_slice(&r), slice_from_cstr(in->scope),
                                         &body) != 0) {
        http_request_log_begin(&l, t->req, LOG_ERROR,
                               refreshing ? "refresh_token_reseal_failed"
                                          : "refresh_token_seal_failed");
        log_end(&l);
        reply_simple(t, 500, OAUTH_ERROR_SERVER_ERROR, "internal error", NULL);
        goto out;
    }
    if (in->retry) {
        metrics_inc_token_retry(in->grant);
    } else {
        metrics_inc_tokens_issued(in->grant);
    }
    http_request_log_begin(&l, t->req, LOG_INFO, refreshing ? "token_refreshed" : "token_issued");
    log_str(&l, "subject", in->sub);
    log_str(&l, "client_id", in->client_id);
    log_end(&l);
    http_request_on_abort(t->req, NULL, NULL);
    oauth_reply_json_nostore(t->req, 200, buf_cstr(&body));
out:
    buf_cleanup(&a);
    buf_cleanup(&r);
    buf_cleanup(&body);
}

/* ---- authorization_code ------------------------------------------------ */

/* A code's issue time in ms from its sealed exp (we sealed it, so it is
 * sane; clamped anyway so no arithmetic can overflow). */
static int64_t
code_issued_ms(int64_t exp)
{
    int64_t s = exp > OAUTH_CALLBACK_CODE_TTL_S ? exp - OAUTH_CALLBACK_CODE_TTL_S : 0;
    return s < INT64_MAX / 1000 ? s * 1000 : INT64_MAX / 1000 * 1000;
}

static void
issue_from_code(struct token *t, bool retry)
{
    const struct grant_code *c = &t->code;
    const struct issue in = {
        .grant = METRICS_GRANT_AUTHORIZATION_CODE,
        .sub = c->sub,
        .email = c->email,
        .groups = c->groups,
        .group_count = c->group_count,
        .client_id = t->client_id,
        .resource = c->resource,
        .scope = c->scope,
        .family_id = c->family_id,
        .acr = c->acr,
        .auth_time = c->auth_time,
        .derive = OAUTH_TOKEN_DERIVE_CODE,
        .parent_tid = c->token_id,
        /* The code's issue time, sealed in it: every redemption of this
         * code derives the same tokens. */
        .issued_ms = code_issued_ms(c->exp),
        .retry = retry,
    };
    issue_tokens(t, &in);
}

/* The family is revoked (or the attempt logged as failed): now say no. */
static void
on_family_marked(enum store_rc rc, const char *error, void *arg)
{
    struct token *t = arg;
    t->op = NULL;
    if (rc != STORE_OK) {
        struct log_line l;
        http_request_log_begin(&l, t->req, LOG_ERROR, "refresh_family_revoke_failed");
        log_str(&l, "family_id", t->code.family_id);
        log_str(&l, "error", error != NULL ? error : store_rc_str(rc));
        log_end(&l);
    }
    reply_simple(t, 400, OAUTH_ERROR_INVALID_GRANT, "authorization code already used",
                 "code_replay");
}

/* A revocation that failed is logged, never answered: the client is told
 * no all the same (the replay is refused whatever the store says). */
static void
log_family_revoke_failed(struct token *t, const char *family_id, const char *error)
{
    struct log_line l;
    http_request_log_begin(&l, t->req, LOG_ERROR, "family_revoke_failed");
    log_str(&l, "family_id", family_id);
    log_str(&l, "error", error != NULL ? error : "unavailable");
    log_end(&l);
}

/* The family's access tokens are refused (src/revocation/: this replica
 * at once, the others through the store); now the marker refresh rotation
 * reads, so its refresh tokens die too. */
static void
on_code_family_revoked(enum store_rc rc, const char *error, void *arg)
{
    struct token *t = arg;
    t->op = NULL;
    if (rc != STORE_OK) {
        log_family_revoke_failed(t, t->code.family_id, error);
    }
    struct buf key;
    buf_init(&key, BOUNDS_STORE_KEY_MAX);
    if (store_key_refresh_family_revoked(slice_from_cstr(t->code.family_id), &key) != 0) {
        buf_cleanup(&key);
        on_family_marked(STORE_ERR_UNAVAILABLE, "family id does not fit a store key", t);
        return;
    }
    t->op = store_mark(store_of_worker(t->w), buf_slice(&key), STORE_FAMILY_REVOKED_TTL_MS,
                       on_family_marked, t);
    buf_cleanup(&key);
}

/* Code step 11: a second redemption revokes the family the first one
 * started, so its refresh tokens die too (RFC 6749 4.1.2, OAuth 2.1 4.1.3),
 * and, since access tokens carry their family (issue 14), the access
 * token the first redemption got. */
static void
on_code_claimed(enum store_rc rc, const char *error, void *arg)
{
    struct token *t = arg;
    t->op = NULL;
    if (rc == STORE_OK) {
        issue_from_code(t, false);
        return;
    }
    if (rc != STORE_ERR_ALREADY_USED) {
        metrics_inc_denied(METRICS_DENIED_REPLAY_STORE_UNAVAILABLE);
        log_store_error(t, "claim_authz_code", error);
        struct oauth_error err;
        oauth_token_rules_store_unavailable(&err);
        reply_error(t, &err);
        return;
    }
    struct log_line l;
    if (t->verifier[0] != '\0') {
        /* A retry (docs/internals/rotation.md): the client proved the
         * verifier again, so it is the one that redeemed the code (or a
         * thief holding code and verifier, who already could). It gets
         * the tokens the first redemption minted, derived again; the
         * code's lifetime bounds the window. */
        http_request_log_begin(&l, t->req, LOG_INFO, "authorization_code_retry");
        log_str(&l, "family_id", t->code.family_id);
        log_str(&l, "client_id", t->client_id);
        log_end(&l);
        issue_from_code(t, true);
        return;
    }
    metrics_inc_replay(METRICS_REPLAY_CODE);
    http_request_log_begin(&l, t->req, LOG_WARN, "authorization_code_replay");
    log_str(&l, "token_id", t->code.token_id);
    log_str(&l, "family_id", t->code.family_id);
    log_str(&l, "subject", t->code.sub);
    log_str(&l, "client_id", t->client_id);
    log_end(&l);
    t->op = revocation_revoke_family(t->w, slice_from_cstr(t->code.family_id),
                                     on_code_family_revoked, t);
}

static void
claim_code(struct token *t)
{
    if (store_of_worker(t->w) == NULL) {
        /* SPEC.md 5.4: without a store a code is reusable within its 60 s
         * (and, derived, gives the same tokens each time). */
        issue_from_code(t, false);
        return;
    }
    struct buf key;
    buf_init(&key, BOUNDS_STORE_KEY_MAX);
    if (store_key_authz_code(slice_from_cstr(t->code.token_id), &key) != 0) {
        buf_cleanup(&key);
        on_code_claimed(STORE_ERR_UNAVAILABLE, "token id does not fit a store key", t);
        return;
    }
    t->op = store_claim_once(store_of_worker(t->w), buf_slice(&key),
                             store_ttl_ms_until(t->code.exp, t->now_s), on_code_claimed, t);
    buf_cleanup(&key);
}

static void
grant_authorization_code(struct token *t, const struct form_params *p)
{
    const char *code = form_params_get(p, "code", NULL);
    const char *redirect_uri = form_params_get(p, "redirect_uri", NULL);
    const char *client_id = form_params_get(p, "client_id", NULL);
    struct slice verifier = slice_from_cstr(form_params_get(p, "code_verifier", NULL));
    struct oauth_error err;
    if (!oauth_token_client_read_assertion(t->client_step, p, &client_id)) {
        return;
    }
    if (code[0] == '\0' || redirect_uri[0] == '\0' || client_id[0] == '\0') {
        reply_simple(t, 400, OAUTH_ERROR_INVALID_REQUEST, "missing required parameters", NULL);
        return;
    }
    if (verifier.len > 0 && !pkce_is_valid_verifier(verifier)) {
        reply_simple(t, 400, OAUTH_ERROR_INVALID_REQUEST,
                     "code_verifier must be 43-128 unreserved characters", NULL);
        return;
    }
    const struct config *cfg = t->oauth->cfg;
    enum grants_rc rc = grants_open_code(t->oauth->seal, slice_from_cstr(code), cfg->proxy_base_url,
                                         t->now_s, &t->code, NULL);
    if (!oauth_error_from_grants(OAUTH_ERROR_TOKEN_CODE, rc, &err)) {
        reply_error(t, &err);
        return;
    }
    t->redirect_uri = arena_strdup(http_request_arena(t->req), redirect_uri);
    t->verifier = arena_slicedup(http_request_arena(t->req), verifier);
    if (t->redirect_uri == NULL || t->verifier == NULL) {
        reply_simple(t, 500, OAUTH_ERROR_SERVER_ERROR, "internal error", NULL);
        return;
    }
    resolve_client(t, client_id);
}

/* ---- refresh_token ----------------------------------------------------- */

static void
issue_from_refresh(struct token *t, int64_t claimed_ms, bool retry)
{
    const struct grant_refresh *r = &t->refresh;
    const struct issue in = {
        .grant = METRICS_GRANT_REFRESH_TOKEN,
        .sub = r->sub,
        .email = r->email,
        .groups = r->groups,
        .group_count = r->group_count,
        .client_id = t->client_id,
        .resource = r->resource,
        .scope = t->refresh_scope,
        .family_id = r->family_id,
        .family_iat = oauth_token_rules_family_iat(r->iat, r->family_iat),
        /* Only a fresh claim gets here, so the family has exactly one
         * token of each generation (store/memory.h relies on it). */
        .generation = r->generation < INT64_MAX ? r->generation + 1 : r->generation,
        .acr = r->acr,
        .auth_time = r->auth_time,
        .derive = OAUTH_TOKEN_DERIVE_REFRESH,
        .parent_tid = r->token_id,
        /* The claim time the store recorded (and gives back to a retry). */
        .issued_ms = claimed_ms,
        .retry = retry,
    };
    issue_tokens(t, &in);
}

static void
log_refresh_denial(struct token *t, enum store_refresh rc, const char *error)
{
    struct log_line l;
    switch (rc) {
    case STORE_REFRESH_FAMILY_REVOKED:
        http_request_log_begin(&l, t->req, LOG_WARN, "refresh_token_family_revoked");
        break;
    case STORE_REFRESH_RACING:
        http_request_log_begin(&l, t->req, LOG_INFO, "refresh_token_concurrent_submit");
        break;
    case STORE_REFRESH_REUSED:
        http_request_log_begin(&l, t->req, LOG_WARN, "refresh_token_reuse_detected");
        break;
    case STORE_REFRESH_RETRY:
        http_request_log_begin(&l, t->req, LOG_INFO, "refresh_token_retry");
        break;
    default:
        log_store_error(t, "claim_refresh_family", error);
        return;
    }
    log_str(&l, "token_id", t->refresh.token_id);
    log_str(&l, "family_id", t->refresh.family_id);
    log_str(&l, "subject", t->refresh.sub);
    log_str(&l, "client_id", t->client_id);
    log_end(&l);
}

static void
on_reuse_family_revoked(enum store_rc rc, const char *error, void *arg)
{
    struct token *t = arg;
    t->op = NULL;
    if (rc != STORE_OK) {
        log_family_revoke_failed(t, t->refresh.family_id, error);
    }
    reply_error(t, &t->denial);
}

static void
on_refresh_claimed(enum store_refresh rc, int64_t claimed_ms, const char *error, void *arg)
{
    struct token *t = arg;
    t->op = NULL;
    struct oauth_token_refresh_denial d;
    if (oauth_token_rules_refresh_claim(rc, &d)) {
        if (rc == STORE_REFRESH_RETRY) {
            log_refresh_denial(t, rc, NULL);
        }
        issue_from_refresh(t, claimed_ms, rc == STORE_REFRESH_RETRY);
        return;
    }
    if (d.has_denied) {
        metrics_inc_denied(d.denied);
    }
    if (d.replay) {
        metrics_inc_replay(METRICS_REPLAY_REFRESH);
    }
    log_refresh_denial(t, rc, error);
    if (d.retry_after_s > 0) {
        char value[16];
        (void)snprintf(value, sizeof(value), "%u", d.retry_after_s);
        (void)http_output_header_set(t->req, "Retry-After", value);
    }
    if (rc == STORE_REFRESH_REUSED) {
        /* The store marked the family in the same step; its access tokens
         * are refused too (issue 14), then the refusal is sent. */
        t->denial = d.err;
        t->op = revocation_revoke_family(t->w, slice_from_cstr(t->refresh.family_id),
                                         on_reuse_family_revoked, t);
        return;
    }
    reply_error(t, &d.err);
}

static void
claim_refresh(struct token *t)
{
    if (store_of_worker(t->w) == NULL) {
        /* SPEC.md 5.4: without a store, rotation without reuse detection
         * (and no claim time to derive a retry's successor from). */
        issue_from_refresh(t, clock_unix_ms(), false);
        return;
    }
    const struct config *cfg = t->oauth->cfg;
    struct buf family_key, claim_key;
    buf_init(&family_key, BOUNDS_STORE_KEY_MAX);
    buf_init(&claim_key, BOUNDS_STORE_KEY_MAX);
    if (store_key_refresh_family_revoked(slice_from_cstr(t->refresh.family_id), &family_key) != 0 ||
        store_key_refresh(slice_from_cstr(t->refresh.token_id), &claim_key) != 0) {
        on_refresh_claimed(STORE_REFRESH_UNAVAILABLE, 0, "token id does not fit a store key", t);
        goto out;
    }
    const struct store_refresh_req sreq = {
        .family_key = buf_slice(&family_key),
        .claim_key = buf_slice(&claim_key),
        .claim_ttl_ms = store_ttl_ms_until(t->refresh.exp, t->now_s),
        .family_ttl_ms = STORE_FAMILY_REVOKED_TTL_MS,
        .now_ms = clock_unix_ms(),
        .grace_ms = (uint64_t)cfg->refresh_race_grace_s * 1000,
        .retry_grace_ms = cfg->refresh_retry_grace_ms,
        .generation = (uint64_t)t->refresh.generation,
    };
    t->op = store_refresh_claim(store_of_worker(t->w), &sreq, on_refresh_claimed, t);
out:
    buf_cleanup(&family_key);
    buf_cleanup(&claim_key);
}

static void
grant_refresh_token(struct token *t, const struct form_params *p)
{
    const char *refresh_token = form_params_get(p, "refresh_token", NULL);
    const char *client_id = form_params_get(p, "client_id", NULL);
    if (!oauth_token_client_read_assertion(t->client_step, p, &client_id)) {
        return;
    }
    if (refresh_token[0] == '\0' || client_id[0] == '\0') {
        reply_simple(t, 400, OAUTH_ERROR_INVALID_REQUEST, "missing required parameters", NULL);
        return;
    }
    const struct config *cfg = t->oauth->cfg;
    enum grants_rc rc = grants_open_refresh(t->oauth->seal, slice_from_cstr(refresh_token),
                                            cfg->proxy_base_url, t->now_s, &t->refresh, NULL);
    struct oauth_error err;
    enum oauth_token_refresh_verdict v = oauth_token_rules_refresh_check(
        rc, &t->refresh, cfg->revoke_before_set, cfg->revoke_before_s, cfg->revoke_before_ns, &err);
    if (v == OAUTH_TOKEN_REFRESH_REVOKED) {
        /* SPEC.md 10.1 item 13: not counted anywhere. */
        struct log_line l;
        http_request_log_begin(&l, t->req, LOG_DEBUG, "refresh_token_revoked_iat_cutoff");
        log_int(&l, "family_issued_at",
                oauth_token_rules_family_iat(t->refresh.iat, t->refresh.family_iat));
        log_int(&l, "revoke_before", cfg->revoke_before_s);
        log_end(&l);
    }
    if (v != OAUTH_TOKEN_REFRESH_OK) {
        reply_error(t, &err);
        return;
    }
    /* Issue 14: the revoked set (revocation.h), before any store round
     * trip. A subject is checked against the family's first iat: a family
     * begun before the revocation is one the user was logged out of. */
    enum revocation_verdict rv =
        revocation_check(slice_from_cstr(t->refresh.family_id), slice_from_cstr(t->refresh.sub),
                         oauth_token_rules_family_iat(t->refresh.iat, t->refresh.family_iat));
    if (rv == REVOCATION_FAMILY) {
        /* A revoked family is answered and counted exactly as the store's
         * family marker answers it (the set only answers sooner), so
         * clients and dashboards see one behaviour whichever check saw
         * it first. */
        struct oauth_token_refresh_denial d;
        (void)oauth_token_rules_refresh_claim(STORE_REFRESH_FAMILY_REVOKED, &d);
        metrics_inc_denied(d.denied);
        struct log_line l;
        http_request_log_begin(&l, t->req, LOG_WARN, "refresh_token_family_revoked");
        log_str(&l, "token_id", t->refresh.token_id);
        log_str(&l, "family_id", t->refresh.family_id);
        log_str(&l, "subject", t->refresh.sub);
        log_end(&l);
        reply_error(t, &d.err);
        return;
    }
    if (rv != REVOCATION_CLEAR) {
        struct log_line l;
        http_request_log_begin(&l, t->req, LOG_INFO, "refresh_token_revoked");
        log_str(&l, "reason", revocation_verdict_str(rv));
        log_str(&l, "family_id", t->refresh.family_id);
        log_end(&l);
        metrics_inc_denied(revocation_verdict_denied(rv));
        reply_simple(t, rv == REVOCATION_OVERFLOW ? 503 : 400,
                     rv == REVOCATION_OVERFLOW ? OAUTH_ERROR_TEMPORARILY_UNAVAILABLE
                                               : OAUTH_ERROR_INVALID_GRANT,
                     rv == REVOCATION_OVERFLOW ? "revocation list unavailable"
                                               : "refresh token revoked",
                     NULL);
        return;
    }
    /* RFC 6749 6: a subset of the original grant, never more. */
    const char *why =
        oauth_scope_rules_refresh(cfg->scopes_supported, t->refresh.scope,
                                  form_params_get(p, "scope", NULL), t->refresh_scope);
    if (why != NULL) {
        reply_simple(t, 400, OAUTH_ERROR_INVALID_SCOPE, why, NULL);
        return;
    }
    resolve_client(t, client_id);
}

/* ---- client validation (code step 6, refresh step 7) ------------------- */

/* Code steps 7-11, once the client is known. */
static void
code_after_client(struct token *t)
{
    struct oauth_error err;
    if (strcmp(t->client_id, t->code.client_id) != 0) {
        reply_simple(t, 400, OAUTH_ERROR_INVALID_GRANT, "client_id mismatch", NULL);
        return;
    }
    /* SPEC.md 3.3.1 item 3: no loopback port relaxation here. */
    if (strcmp(t->code.redirect_uri, t->redirect_uri) != 0) {
        reply_simple(t, 400, OAUTH_ERROR_INVALID_GRANT, "redirect_uri mismatch", NULL);
        return;
    }
    if (!oauth_token_rules_code_has_ids(&t->code, &err) ||
        !oauth_token_rules_pkce(&t->code, slice_from_cstr(t->verifier), &err)) {
        reply_error(t, &err);
        return;
    }
    /* After every check, so a failed PKCE attempt does not burn the code. */
    claim_code(t);
}

/* Refresh steps 8-9. */
static void
refresh_after_client(struct token *t)
{
    if (strcmp(t->client_id, t->refresh.client_id) != 0) {
        reply_simple(t, 400, OAUTH_ERROR_INVALID_GRANT, "client_id mismatch", NULL);
        return;
    }
    claim_refresh(t);
}

/* The client is known and, if it sent an assertion, authenticated
 * (oauth/token_client.h; refusals were answered there). */
static void
after_client(void *arg, const struct oauth_client *client)
{
    struct token *t = arg;
    t->client_step = NULL;
    t->client_id = client->id;
    if (t->grant == OAUTH_TOKEN_GRANT_AUTHORIZATION_CODE) {
        code_after_client(t);
    } else {
        refresh_after_client(t);
    }
}

static void
resolve_client(struct token *t, const char *client_id)
{
    oauth_token_client_start(t->client_step, client_id, after_client, t);
}

/* ---- the common prefix (steps 1-6) ------------------------------------- */

void
oauth_token_handle(struct http_request *req, void *arg)
{
    const struct oauth *oauth = arg;
    /* SPEC preface fix 10: browser-based MCP clients read /token's answers
     * (any origin, no credentials); the preflight is routes.c's. */
    (void)oauth_cors_allow_origin(req);
    struct token *t = arena_zalloc(http_request_arena(req), sizeof(*t));
    if (t == NULL) {
        oauth_reply_error_simple(req, 500, OAUTH_ERROR_SERVER_ERROR, "internal error");
        return;
    }
    t->req = req;
    t->oauth = oauth;
    t->w = http_request_worker(req);
    t->now_s = clock_unix_s();
    t->client_step = oauth_token_client_new(req, oauth, OAUTH_TOKEN_CLIENT_SITE_TOKEN);
    if (t->client_step == NULL) {
        oauth_reply_error_simple(req, 500, OAUTH_ERROR_SERVER_ERROR, "internal error");
        return;
    }
    arena_on_free(http_request_arena(req), cleanup_grants, t);
    http_request_on_abort(req, on_abort, t);
    struct form_params p;
    /* Steps 1-3. */
    if (!oauth_token_client_read_form(t->client_step, &p)) {
        return;
    }
    struct oauth_error err;
    if (!oauth_token_rules_front(&p, oauth->cfg->proxy_base_url, oauth->cfg->mount, &t->grant,
                                 &err)) {
        reply_error(t, &err);
    } else if (t->grant == OAUTH_TOKEN_GRANT_AUTHORIZATION_CODE) {
        grant_authorization_code(t, &p);
    } else {
        grant_refresh_token(t, &p);
    }
    form_params_cleanup(&p);
}

/* POST /token (SPEC.md 3.8): its own per-IP bucket; the 413 carries CORS
 * like its other answers, and it answers a preflight (SPEC preface fix
 * 10). */
const struct http_route_def oauth_token_route = {
    .path = "/token",
    .methods = HTTP_METHODS_POST,
    .handler = oauth_token_handle,
    .opts = {.rate_limited = true,
             .bucket = METRICS_ENDPOINT_TOKEN,
             .metric_route = METRICS_ROUTE_TOKEN,
             .too_large = oauth_cors_too_large,
             .rate_limited_reply = oauth_cors_rate_limited},
    .preflight = oauth_cors_preflight_handle,
    .preflight_arg = OAUTH_CORS_METHODS_POST,
};
