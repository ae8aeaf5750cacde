/* GET /callback (SPEC.md 3.7): the IdP sends the user back here with its
 * code and our sealed session as `state`. The handler validates the query
 * and the session synchronously -- including the browser binding (ours,
 * oauth/binding.h): the request must carry the callback cookie whose
 * secret hashes to the session's bh, or it is refused with a 403 page
 * before anything is claimed or exchanged -- then runs three asynchronous
 * steps in turn -- the single-use claim of the session id, the code exchange with
 * the IdP, the id_token verification -- and finally mints the
 * authorization code and redirects to the client.
 *
 * One struct callback per request, in the request's arena, holds the
 * opened session and the one operation outstanding at any time; the abort
 * callback cancels that operation when the client leaves, so no callback
 * ever runs on a freed request (STYLE.md 3.5). */
#include "oauth/oauth.h"

#include <jansson.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/form.h"
#include "base/rand.h"
#include "bounds.h"
#include "config.h"
#include "fetch.h"
#include "grants.h"
#include "http/output.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/router.h"
#include "log.h"
#include "metrics.h"
#include "oauth/binding.h"
#include "oauth/callback_rules.h"
#include "oauth/error.h"
#include "oauth/flow.h"
#include "oauth/reply.h"
#include "oauth/scope_rules.h"
#include "oauth/stepup_rules.h"
#include "oidc/claims.h"
#include "oidc/exchange.h"
#include "oidc/id_token.h"
#include "oidc/provider.h"
#include "oidc/throttle.h"
#include "policy/policy.h"
#include "store/store.h"
#include "worker.h"

/* The Location of a success redirect: the client's redirect_uri (<= 512
 * bytes when registered, but a query may grow it) plus a sealed code. */
#define LOCATION_MAX (BOUNDS_URL_MAX + 2 * BOUNDS_SEALED_MAX_CHARS)

struct callback {
    struct http_request *req;
    const struct oauth *oauth;
    struct worker *w;
    char *code;                   /* the IdP's code (arena) */
    struct grant_session session; /* opened; cleaned up with the arena */
    /* At most one of these is outstanding at a time. */
    struct store_op *claim;
    struct oidc_exchange *exchange;
    struct oidc_id_token_verify *verify;
};

static void start_exchange(struct callback *cb);

/* Never called: spend_refused_state cancels its claim at once. */
static void
on_spent(enum store_rc rc, const char *error, void *arg)
{
    (void)rc;
    (void)error;
    (void)arg;
}

static void
cleanup_session(void *ptr)
{
    grants_cleanup_session(ptr);
}

static void
on_abort(struct http_request *req, void *arg)
{
    struct callback *cb = arg;
    (void)req;
    store_cancel(cb->claim);
    cb->claim = NULL;
    oidc_exchange_cancel(cb->exchange);
    cb->exchange = NULL;
    oidc_id_token_verify_cancel(cb->verify);
    cb->verify = NULL;
}

/* Every answer ends the response; the abort callback has nothing left to
 * cancel afterwards. */
static void
reply_error(struct callback *cb, int status, enum oauth_error_code code, const char *description,
            const char *error_code)
{
    struct oauth_error err;
    oauth_error_set(&err, status, code, description);
    err.error_code = error_code;
    http_request_on_abort(cb->req, NULL, NULL);
    oauth_reply_error(cb->req, &err);
}

/* The same for a rejection SPEC.md 7.2 names an event for: *l was begun
 * with that event and its fields; the reply helper adds the error's and
 * writes the one line. */
static void
reply_event(struct callback *cb, struct log_line *l, int status, enum oauth_error_code code,
            const char *description, const char *error_code)
{
    struct oauth_error err;
    oauth_error_set(&err, status, code, description);
    err.error_code = error_code;
    http_request_on_abort(cb->req, NULL, NULL);
    oauth_reply_error_event(cb->req, &err, l);
}

static void
log_begin_client(struct log_line *l, const struct callback *cb, enum log_level level,
                 const char *msg)
{
    http_request_log_begin(l, cb->req, level, msg);
    log_str(l, "client_id", cb->session.client_id);
}

