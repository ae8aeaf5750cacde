#include "proxy/mount.h"

#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "bounds.h"
#include "http/output.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/router.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "oauth/error.h"
#include "oauth/reply.h"
#include "policy/policy.h"
#include "proxy/bearer.h"
#include "proxy/bearer_cache.h"
#include "proxy/cors.h"
#include "proxy/forward.h"
#include "proxy/headers.h"
#include "proxy/jsonrpc_peek.h"
#include "proxy/list_filter.h"
#include "proxy/list_forward.h"
#include "proxy/mcp_headers.h"
#include "proxy/path.h"
#include "proxy/policy_gate.h"
#include "proxy/rpc_scan.h"
#include "proxy/rpc_reply.h"
#include "proxy/pool.h"
#include "proxy/subject_limit.h"
#include "seal.h"

/* Authorization fields looked at: one is valid, two already mean
 * "several" (SPEC.md 4.1 step 1); more change nothing. */
#define MOUNT_AUTHORIZATION_VALUES 2

/* What the head check learnt, for the handler and the finish hook. Arena
 * memory, except the peek's batch arrays (released in the finish hook). */
struct mount_req {
    const struct proxy_mount_ctx *ctx;
    const char *sub;
    const char *email;
    const char **groups;
    size_t group_count;
    const char *scope;     /* the token's granted scope, "" = none */
    const char *client_id; /* "" = unknown */
    const char *acr;       /* the token's recorded acr, "" = unknown (docs/step-up.md) */
    int64_t auth_time;     /* the token's recorded auth_time, 0 = unknown */
    struct proxy_subject_slot slot;
    struct proxy_jsonrpc_peek peek;
    /* For the list filter (proxy/list_forward.h): the request's method
     * and id (NULL unless a single request) and the policy's caller. */
    const char *list_method;
    size_t list_method_len;
    const char *list_id_json;
    bool list_oom;
    bool list_in_batch;
    struct policy_caller caller;
};

/* ---- replies ---- */

void
proxy_mount_reply_unauthorized(struct http_request *req, const struct proxy_mount_ctx *ctx,
                               enum proxy_bearer_rc rc)
{
    struct buf body;
    struct buf challenge;
    buf_init(&body, 512);
    /* The fixed text plus the base URL and mount, each at most doubled by
     * quoting: sized from the inputs, so a long PROXY_BASE_URL still fits. */
    buf_init(&challenge, 512 + 2 * strlen(ctx->proxy_base_url) + 2 * strlen(ctx->mount) +
                             BOUNDS_SCOPE_MAX_BYTES);
    if (proxy_bearer_format_body(rc, &body) != 0 ||
        proxy_bearer_format_challenge(rc, ctx->proxy_base_url, ctx->mount, &challenge) != 0 ||
        proxy_bearer_append_challenge_scope(ctx->challenge_scope, &challenge) != 0 ||
        http_output_header_set(req, "WWW-Authenticate", buf_cstr(&challenge)) != 0) {
        /* Reachable: the request's arena or header count can be exhausted
         * (a very long PROXY_BASE_URL); a status is still owed. */
        http_reply_error(req, 500);
    } else {
        http_reply_json(req, 401, body.ptr, body.len);
    }
    buf_cleanup(&body);
    buf_cleanup(&challenge);
}

/* ---- finish ---- */

static void
on_finish(struct http_request *req, void *arg)
{
    struct mount_req *m = arg;
    if (m->slot.entry != NULL) {
        proxy_subject_limit_release(m->ctx->subject_limit, &m->slot, clock_mono_ms());
    }
    /* SPEC.md 7.1: after the log line, only for paths the log keeps. */
    if (m->ctx->tool_metrics && !http_request_is_log_skipped(req)) {
        proxy_jsonrpc_observe(&m->peek, http_request_response_status(req),
                              http_request_content_length(req),
                              (int64_t)http_request_response_bytes(req));
    }
    proxy_jsonrpc_peek_cleanup(&m->peek);
}

/* ---- the head check: bearer, path, subject limiter ---- */

