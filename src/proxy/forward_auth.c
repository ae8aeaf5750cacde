#include "proxy/forward_auth.h"

#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/field.h"
#include "bounds.h"
#include "http/output.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/router.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "policy/policy.h"
#include "proxy/bearer.h"
#include "proxy/bearer_cache.h"
#include "proxy/cors.h"
#include "proxy/mount.h"
#include "proxy/path.h"
#include "proxy/policy_gate.h"
#include "seal.h"

/* ---- the description (pure) ---- */

static const char *const field_names[PROXY_FORWARD_AUTH_FIELD_COUNT] = {
    [PROXY_FORWARD_AUTH_X_ORIGINAL_METHOD] = "X-Original-Method",
    [PROXY_FORWARD_AUTH_X_FORWARDED_METHOD] = "X-Forwarded-Method",
    [PROXY_FORWARD_AUTH_X_ORIGINAL_URI] = "X-Original-URI",
    [PROXY_FORWARD_AUTH_X_FORWARDED_URI] = "X-Forwarded-Uri",
};

const char *
proxy_forward_auth_field_name(enum proxy_forward_auth_field f)
{
    return f < PROXY_FORWARD_AUTH_FIELD_COUNT ? field_names[f] : "unknown";
}

static struct slice
cut_query(struct slice uri)
{
    const char *q = memchr(uri.ptr, '?', uri.len);
    return q != NULL ? slice_make(uri.ptr, (size_t)(q - uri.ptr)) : uri;
}

/* Merges one source into *have: the first sets it, a later one must be
 * equal. false when they differ. */
static bool
agree(struct slice *have, bool *set, struct slice v)
{
    if (!*set) {
        *have = v;
        *set = true;
        return true;
    }
    return slice_eq(*have, v);
}

const char *
proxy_forward_auth_describe(const struct proxy_forward_auth_input *in,
                            struct proxy_forward_auth_target *out)
{
    for (int f = 0; f < PROXY_FORWARD_AUTH_FIELD_COUNT; f++) {
        if (in->counts[f] > 1) {
            return "a description field (X-Original-*, X-Forwarded-Method/-Uri) was sent twice";
        }
    }
    /* The method: every method field present must agree. A client behind
     * Traefik can send X-Original-Method itself (Traefik passes it on);
     * refusing the disagreement keeps a POST from being described as a
     * GET, which the no-body rule would let through. */
    struct slice method = in->own_method;
    bool method_set = false;
    static const enum proxy_forward_auth_field method_fields[] = {
        PROXY_FORWARD_AUTH_X_ORIGINAL_METHOD, PROXY_FORWARD_AUTH_X_FORWARDED_METHOD};
    for (size_t i = 0; i < sizeof(method_fields) / sizeof(method_fields[0]); i++) {
        enum proxy_forward_auth_field f = method_fields[i];
        if (in->counts[f] == 0) {
            continue;
        }
        struct slice v = slice_trim_ows(in->values[f][0]);
        if (!field_name_is_token(v)) {
            return "the described method is not an HTTP method token";
        }
        if (!agree(&method, &method_set, v)) {
            return "X-Original-Method and X-Forwarded-Method disagree";
        }
    }
    /* The path: the URI fields and the request's own path below the
     * endpoint (Envoy's path_prefix), each without its query. */
    struct slice path = SLICE_NULL;
    bool path_set = false;
    struct slice below = SLICE_NULL;
    struct slice base = SLICE_LIT(PROXY_FORWARD_AUTH_PATH);
    if (slice_starts_with(in->own_path, base) && in->own_path.len > base.len) {
        below = slice_skip(in->own_path, base.len);
        if (below.ptr[0] != '/') {
            return "the decision request's path is not " PROXY_FORWARD_AUTH_PATH " or below it";
        }
        (void)agree(&path, &path_set, cut_query(below));
    }
    static const enum proxy_forward_auth_field uri_fields[] = {PROXY_FORWARD_AUTH_X_ORIGINAL_URI,
                                                               PROXY_FORWARD_AUTH_X_FORWARDED_URI};
    for (size_t i = 0; i < sizeof(uri_fields) / sizeof(uri_fields[0]); i++) {
        enum proxy_forward_auth_field f = uri_fields[i];
        if (in->counts[f] == 0) {
            continue;
        }
        struct slice v = slice_trim_ows(in->values[f][0]);
        if (v.len == 0 || v.ptr[0] != '/') {
            return "the described URI is not a path ('/' first)";
        }
        if (!agree(&path, &path_set, cut_query(v))) {
            return "the described URIs (X-Original-URI, X-Forwarded-Uri, the path "
                   "below " PROXY_FORWARD_AUTH_PATH ") disagree";
        }
    }
    if (!path_set) {
        return "the gateway did not describe the request: send X-Original-URI (nginx), "
               "X-Forwarded-Uri (Traefik) or the path below " PROXY_FORWARD_AUTH_PATH
               " (Envoy path_prefix)";
    }
    out->method = method;
    out->path = path;
    return NULL;
}