/* ---- step 6b: the browser that started the flow ------------------------- */

/* Ours (docs/threat-model.md "Consent CSRF", "Login CSRF"): a callback
 * counts only in the browser holding the flow's callback cookie, so an IdP
 * link or a callback URL carried to another browser -- the victim's, whose
 * IdP session would sign in silently -- is refused. The check itself
 * claims nothing (see spend_refused_state for what follows a refusal).
 * True when bound; otherwise the 403 page has been sent. */
static bool
check_browser(struct http_request *req, const struct oauth *oauth, const struct grant_session *s)
{
    enum oauth_binding_rc rc =
        oauth_flow_binding_check(req, oauth, OAUTH_BINDING_COOKIE_CALLBACK, s->binding_hash, NULL);
    if (rc == OAUTH_BINDING_OK) {
        return true;
    }
    metrics_inc_denied(METRICS_DENIED_CALLBACK_BROWSER_MISMATCH);
    struct log_line l;
    http_request_log_begin(&l, req, LOG_WARN, "access_denied_callback_browser_mismatch");
    log_str(&l, "client_id", s->client_id);
    log_str(&l, "reason", oauth_binding_rc_str(rc));
    (void)oauth_flow_reply_refused(req, &l);
    return false;
}

/* The state is about to be spent (or was): clear the cookie with whatever
 * answer follows. */
static void
spend_cookie(struct http_request *req, const struct oauth *oauth, const struct grant_session *s)
{
    oauth_flow_clear_binding_cookie(req, oauth, OAUTH_BINDING_COOKIE_CALLBACK, s->binding_hash);
}

/* A callback refused by the binding still carries a live IdP code for the
 * person signed in in *this* browser (the victim of a carried IdP link),
 * and the flow's cookie sits in the attacker's browser: if this URL ever
 * reached the attacker (history, a shared screen, a log), it could finish
 * the sign-in there. So the refused state is spent, fire and forget: the
 * claim stands once sent (store.h), nobody waits for its answer, and the
 * 403 page is already out. A store that cannot answer leaves the state to
 * its 10-minute expiry, as before. */
static void
spend_refused_state(struct worker *w, const struct grant_session *s, int64_t now_s)
{
    if (store_of_worker(w) == NULL || s->session_id[0] == '\0') {
        return;
    }
    struct buf key;
    buf_init(&key, BOUNDS_STORE_KEY_MAX);
    if (store_key_callback_state(slice_from_cstr(s->session_id), &key) == 0) {
        store_cancel(store_claim_once(store_of_worker(w), buf_slice(&key),
                                      store_ttl_ms_until(s->exp, now_s), on_spent, NULL));
    }
    buf_cleanup(&key);
}

/* ---- step 2: the IdP said no ------------------------------------------ */

/* Redirects to the session's client when `state` is one of our valid
 * sessions and this is its browser (a 403 page when it is not); otherwise
 * JSON 400. The IdP's own description never travels: the client reads a
 * fixed text (SPEC.md 6.6). */
static void
idp_error(struct http_request *req, const struct oauth *oauth, const char *error, const char *state)
{
    const struct config *cfg = oauth->cfg;
    enum oauth_error_code mapped = oauth_error_from_idp(slice_from_cstr(error));
    struct grant_session s;
    struct buf location;
    buf_init(&location, LOCATION_MAX);
    enum grants_rc rc = GRANTS_ERR_OPEN;
    if (state[0] != '\0') {
        rc = grants_open_session(oauth->seal, slice_from_cstr(state), cfg->proxy_base_url,
                                 clock_unix_s(), &s, NULL);
    } else {
        memset(&s, 0, sizeof(s));
    }
    if (rc == GRANTS_OK && !check_browser(req, oauth, &s)) {
        goto out;
    }
    if (rc == GRANTS_OK &&
        oauth_callback_rules_idp_error_location(s.redirect_uri, mapped, s.client_state,
                                                oauth_discovery_issuer(cfg), &location) == 0) {
        spend_cookie(req, oauth, &s);
        http_reply_redirect(req, buf_cstr(&location));
    } else {
        struct oauth_error err;
        oauth_callback_rules_idp_error_unmatched(mapped, &err);
        oauth_reply_error(req, &err);
    }
out:
    buf_cleanup(&location);
    grants_cleanup_session(&s);
}