static void
log_refused_token(struct http_request *req, const struct proxy_bearer_result *r)
{
    if (r->log_event == NULL || !log_enabled(LOG_DEBUG)) {
        return;
    }
    struct log_line l;
    http_request_log_begin(&l, req, LOG_DEBUG, r->log_event);
    log_str(&l, "reason", metrics_denied_str(r->reason));
    log_str(&l, "seal", seal_rc_str(r->seal_rc));
    log_end(&l);
}

/* Copies the opened identity into the arena (the grant's own storage goes
 * with the bearer result). NULL when the arena is full. */
static struct mount_req *
keep_identity(struct http_request *req, const struct proxy_mount_ctx *ctx,
              const struct grant_access *g)
{
    struct arena *a = http_request_arena(req);
    struct mount_req *m = arena_zalloc(a, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->ctx = ctx;
    m->sub = arena_strdup(a, g->sub != NULL ? g->sub : "");
    m->email = arena_strdup(a, g->email != NULL ? g->email : "");
    m->scope = arena_strdup(a, g->scope != NULL ? g->scope : "");
    m->client_id = arena_strdup(a, g->client_id != NULL ? g->client_id : "");
    /* The recorded authentication (docs/step-up.md), for step_up rules and
     * the identity assertion. */
    m->acr = arena_strdup(a, g->acr != NULL ? g->acr : "");
    m->auth_time = g->auth_time;
    m->group_count = g->group_count;
    if (g->group_count > 0) {
        m->groups = arena_alloc(a, g->group_count * sizeof(m->groups[0]));
        for (size_t i = 0; m->groups != NULL && i < g->group_count; i++) {
            m->groups[i] = arena_strdup(a, g->groups[i]);
            if (m->groups[i] == NULL) {
                return NULL;
            }
        }
        if (m->groups == NULL) {
            return NULL;
        }
    }
    return m->sub != NULL && m->email != NULL && m->scope != NULL && m->client_id != NULL &&
                   m->acr != NULL
               ? m
               : NULL;
}

/* Takes a slot, or answers 503. Returns false after answering. Called from
 * the head check, before a body byte is read: the slot then bounds the
 * bodies a user has in flight too (MCP_PER_SUBJECT_CONCURRENCY x 16 MiB),
 * not only the forwards. The finish hook gives it back, exactly once, on
 * every path (answered, refused, client gone). */
static bool
take_slot(struct http_request *req, struct mount_req *m)
{
    struct proxy_subject_limit *l = m->ctx->subject_limit;
    if (l == NULL) {
        return true;
    }
    enum proxy_subject_limit_rc rc =
        proxy_subject_limit_acquire(l, slice_from_cstr(m->sub), clock_mono_ms(), &m->slot);
    if (rc == PROXY_SUBJECT_LIMIT_UNTRACKED) {
        struct log_line l2;
        http_request_log_begin(&l2, req, LOG_WARN, "subject_concurrency_table_full");
        log_str(&l2, "sub", m->sub);
        log_end(&l2);
        return true;
    }
    if (rc != PROXY_SUBJECT_LIMIT_BUSY) {
        return true;
    }
    metrics_inc_denied(METRICS_DENIED_SUBJECT_CONCURRENCY_EXCEEDED);
    struct log_line line;
    http_request_log_begin(&line, req, LOG_WARN, "subject_concurrency_exceeded");
    log_str(&line, "sub", m->sub);
    log_uint(&line, "cap", m->ctx->per_subject_concurrency);
    log_end(&line);
    static const char body[] = PROXY_SUBJECT_LIMIT_BODY;
    if (http_output_header_set(req, "Retry-After", PROXY_SUBJECT_LIMIT_RETRY_AFTER) != 0) {
        http_reply_error(req, 500);
        return false;
    }
    http_reply_json(req, 503, body, sizeof(body) - 1);
    return false;
}

/* The Origin step. Returns false after answering: 403 for a foreign
 * Origin, 204 for an allowed origin's preflight. An allowed origin's CORS
 * headers are set here, so every later answer carries them (401, 400, 503,
 * the forwarded response and its stream). */
static bool
check_origin(struct http_request *req, const struct proxy_mount_ctx *ctx)
{
    const char *origin = NULL;
    switch (proxy_cors_judge_request(&ctx->cors, req, &origin)) {
    case PROXY_CORS_NO_ORIGIN:
        return true;
    case PROXY_CORS_FOREIGN:
        proxy_cors_reply_forbidden(req);
        return false;
    case PROXY_CORS_ALLOWED:
    default:
        break;
    }
    if (proxy_cors_decorate(req, origin) != 0) {
        http_reply_error(req, 500);
        return false;
    }
    if (proxy_cors_is_preflight(req)) {
        proxy_cors_reply_preflight(req);
        return false;
    }
    return true;
}

bool
proxy_mount_head_check(struct http_request *req, void *arg)
{
    const struct proxy_mount_ctx *ctx = arg;

    /* Origin before the bearer (docs/conformance.md): a page on a foreign
     * origin -- a DNS-rebinding attack among them -- learns nothing about
     * a token it may hold, and costs no token check. */
    if (!check_origin(req, ctx)) {
        return false;
    }

    struct slice values[MOUNT_AUTHORIZATION_VALUES];
    size_t count = 0;
    size_t cursor = 0;
    struct slice v;
    while (count < MOUNT_AUTHORIZATION_VALUES &&
           http_request_header_next(req, "Authorization", &cursor, &v)) {
        values[count++] = v;
    }
    struct proxy_bearer_result r;
    enum proxy_bearer_rc rc = proxy_bearer_check_cached(
        &ctx->bearer, proxy_bearer_cache_of_worker(http_request_worker(req)), values, count,
        clock_unix_s(), &r);
    if (rc != PROXY_BEARER_OK) {
        if (r.has_reason) {
            metrics_inc_denied(r.reason);
        }
        log_refused_token(req, &r);
        proxy_bearer_result_cleanup(&r);
        proxy_mount_reply_unauthorized(req, ctx, rc);
        return false;
    }
    struct mount_req *m = keep_identity(req, ctx, &r.grant);
    proxy_bearer_result_cleanup(&r);
    if (m == NULL) {
        http_reply_error(req, 500);
        return false;
    }
    /* SPEC.md 4.7: every authenticated request logs who it was. */
    http_request_set_log_user(req, m->sub, m->email);
    http_request_on_finish(req, on_finish, m);

    const char *reason = proxy_path_check(http_request_path(req), slice_from_cstr(ctx->mount));
    if (reason != NULL) {
        /* SPEC preface fix 3: refused, never forwarded (logged once there). */
        (void)oauth_reply_error_simple(req, 400, OAUTH_ERROR_INVALID_REQUEST, reason);
        return false;
    }
    if (!take_slot(req, m)) {
        return false;
    }
    http_request_set_route_state(req, m);
    return true;
}

/* ---- the handler: peek, forward ---- */

static size_t
header_values(struct http_request *req, const char *name, struct slice *out, size_t max)
{
    size_t n = 0;
    size_t cursor = 0;
    while (n < max && http_request_header_next(req, name, &cursor, &out[n])) {
        n++;
    }
    return n;
}

/* 400 with the JSON-RPC error -32020 (HeaderMismatch) for the request's id;
 * nothing is forwarded. */
static void
reply_header_mismatch(struct http_request *req, const struct mount_req *m, const char *reason)
{
    metrics_inc_denied(METRICS_DENIED_MCP_HEADER_MISMATCH);
    struct log_line l;
    http_request_log_begin(&l, req, LOG_WARN, "mcp_header_mismatch");
    log_str(&l, "reason", reason);
    log_end(&l);
    const char *id = m->peek.call_id_json != NULL ? m->peek.call_id_json : "null";
    /* reason is one of proxy_mcp_headers_check's constants (no quotes or
     * backslashes); id is jansson's encoding of the body's id. */
    proxy_rpc_reply_error(req, 400, id, PROXY_MCP_HEADERS_ERROR_CODE, reason);
}

/* What the list filter needs from the peek (which the log's rule may
 * clear): a single request's method and id, on the arena. */
static void
keep_list_call(struct http_request *req, struct mount_req *m)
{
    const struct proxy_jsonrpc_peek *p = &m->peek;
    if (p->kind == PROXY_JSONRPC_BATCH) {
        /* A batch's answers would need one filter each: a list in a batch
         * is refused (batching left MCP in 2025-06-18). Entries past the
         * peek's cap are unknown, so they count as lists. */
        enum proxy_list_filter_kind k;
        m->list_in_batch = p->entries_truncated;
        for (size_t i = 0; i < p->entry_count; i++) {
            m->list_in_batch |=
                proxy_list_filter_kind_of(slice_from_cstr(p->entries[i].method), &k);
        }
        return;
    }
    if (p->kind != PROXY_JSONRPC_SINGLE || p->call_method == NULL || p->call_id_json == NULL) {
        return;
    }
    struct arena *a = http_request_arena(req);
    char *method = arena_strndup(a, p->call_method, p->call_method_len);
    char *id = arena_strdup(a, p->call_id_json);
    if (method == NULL || id == NULL) {
        m->list_oom = true; /* refused later: never forwarded unfiltered */
        return;
    }
    m->list_method = method;
    m->list_method_len = p->call_method_len;
    m->list_id_json = id;
}

/* The body read once (proxy/rpc_scan) for the peek and the policy step,
 * on first need. */
struct body_scan {
    struct proxy_rpc_scan scan;
    bool done;
};

static const struct proxy_rpc_scan *
scan_body(struct http_request *req, struct body_scan *b)
{
    if (!b->done) {
        proxy_rpc_scan_body(http_request_body_slice(req), BOUNDS_MCP_BODY_MAX, &b->scan);
        b->done = true;
    }
    return &b->scan;
}

/* The JSON-RPC peek for the log line and the tool metrics, and the
 * Mcp-Method / Mcp-Name check (proxy/mcp_headers.h). The body is parsed
 * once: when either header was sent it is parsed whatever MCP_LOG_BODY_MAX
 * says (up to the route's cap), since the headers must be checked; the
 * log and the metrics still see only what the peek's own rule admits.
 * Returns false after answering 400. */
static bool
peek(struct http_request *req, struct mount_req *m, bool filtering, struct body_scan *b)
{
    uint64_t cap = m->ctx->log_body_max;
    struct proxy_mcp_headers h;
    h.method_count = header_values(req, "Mcp-Method", h.method, 2);
    h.name_count = header_values(req, "Mcp-Name", h.name, 2);
    bool check = h.method_count > 0 || h.name_count > 0 || filtering;
    struct slice ct = SLICE_NULL;
    (void)http_request_header_get(req, "Content-Type", &ct);
    bool eligible = proxy_jsonrpc_peek_is_eligible(cap, ct, http_request_content_length(req));
    if (check) {
        proxy_jsonrpc_peek_from_scan(scan_body(req, b), http_request_body_slice(req),
                                     BOUNDS_MCP_BODY_MAX, true, &m->peek);
        const char *reason = proxy_mcp_headers_check(&h, &m->peek);
        if (reason != NULL) {
            reply_header_mismatch(req, m, reason);
            return false;
        }
        if (filtering) {
            keep_list_call(req, m);
        }
        if (!eligible) {
            proxy_jsonrpc_peek_cleanup(&m->peek);
        }
    } else if (eligible) {
        proxy_jsonrpc_peek_from_scan(scan_body(req, b), http_request_body_slice(req), cap, false,
                                     &m->peek);
    }
    if (eligible && m->peek.kind != PROXY_JSONRPC_NONE) {
        http_request_set_log_rpc(req, proxy_jsonrpc_peek_method(&m->peek), m->peek.tool,
                                 m->peek.id);
    }
    return true;
}

/* The list filter for this request (*out NULL: not a single list
 * request, or no policy). Acquires the policy for the request's life.
 * Returns false after answering: 400 for a list request without a string
 * or number id, 500 when the arena is full (never an unfiltered list). */
static bool
list_filter(struct http_request *req, struct mount_req *m, const struct proxy_forward_filter **out)
{
    *out = NULL;
    if (m->list_oom) {
        http_reply_error(req, 500);
        return false;
    }
    if (m->list_in_batch) {
        (void)oauth_reply_error_simple(req, 400, OAUTH_ERROR_INVALID_REQUEST,
                                       "list requests cannot be batched while lists are filtered");
        return false;
    }
    if (m->list_method == NULL) {
        return true;
    }
    switch (proxy_list_forward_new(req, slice_make(m->list_method, m->list_method_len),
                                   slice_from_cstr(m->list_id_json),
                                   policy_holder_acquire(m->ctx->policy), &m->caller, out)) {
    case PROXY_LIST_FORWARD_OK:
        return true;
    case PROXY_LIST_FORWARD_BAD_ID:
        (void)oauth_reply_error_simple(req, 400, OAUTH_ERROR_INVALID_REQUEST,
                                       "a list request needs a string or number id");
        return false;
    case PROXY_LIST_FORWARD_NO_MEMORY:
    default:
        http_reply_error(req, 500);
        return false;
    }
}

/* The caller as the policy sees it, filled once for the gate and the list
 * filter (which borrows it for the request's life). */
static void
fill_caller(struct mount_req *m)
{
    m->caller = (struct policy_caller){
        .sub = m->sub,
        .email = m->email,
        .groups = m->groups,
        .group_count = m->group_count,
        .scope = m->scope,
        .acr = m->acr,
        .auth_time = m->auth_time,
    };
}

/* The access policy (MCP_POLICY_FILE), after the peek and before the
 * forward. Returns false after answering. acr and auth_time are the
 * access token's (docs/step-up.md); "" and 0 (a token minted before them)
 * never satisfy a step_up requirement. */
static bool
check_policy(struct http_request *req, const struct mount_req *m, struct body_scan *b)
{
    const struct policy *p = policy_holder_acquire(m->ctx->policy);
    if (p == NULL) {
        return true;
    }
    const struct proxy_policy_gate_opts opts = {
        .proxy_base_url = m->ctx->proxy_base_url,
        .mount = m->ctx->mount,
    };
    /* An empty body (GET, DELETE) is never read. */
    const struct proxy_rpc_scan *scan =
        http_request_body_slice(req).len > 0 ? scan_body(req, b) : NULL;
    bool pass = proxy_policy_gate_pass(req, p, &m->caller, &opts, clock_unix_s(), scan);
    policy_release(p);
    return pass;
}

/* The signed identity for the upstream (identity.h), into out; id then
 * points at it. Returns false after answering 502: without it the upstream
 * would refuse the call anyway, and sending the request unsigned would
 * teach it to accept that. The assertion itself is never logged. */
static bool
sign_identity(struct http_request *req, const struct proxy_mount_ctx *ctx,
              struct proxy_headers_identity *id, struct buf *out)
{
    const struct identity_claims c = {
        .iss = ctx->identity_iss,
        .aud = ctx->identity_aud,
        .sub = id->sub,
        .email = id->email,
        .groups = id->groups,
        .group_count = id->group_count,
        .scope = id->scope,
        .client_id = id->client_id,
        .acr = id->acr,
        .auth_time = id->auth_time,
    };
    enum identity_rc rc = identity_sign(ctx->identity, &c, clock_unix_s(), out);
    if (rc == IDENTITY_OK) {
        id->assertion = buf_cstr(out);
        return true;
    }
    metrics_inc(METRICS_IDENTITY_ASSERTION_FAILED);
    struct log_line l;
    http_request_log_begin(&l, req, LOG_ERROR, "identity_assertion_failed");
    log_str(&l, "reason", identity_rc_str(rc));
    log_end(&l);
    http_reply_error_json(req, 502, PROXY_FORWARD_ERROR_BAD_GATEWAY,
                          PROXY_FORWARD_DESCRIPTION_FAILED);
    return false;
}

void
proxy_mount_handle(struct http_request *req, void *arg)
{
    const struct proxy_mount_ctx *ctx = arg;
    struct mount_req *m = http_request_get_route_state(req);
    struct proxy_pool *pool = proxy_pool_of_worker(http_request_worker(req));
    if (m == NULL) {
        http_reply_error(req, 500); /* the head check always sets it */
        return;
    }
    /* The list filter needs the method and id of every POST body (a
     * policy file set, MCP_POLICY_FILTER_LISTS on). */
    bool filtering =
        ctx->filter_lists && ctx->policy != NULL && http_request_method(req) == HTTP_METHOD_POST;
    fill_caller(m);
    struct body_scan b = {.done = false};
    bool pass = peek(req, m, filtering, &b) && check_policy(req, m, &b);
    if (b.done) {
        proxy_rpc_scan_cleanup(&b.scan); /* neither result points into it */
    }
    if (!pass) {
        return;
    }
    if (pool == NULL) {
        /* A worker started without its upstream pool: a wiring bug. */
        struct log_line l;
        http_request_log_begin(&l, req, LOG_ERROR, "proxy_error");
        log_str(&l, "error", "this worker has no upstream pool");
        log_end(&l);
        http_reply_error_json(req, 502, PROXY_FORWARD_ERROR_BAD_GATEWAY,
                              PROXY_FORWARD_DESCRIPTION_FAILED);
        return;
    }
    struct proxy_headers_identity id = {
        .sub = m->sub,
        .email = m->email,
        .groups = m->groups,
        .group_count = m->group_count,
        .client_ip = http_request_client_ip(req),
        .scope = m->scope,
        .client_id = m->client_id,
        .acr = m->acr,
        .auth_time = m->auth_time,
    };
    const struct proxy_forward_filter *filter = NULL;
    if (filtering && !list_filter(req, m, &filter)) {
        return;
    }
    struct buf assertion;
    buf_init(&assertion, BOUNDS_IDENTITY_ASSERTION_MAX_BYTES);
    if (ctx->identity != NULL && !sign_identity(req, ctx, &id, &assertion)) {
        buf_cleanup(&assertion);
        return;
    }
    /* The forward copies the header block before it returns. */
    proxy_forward_start_filtered(req, pool, &id, &ctx->forward, filter);
    buf_cleanup(&assertion);
}

/* The answers given before the head check (the mcp limiter's 429, the 413
 * of a Content-Length over 16 MiB) carry CORS for an allowed origin, so a
 * browser client reads them instead of "Failed to fetch". */
static void
decorate_early(struct http_request *req, const struct proxy_mount_ctx *ctx)
{
    const char *origin = NULL;
    if (proxy_cors_judge_request(&ctx->cors, req, &origin) == PROXY_CORS_ALLOWED) {
        (void)proxy_cors_decorate(req, origin);
    }
}

static void
reply_rate_limited(struct http_request *req, void *arg)
{
    decorate_early(req, arg);
    (void)http_reply_rate_limited(req);
}

static void
reply_too_large(struct http_request *req, void *arg)
{
    decorate_early(req, arg);
    http_reply_error(req, 413);
}

/* "{mount}" and "{mount}/...", every method; with an empty mount the
 * whole origin. Exact routes and longer prefixes (the {mount}/.well-known/
 * carve-out) win over it. */
const struct http_route_def proxy_mount_route = {
    .path = "",
    .place = HTTP_ROUTE_BEFORE_MOUNT,
    .prefix = true,
    .methods = HTTP_METHODS_ANY,
    .handler = proxy_mount_handle,
    .opts =
        {
            .body_max = BOUNDS_MCP_BODY_MAX,
            .head_check = proxy_mount_head_check,
            .rate_limited = true,
            .bucket = METRICS_ENDPOINT_MCP,
            .metric_route = METRICS_ROUTE_MCP,
            .rate_limited_reply = reply_rate_limited,
            .too_large = reply_too_large,
        },
};