bool
proxy_forward_auth_body_required(struct slice method)
{
    return !slice_eq_cstr(method, "GET") && !slice_eq_cstr(method, "HEAD") &&
           !slice_eq_cstr(method, "DELETE");
}

/* ---- answers ---- */

/* What the head check learnt, for the handler (arena memory: the bearer
 * cache's grant is only borrowed until the next check on this worker). */
struct fa_req {
    const struct proxy_mount_ctx *ctx;
    struct slice method; /* the described method and path, in the arena */
    struct slice path;
    struct policy_caller caller;
    const char *client_id;
};

static void
log_decision(struct http_request *req, enum metrics_forward_auth outcome, const char *why,
             struct slice method, struct slice path, const char *sub)
{
    metrics_inc_forward_auth(outcome);
    enum log_level level = outcome == METRICS_FORWARD_AUTH_ALLOW ? LOG_DEBUG : LOG_INFO;
    if (outcome == METRICS_FORWARD_AUTH_ERROR) {
        level = LOG_ERROR;
    }
    if (!log_enabled(level)) {
        return;
    }
    struct log_line l;
    http_request_log_begin(&l, req, level, "forward_auth_decision");
    log_str(&l, "outcome", metrics_forward_auth_str(outcome));
    if (why != NULL) {
        log_str(&l, "reason", why);
    }
    log_sample(&l, "original_method", method);
    log_sample(&l, "original_path", path);
    if (sub != NULL) {
        log_str(&l, "sub", sub);
    }
    log_end(&l);
}

/* 403 with an OAuth-style JSON body; the gateway passes it to the client
 * (Envoy, Traefik) or answers its own 403 page (nginx). */
static void
reply_forbidden(struct http_request *req, const char *description)
{
    struct buf body;
    buf_init(&body, 1024);
    if (http_reply_format_error_json(&body, "invalid_request", description) != 0) {
        http_reply_error(req, 500);
    } else {
        http_reply_json(req, 403, body.ptr, body.len);
    }
    buf_cleanup(&body);
}

/* ---- the head check: description, Origin, bearer, path ---- */

static void
read_input(struct http_request *req, struct proxy_forward_auth_input *in)
{
    memset(in, 0, sizeof(*in));
    in->own_method = slice_from_cstr(http_request_method_name(req));
    in->own_path = http_request_path(req);
    for (int f = 0; f < PROXY_FORWARD_AUTH_FIELD_COUNT; f++) {
        size_t cursor = 0;
        while (
            in->counts[f] < PROXY_FORWARD_AUTH_FIELD_VALUES &&
            http_request_header_next(req, field_names[f], &cursor, &in->values[f][in->counts[f]])) {
            in->counts[f]++;
        }
    }
}

/* Copies what the policy and the answer need out of the grant. NULL when
 * the arena is full. */