/* ---- steps 19-20: mint the code, send the user back to the client ---- */

/* Step-up (docs/step-up.md): the scope the login proves, into *scope;
 * the step-up scopes it does not prove are dropped and logged, never an
 * error -- the user did sign in, and the client meets the challenge again
 * on the call that needs them. -1 only if the narrowed scope cannot fit,
 * which a subset of a sealed scope always does. */
static int
stepup_scope(struct callback *cb, const struct oidc_claims *claims, int64_t auth_time,
             int64_t now_s, struct buf *scope)
{
    const char *why = oauth_stepup_rules_check_asked(&cb->session, auth_time, now_s);
    size_t dropped = 0;
    const struct policy *pol = policy_holder_acquire(cb->oauth->policy);
    int rc = oauth_stepup_rules_grant(pol, cb->session.scope, claims->acr, auth_time, why == NULL,
                                      now_s, scope, &dropped);
    policy_release(pol);
    if (rc == 0 && dropped > 0) {
        struct log_line l;
        log_begin_client(&l, cb, LOG_WARN, "stepup_not_proven");
        log_str(&l, "subject", claims->sub);
        log_str(&l, "reason", why != NULL ? why : "requirement_not_met");
        log_sample(&l, "acr", slice_from_cstr(claims->acr));
        log_int(&l, "auth_time", auth_time);
        log_int(&l, "dropped", (int64_t)dropped);
        log_end(&l);
    }
    return rc;
}

static void
finish(struct callback *cb, const struct oidc_claims *claims)
{
    const struct config *cfg = cb->oauth->cfg;
    char tid[RAND_UUID_LEN + 1];
    char fam[RAND_UUID_LEN + 1];
    rand_uuid(tid);
    rand_uuid(fam);
    int64_t now_s = clock_unix_s();
    struct grant_code code;
    oauth_callback_rules_build_code(&cb->session, claims, tid, fam, cfg->proxy_base_url, now_s,
                                    &code);
    struct buf scope;
    struct buf sealed;
    struct buf location;
    buf_init(&scope, OAUTH_SCOPE_RULES_MAX);
    buf_init(&sealed, BOUNDS_SEALED_MAX_CHARS);
    buf_init(&location, LOCATION_MAX);
    code.auth_time = oauth_stepup_rules_auth_time(claims->auth_time, now_s);
    if (stepup_scope(cb, claims, code.auth_time, now_s, &scope) != 0) {
        reply_error(cb, 500, OAUTH_ERROR_SERVER_ERROR, "internal error", NULL);
        goto out;
    }
    code.scope = buf_cstr(&scope);
    enum seal_rc src = grants_seal_code(cb->oauth->seal, &code, &sealed);
    if (src != SEAL_OK) {
        struct log_line l;
        log_begin_client(&l, cb, LOG_ERROR, "authorization_code_seal_failed");
        log_str(&l, "error", seal_rc_str(src));
        reply_event(cb, &l, 500, OAUTH_ERROR_SERVER_ERROR, "internal error", NULL);
        goto out;
    }
    if (oauth_callback_rules_success_location(cb->session.redirect_uri, buf_cstr(&sealed),
                                              cb->session.client_state, oauth_discovery_issuer(cfg),
                                              &location) != 0) {
        reply_error(cb, 400, OAUTH_ERROR_INVALID_REQUEST, "malformed redirect_uri", NULL);
        goto out;
    }
    struct log_line l;
    log_begin_client(&l, cb, LOG_INFO, "callback_success");
    log_str(&l, "subject", claims->sub);
    if (claims->acr[0] != '\0') {
        log_sample(&l, "acr", slice_from_cstr(claims->acr));
    }
    log_end(&l);
    http_request_on_abort(cb->req, NULL, NULL);
    http_reply_redirect(cb->req, buf_cstr(&location));
out:
    buf_cleanup(&scope);
    buf_cleanup(&sealed);
    buf_cleanup(&location);
}

/* ---- steps 13-18: who is this, and may they in? ----------------------- */

/* A JSON array of strings for a log field. */
static void
log_string_array(struct log_line *l, const char *key, char *const *items, size_t n)
{
    struct buf b;
    buf_init(&b, LOG_LINE_MAX);
    bool ok = buf_append_byte(&b, '[') == 0;
    for (size_t i = 0; ok && i < n; i++) {
        ok = (i == 0 || buf_append_byte(&b, ',') == 0) && buf_append_byte(&b, '"') == 0 &&
             buf_append_json_escaped(&b, slice_from_cstr(items[i])) == 0 &&
             buf_append_byte(&b, '"') == 0;
    }
    ok = ok && buf_append_byte(&b, ']') == 0;
    if (ok) {
        log_raw_json(l, key, buf_slice(&b));
    }
    buf_cleanup(&b);
}

static void
reply_identity_denial(struct callback *cb, const struct oidc_claims *c, enum metrics_denied reason,
                      const struct oauth_error *err)
{
    const struct config *cfg = cb->oauth->cfg;
    struct log_line l;
    switch (reason) {
    case METRICS_DENIED_SUBJECT_MISSING:
        log_begin_client(&l, cb, LOG_WARN, "access_denied_subject_missing");
        log_str(&l, "email", c->email);
        break;
    case METRICS_DENIED_CLAIM_INVALID:
        /* The offending value is not logged: it is the bad input. */
        log_begin_client(&l, cb, LOG_WARN, "access_denied_claim_invalid");
        log_str(&l, "claim", c->sub_invalid ? "sub" : "email");
        if (!c->sub_invalid) {
            log_str(&l, "subject", c->sub);
        }
        break;
    case METRICS_DENIED_EMAIL_UNVERIFIED:
        log_begin_client(&l, cb, LOG_WARN, "access_denied_email_unverified");
        log_str(&l, "subject", c->sub);
        log_str(&l, "email", c->email);
        break;
    case METRICS_DENIED_GROUP_INVALID:
        log_begin_client(&l, cb, LOG_WARN, "access_denied_group_invalid");
        log_str(&l, "subject", c->sub);
        break;
    case METRICS_DENIED_GROUPS_OVERAGE:
        log_begin_client(&l, cb, LOG_WARN, "access_denied_groups_overage");
        log_str(&l, "subject", c->sub);
        log_str(&l, "claim", cfg->groups_claim);
        break;
    case METRICS_DENIED_HOSTED_DOMAIN:
        log_begin_client(&l, cb, LOG_WARN, "access_denied_hosted_domain");
        log_str(&l, "subject", c->sub);
        log_str(&l, "hd", c->hd);
        break;
    default:
        log_begin_client(&l, cb, LOG_WARN, "access_denied_group");
        log_str(&l, "subject", c->sub);
        log_string_array(&l, "user_groups", c->groups, c->group_count);
        log_string_array(&l, "allowed_groups", cfg->allowed_groups, cfg->allowed_group_count);
        break;
    }
    http_request_on_abort(cb->req, NULL, NULL);
    oauth_reply_error_event(cb->req, err, &l);
}