static struct fa_req *
keep_identity(struct http_request *req, const struct proxy_mount_ctx *ctx,
              const struct grant_access *g, const struct proxy_forward_auth_target *t)
{
    struct arena *a = http_request_arena(req);
    struct fa_req *m = arena_zalloc(a, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->ctx = ctx;
    char *meth = arena_strndup(a, t->method.ptr, t->method.len);
    char *path = arena_strndup(a, t->path.ptr, t->path.len);
    const char **groups = NULL;
    if (g->group_count > 0) {
        groups = arena_alloc(a, g->group_count * sizeof(groups[0]));
        for (size_t i = 0; groups != NULL && i < g->group_count; i++) {
            groups[i] = arena_strdup(a, g->groups[i]);
            if (groups[i] == NULL) {
                return NULL;
            }
        }
        if (groups == NULL) {
            return NULL;
        }
    }
    m->method = slice_from_cstr(meth != NULL ? meth : "");
    m->path = slice_from_cstr(path != NULL ? path : "");
    m->caller = (struct policy_caller){
        .sub = arena_strdup(a, g->sub != NULL ? g->sub : ""),
        .email = arena_strdup(a, g->email != NULL ? g->email : ""),
        .groups = groups,
        .group_count = g->group_count,
        .scope = arena_strdup(a, g->scope != NULL ? g->scope : ""),
        .acr = arena_strdup(a, g->acr != NULL ? g->acr : ""),
        .auth_time = g->auth_time,
    };
    m->client_id = arena_strdup(a, g->client_id != NULL ? g->client_id : "");
    bool ok = meth != NULL && path != NULL && m->caller.sub != NULL && m->caller.email != NULL &&
              m->caller.scope != NULL && m->caller.acr != NULL && m->client_id != NULL;
    return ok ? m : NULL;
}

static bool
head_check(struct http_request *req, void *arg)
{
    const struct proxy_mount_ctx *ctx = arg;
    struct proxy_forward_auth_input in;
    struct proxy_forward_auth_target t;
    read_input(req, &in);
    const char *why = proxy_forward_auth_describe(&in, &t);
    if (why != NULL) {
        log_decision(req, METRICS_FORWARD_AUTH_BAD_REQUEST, why, in.own_method, in.own_path, NULL);
        reply_forbidden(req, why);
        return false;
    }

    /* Origin before the bearer, as on the mount. The gateway passes the
     * client's Origin field on (nginx and Traefik by default; Envoy when
     * allowed_headers names it). */
    const char *origin = NULL;
    switch (proxy_cors_judge_request(&ctx->cors, req, &origin)) {
    case PROXY_CORS_FOREIGN:
        log_decision(req, METRICS_FORWARD_AUTH_ORIGIN, NULL, t.method, t.path, NULL);
        proxy_cors_reply_forbidden(req);
        return false;
    case PROXY_CORS_ALLOWED:
        /* For the gateway to copy onto the answer it relays. */
        if (proxy_cors_decorate(req, origin) != 0) {
            log_decision(req, METRICS_FORWARD_AUTH_ERROR, "response head full", t.method, t.path,
                         NULL);
            http_reply_error(req, 500);
            return false;
        }
        break;
    case PROXY_CORS_NO_ORIGIN:
    default:
        break;
    }

    struct slice values[2];
    size_t count = 0;
    size_t cursor = 0;
    while (count < 2 && http_request_header_next(req, "Authorization", &cursor, &values[count])) {
        count++;
    }
    struct proxy_bearer_result r;
    enum proxy_bearer_rc rc = proxy_bearer_check_cached(
        &ctx->bearer, proxy_bearer_cache_of_worker(http_request_worker(req)), values, count,
        clock_unix_s(), &r);
    if (rc != PROXY_BEARER_OK) {
        if (r.has_reason) {
            metrics_inc_denied(r.reason);
        }
        log_decision(req, METRICS_FORWARD_AUTH_UNAUTHORIZED, proxy_bearer_rc_str(rc), t.method,
                     t.path, NULL);
        proxy_bearer_result_cleanup(&r);
        proxy_mount_reply_unauthorized(req, ctx, rc);
        return false;
    }
    struct fa_req *m = keep_identity(req, ctx, &r.grant, &t);
    proxy_bearer_result_cleanup(&r);
    if (m == NULL) {
        log_decision(req, METRICS_FORWARD_AUTH_ERROR, "out of memory", t.method, t.path, NULL);
        http_reply_error(req, 500);
        return false;
    }
    why = proxy_path_check(t.path, slice_from_cstr(ctx->mount));
    if (why != NULL) {
        log_decision(req, METRICS_FORWARD_AUTH_BAD_REQUEST, why, t.method, t.path, m->caller.sub);
        reply_forbidden(req, why);
        return false;
    }
    http_request_set_route_state(req, m);
    return true;
}

/* ---- the handler: policy, identity, 200 ---- */

/* With a policy: decide the body's calls, or refuse a request that should
 * carry them and does not. Returns false after answering. */
static bool
check_policy(struct http_request *req, const struct fa_req *m)
{
    const struct policy *p = policy_holder_acquire(m->ctx->policy);
    if (p == NULL) {
        return true;
    }
    bool pass;
    if (http_request_body_slice(req).len == 0) {
        pass = !proxy_forward_auth_body_required(m->method);
        if (!pass) {
            static const char why[] =
                "the access policy needs the request body, and the gateway did not forward it "
                "(docs/forward-auth.md)";
            log_decision(req, METRICS_FORWARD_AUTH_BODY_REQUIRED, NULL, m->method, m->path,
                         m->caller.sub);
            reply_forbidden(req, why);
        }
    } else {
        const struct proxy_policy_gate_opts opts = {
            .proxy_base_url = m->ctx->proxy_base_url,
            .mount = m->ctx->mount,
        };
        pass = proxy_policy_gate_pass(req, p, &m->caller, &opts, clock_unix_s(), NULL);
        if (!pass) {
            log_decision(req, METRICS_FORWARD_AUTH_POLICY, NULL, m->method, m->path, m->caller.sub);
        }
    }
    policy_release(p);
    return pass;
}

/* X-User-Groups: the groups comma-joined, as the proxy mode sends them. */
static int
set_identity_headers(struct http_request *req, const struct fa_req *m, const char *assertion)
{
    const struct policy_caller *c = &m->caller;
    struct buf groups;
    buf_init(&groups, BOUNDS_IDENTITY_ASSERTION_MAX_BYTES);
    int rc = 0;
    for (size_t i = 0; i < c->group_count && rc == 0; i++) {
        rc = (i > 0 && buf_append_byte(&groups, ',') != 0) ||
                     buf_append_str(&groups, c->groups[i]) != 0
                 ? -1
                 : 0;
    }
    /* A value that could end its line would split the answer's head. */
    if (rc != 0 || !field_value_is_valid(slice_from_cstr(c->sub)) ||
        !field_value_is_valid(slice_from_cstr(c->email)) ||
        !field_value_is_valid(buf_slice(&groups))) {
        buf_cleanup(&groups);
        return -1;
    }
    rc = http_output_header_set(req, "X-User-Sub", c->sub) != 0 ||
                 http_output_header_set(req, "X-User-Email", c->email) != 0 ||
                 (groups.len > 0 &&
                  http_output_header_set(req, "X-User-Groups", buf_cstr(&groups)) != 0) ||
                 (assertion != NULL &&
                  http_output_header_set(req, IDENTITY_ASSERTION_HEADER, assertion) != 0)
             ? -1
             : 0;
    buf_cleanup(&groups);
    return rc;
}

static void
handle(struct http_request *req, void *arg)
{
    const struct proxy_mount_ctx *ctx = arg;
    struct fa_req *m = http_request_get_route_state(req);
    if (m == NULL) {
        http_reply_error(req, 500); /* the head check always sets it */
        return;
    }
    if (!check_policy(req, m)) {
        return;
    }
    struct buf assertion;
    buf_init(&assertion, BOUNDS_IDENTITY_ASSERTION_MAX_BYTES);
    const char *why = NULL;
    if (ctx->identity != NULL) {
        const struct identity_claims c = {
            .iss = ctx->identity_iss,
            .aud = ctx->identity_aud,
            .sub = m->caller.sub,
            .email = m->caller.email,
            .groups = m->caller.groups,
            .group_count = m->caller.group_count,
            .scope = m->caller.scope,
            .client_id = m->client_id,
            .acr = m->caller.acr,
            .auth_time = m->caller.auth_time,
        };
        enum identity_rc irc = identity_sign(ctx->identity, &c, clock_unix_s(), &assertion);
        if (irc != IDENTITY_OK) {
            metrics_inc(METRICS_IDENTITY_ASSERTION_FAILED);
            why = identity_rc_str(irc);
        }
    }
    if (why == NULL &&
        set_identity_headers(req, m, ctx->identity != NULL ? buf_cstr(&assertion) : NULL) != 0) {
        why = "identity not sendable as header fields";
    }
    if (why != NULL) {
        /* Never an allow without the identity the upstream relies on. */
        log_decision(req, METRICS_FORWARD_AUTH_ERROR, why, m->method, m->path, m->caller.sub);
        http_reply_error(req, 500);
    } else {
        log_decision(req, METRICS_FORWARD_AUTH_ALLOW, NULL, m->method, m->path, m->caller.sub);
        http_reply_empty(req, 200);
    }
    buf_cleanup(&assertion);
}

const struct http_route_def proxy_forward_auth_route = {
    .path = PROXY_FORWARD_AUTH_PATH,
    .place = HTTP_ROUTE_FIXED,
    .prefix = true,
    .methods = HTTP_METHODS_ANY,
    .handler = handle,
    .opts =
        {
            .body_max = BOUNDS_MCP_BODY_MAX,
            .head_check = head_check,
        },
};