static void
check_identity(struct callback *cb, const json_t *claims_json)
{
    const struct config *cfg = cb->oauth->cfg;
    struct oidc_claims claims;
    const char *bad = NULL;
    if (oidc_claims_parse(claims_json, cfg->groups_claim, cfg->email_claim, &claims, &bad) !=
        OIDC_CLAIMS_OK) {
        struct log_line l;
        log_begin_client(&l, cb, LOG_ERROR, "id_token_claims_parse_failed");
        log_str(&l, "claim", bad);
        reply_event(cb, &l, 500, OAUTH_ERROR_SERVER_ERROR, "failed to parse claims", NULL);
        goto out;
    }
    if (claims.groups_shape_mismatch) {
        /* Step 16: counted and logged, never a denial. */
        metrics_inc(METRICS_GROUPS_CLAIM_SHAPE_MISMATCH);
        struct log_line l;
        log_begin_client(&l, cb, LOG_WARN, "groups_claim_shape_mismatch");
        log_str(&l, "claim", cfg->groups_claim);
        log_str(&l, "subject", claims.sub);
        log_str(&l, "error", claims.groups_error);
        log_end(&l);
    }
    struct oauth_error err;
    enum metrics_denied reason;
    bool groups_checked = cfg->allowed_group_count > 0 || cfg->policy_file != NULL;
    if (!oauth_callback_rules_identity(&claims, cfg->allowed_groups, cfg->allowed_group_count, &err,
                                       &reason) ||
        !oauth_callback_rules_access(&claims, groups_checked, cfg->allowed_hosted_domains,
                                     cfg->allowed_hosted_domain_count, &err, &reason)) {
        metrics_inc_denied(reason);
        reply_identity_denial(cb, &claims, reason, &err);
        goto out;
    }
    if (claims.groups_overage) {
        /* No group rule is configured, so the login goes on: the upstream
         * gets no X-User-Groups and is told so here (docs/idps.md). */
        struct log_line l;
        log_begin_client(&l, cb, LOG_WARN, "groups_claim_overage");
        log_str(&l, "claim", cfg->groups_claim);
        log_str(&l, "subject", claims.sub);
        log_end(&l);
    }
    finish(cb, &claims);
out:
    oidc_claims_cleanup(&claims);
}

/* ---- steps 11-12: the id_token ---------------------------------------- */

static void
on_verified(void *arg, enum oidc_id_token_rc rc, json_t *claims)
{
    struct callback *cb = arg;
    cb->verify = NULL;
    if (rc != OIDC_ID_TOKEN_OK) {
        metrics_inc_denied(METRICS_DENIED_ID_TOKEN_VERIFICATION_FAILED);
        struct log_line l;
        log_begin_client(&l, cb, LOG_ERROR, "id_token_verification_failed");
        log_str(&l, "error", oidc_id_token_rc_str(rc));
        reply_event(cb, &l, 502, OAUTH_ERROR_SERVER_ERROR, "id token verification failed",
                    "id_token_verification_failed");
        goto out;
    }
    const char *why = NULL;
    if (!oidc_id_token_nonce_matches(claims, slice_from_cstr(cb->session.nonce), &why)) {
        /* SPEC.md 10.1 item 4: 403 with server_error, deliberately. */
        metrics_inc_denied(METRICS_DENIED_ID_TOKEN_VERIFICATION_FAILED);
        json_t *sub = json_object_get(claims, "sub");
        struct log_line l;
        log_begin_client(&l, cb, LOG_WARN, "id_token_nonce_mismatch");
        log_str(&l, "subject", json_is_string(sub) ? json_string_value(sub) : "");
        log_str(&l, "reason", why);
        reply_event(cb, &l, 403, OAUTH_ERROR_SERVER_ERROR, "id token nonce mismatch",
                    "id_token_verification_failed");
        goto out;
    }
    check_identity(cb, claims);
out:
    json_decref(claims);
}

/* ---- steps 9-10: the code exchange ------------------------------------ */

static void
on_exchanged(void *arg, const struct oidc_exchange_result *r)
{
    struct callback *cb = arg;
    cb->exchange = NULL;
    if (r->rc == OIDC_EXCHANGE_ERR_NO_ID_TOKEN) {
        reply_error(cb, 502, OAUTH_ERROR_SERVER_ERROR, "no id_token in upstream response", NULL);
        return;
    }
    if (r->rc != OIDC_EXCHANGE_OK) {
        struct log_line l;
        log_begin_client(&l, cb, LOG_ERROR, "upstream_token_exchange_failed");
        log_str(&l, "error", oidc_exchange_rc_str(r->rc));
        if (r->rc == OIDC_EXCHANGE_ERR_TRANSPORT) {
            log_str(&l, "transport", fetch_rc_str(r->fetch_rc));
        }
        if (r->status != 0) {
            log_int(&l, "idp_status", r->status);
        }
        if (r->idp_error != NULL) {
            log_sample(&l, "idp_error", slice_from_cstr(r->idp_error));
        }
        if (r->detail != NULL) {
            log_sample(&l, "detail", slice_from_cstr(r->detail));
        }
        reply_event(cb, &l, 502, OAUTH_ERROR_SERVER_ERROR, "upstream authentication failed", NULL);
        return;
    }
    const struct config *cfg = cb->oauth->cfg;
    cb->verify = oidc_id_token_verify_start(cb->oauth->oidc, cfg->oidc_client_id, cb->oauth->jwks,
                                            cb->w->base, slice_make(r->id_token, r->id_token_len),
                                            on_verified, cb);
    if (cb->verify == NULL) {
        on_verified(cb, OIDC_ID_TOKEN_ERR_MALFORMED, NULL);
    }
}

static void
start_exchange(struct callback *cb)
{
    const struct config *cfg = cb->oauth->cfg;
    const struct oidc_exchange_request xreq = {
        .client_id = cfg->oidc_client_id,
        .client_secret = cfg->oidc_client_secret,
        .code = cb->code,
        .redirect_uri = cfg->idp_redirect_uri,
        .code_verifier = cb->session.upstream_verifier,
        .timeout_ms = BOUNDS_OIDC_EXCHANGE_TIMEOUT_MS,
    };
    cb->exchange =
        oidc_exchange_start(fetch_of_worker(cb->w), cb->oauth->oidc, &xreq, on_exchanged, cb);
    if (cb->exchange == NULL) {
        const struct oidc_exchange_result r = {
            .rc = OIDC_EXCHANGE_ERR_TRANSPORT,
            .fetch_rc = FETCH_ERR_INTERNAL,
            .detail = "the exchange request could not be set up",
        };
        on_exchanged(cb, &r);
    }
}

/* ---- step 8: the session is good once --------------------------------- */

static void
on_claimed(enum store_rc rc, const char *error, void *arg)
{
    struct callback *cb = arg;
    cb->claim = NULL;
    if (rc == STORE_ERR_ALREADY_USED) {
        metrics_inc_replay(METRICS_REPLAY_CALLBACK_STATE);
        struct log_line l;
        log_begin_client(&l, cb, LOG_WARN, "callback_state_replay");
        log_str(&l, "session_id", cb->session.session_id);
        reply_event(cb, &l, 400, OAUTH_ERROR_INVALID_REQUEST, "callback state already used",
                    "callback_state_replay");
        return;
    }
    if (rc != STORE_OK) {
        metrics_inc_denied(METRICS_DENIED_REPLAY_STORE_UNAVAILABLE);
        struct log_line l;
        log_begin_client(&l, cb, LOG_ERROR, "replay_store_error");
        log_str(&l, "op", "claim_callback_state");
        log_str(&l, "error", error != NULL ? error : store_rc_str(rc));
        reply_event(cb, &l, 503, OAUTH_ERROR_SERVER_ERROR, "replay store unavailable",
                    "replay_store_unavailable");
        return;
    }
    spend_cookie(cb->req, cb->oauth, &cb->session);
    start_exchange(cb);
}

/* Steps 7-8: the throttle runs before the claim, so a throttled user can
 * retry the same callback URL (SPEC.md 3.7 step 7). */
static void
throttle_then_claim(struct callback *cb, int64_t now_s)
{
    if (!oidc_throttle_take(cb->oauth->idp_throttle)) {
        metrics_inc(METRICS_IDP_EXCHANGE_THROTTLED);
        struct log_line l;
        log_begin_client(&l, cb, LOG_WARN, "idp_exchange_throttled");
        (void)http_output_header_set(cb->req, "Retry-After", "1");
        reply_event(cb, &l, 503, OAUTH_ERROR_TEMPORARILY_UNAVAILABLE,
                    "upstream IdP exchange throttled; retry shortly", "idp_exchange_throttled");
        return;
    }
    /* No store (single replica without one, SPEC.md 5.4) or a legacy
     * session without sid: no claim. */
    if (store_of_worker(cb->w) == NULL || cb->session.session_id[0] == '\0') {
        spend_cookie(cb->req, cb->oauth, &cb->session);
        start_exchange(cb);
        return;
    }
    struct buf key;
    buf_init(&key, BOUNDS_STORE_KEY_MAX);
    if (store_key_callback_state(slice_from_cstr(cb->session.session_id), &key) != 0) {
        buf_cleanup(&key);
        on_claimed(STORE_ERR_UNAVAILABLE, "session id does not fit a store key", cb);
        return;
    }
    cb->claim = store_claim_once(store_of_worker(cb->w), buf_slice(&key),
                                 store_ttl_ms_until(cb->session.exp, now_s), on_claimed, cb);
    buf_cleanup(&key);
}

/* ---- steps 1-6 --------------------------------------------------------- */

void
oauth_callback_handle(struct http_request *req, void *arg)
{
    const struct oauth *oauth = arg;
    const struct config *cfg = oauth->cfg;
    struct arena *a = http_request_arena(req);
    struct form_params p;
    struct oauth_error err;
    if (form_parse(http_request_query(req), FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &p) !=
        FORM_OK) {
        oauth_error_set(&err, 400, OAUTH_ERROR_INVALID_REQUEST, "too many query parameters");
        oauth_reply_error(req, &err);
        return;
    }
    if (!oauth_callback_rules_query(&p, oidc_provider_get_issuer(oauth->oidc), &err)) {
        oauth_reply_error(req, &err);
        form_params_cleanup(&p);
        return;
    }
    const char *error = form_params_get(&p, "error", NULL);
    if (error[0] != '\0') {
        idp_error(req, oauth, error, form_params_get(&p, "state", NULL));
        form_params_cleanup(&p);
        return;
    }
    struct callback *cb = arena_zalloc(a, sizeof(*cb));
    char *code = arena_strdup(a, form_params_get(&p, "code", NULL));
    char *state = arena_strdup(a, form_params_get(&p, "state", NULL));
    form_params_cleanup(&p);
    if (cb == NULL || code == NULL || state == NULL) {
        oauth_reply_error_simple(req, 500, OAUTH_ERROR_SERVER_ERROR, "internal error");
        return;
    }
    if (code[0] == '\0' || state[0] == '\0') {
        oauth_reply_error_simple(req, 400, OAUTH_ERROR_INVALID_REQUEST, "missing code or state");
        return;
    }
    cb->req = req;
    cb->oauth = oauth;
    cb->w = http_request_worker(req);
    cb->code = code;
    int64_t now_s = clock_unix_s();
    arena_on_free(a, cleanup_session, &cb->session);
    enum grants_rc rc = grants_open_session(oauth->seal, slice_from_cstr(state),
                                            cfg->proxy_base_url, now_s, &cb->session, NULL);
    if (!oauth_error_from_grants(OAUTH_ERROR_TOKEN_SESSION, rc, &err)) {
        oauth_reply_error(req, &err);
        return;
    }
    /* 6b, before the throttle, the claim and the exchange. */
    if (!check_browser(req, oauth, &cb->session)) {
        spend_refused_state(cb->w, &cb->session, now_s);
        return;
    }
    http_request_on_abort(req, on_abort, cb);
    throttle_then_claim(cb, now_s);
}

/* GET /callback (SPEC.md 3.7), HEAD with it: a per-IP bucket of its own;
 * never a preflight (SPEC preface fix 10). */
const struct http_route_def oauth_callback_route = {
    .path = "/callback",
    .methods = HTTP_METHODS_GET,
    .handler = oauth_callback_handle,
    .opts = {.rate_limited = true,
             .bucket = METRICS_ENDPOINT_CALLBACK,
             .metric_route = METRICS_ROUTE_CALLBACK},
};
