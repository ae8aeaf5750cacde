#include "proxy/policy_gate.h"

#include <string.h>

#include "base/buf.h"
#include "base/scope.h"
#include "bounds.h"
#include "http/output.h"
#include "http/reply.h"
#include "http/request.h"
#include "log.h"
#include "metrics.h"
#include "policy/policy.h"
#include "proxy/bearer.h"
#include "proxy/policy_calls.h"
#include "proxy/rpc_reply.h"

_Static_assert((int)METRICS_POLICY_REASON_COUNT == (int)POLICY_REASON_COUNT,
               "metrics_policy_reason mirrors policy_reason");
_Static_assert((int)METRICS_POLICY_UNREADABLE == (int)POLICY_REASON_UNREADABLE,
               "metrics_policy_reason mirrors policy_reason");

static const char *
deny_message(enum policy_reason r)
{
    switch (r) {
    case POLICY_REASON_GROUP:
        return "denied by the access policy: this call needs a group the caller is not in";
    case POLICY_REASON_EMAIL_DOMAIN:
        return "denied by the access policy: this call is not allowed for the caller's email "
               "domain";
    case POLICY_REASON_DEFAULT:
        return "denied by the access policy: no rule allows this call";
    case POLICY_REASON_SCOPE:
        return "this call needs a scope the access token was not granted; authorize again with the "
               "scope in WWW-Authenticate";
    case POLICY_REASON_STEP_UP:
        return "this call needs a stronger or more recent login; authorize again with the scope in "
               "WWW-Authenticate";
    case POLICY_REASON_RULE:
    default:
        return "denied by the access policy";
    }
}

/* Allows at debug: every forwarded call already has its access-log line
 * (rpc_method, rpc_tool), and an info line per allow would double the log
 * of a busy server. Denials at info: the operator's policy working, not a
 * fault, but what they look for when a user asks why. */
static void
log_decision(struct http_request *req, const struct policy_caller *c, struct slice method,
             struct slice name, const struct policy_decision *d)
{
    enum log_level level = d->effect == POLICY_ALLOW ? LOG_DEBUG : LOG_INFO;
    metrics_inc_policy_decision(d->effect == POLICY_ALLOW, (enum metrics_policy_reason)d->reason);
    if (!log_enabled(level)) {
        return;
    }
    struct log_line l;
    http_request_log_begin(&l, req, level, "policy_decision");
    log_str(&l, "sub", c->sub);
    log_sample(&l, "method", method);
    log_sample(&l, "name", name);
    log_str(&l, "rule", d->rule);
    log_str(&l, "decision", policy_effect_str(d->effect));
    log_str(&l, "reason", policy_reason_str(d->reason));
    log_end(&l);
}

/* The 403 challenge: the scope is the token's scopes (without
 * offline_access, as in the 401) joined with what the rule needs, so a
 * client that re-authorizes with it loses nothing it had. */
static void
reply_scope_challenge(struct http_request *req, const struct policy_caller *c,
                      const struct policy_decision *d, const struct proxy_policy_gate_opts *opts)
{
    struct buf scope, challenge, body;
    buf_init(&scope,
             2 * BOUNDS_SCOPE_MAX_BYTES + BOUNDS_POLICY_LIST_MAX * (BOUNDS_POLICY_STRING_MAX + 1));
    buf_init(&challenge,
             1024 + 2 * strlen(opts->proxy_base_url) + 2 * strlen(opts->mount) + 2 * scope.max);
    buf_init(&body, 1024);
    int err = scope_without_offline_access(c->scope, &scope);
    struct slice rest = slice_from_cstr(d->required_scope);
    struct slice t;
    while (err == 0 && scope_next(&rest, " ", &t)) {
        if (!scope_has(buf_cstr(&scope), t)) {
            err = (scope.len > 0 && buf_append_byte(&scope, ' ') != 0) ||
                  buf_append_slice(&scope, t) != 0;
        }
    }
    const char *desc = deny_message(d->reason);
    if (err != 0 ||
        proxy_bearer_format_scope_challenge(buf_cstr(&scope), desc, opts->proxy_base_url,
                                            opts->mount, &challenge) != 0 ||
        http_reply_format_error_json(&body, "insufficient_scope", desc) != 0 ||
        http_output_header_set(req, "WWW-Authenticate", buf_cstr(&challenge)) != 0) {
        http_reply_error(req, 500);
    } else {
        http_reply_json(req, 403, body.ptr, body.len);
    }
    buf_cleanup(&scope);
    buf_cleanup(&challenge);
    buf_cleanup(&body);
}

static void
refuse_unreadable(struct http_request *req, const struct policy_caller *c,
                  const struct proxy_policy_calls *calls, const char *why)
{
    struct policy_decision d = {.effect = POLICY_DENY,
                                .reason = POLICY_REASON_UNREADABLE,
                                .rule = "",
                                .required_scope = ""};
    log_decision(req, c, SLICE_LIT(""), SLICE_LIT(""), &d);
    proxy_rpc_reply_error(req, 400, "null", calls->not_json ? -32700 : -32600, why);
}

bool
proxy_policy_gate_pass(struct http_request *req, const struct policy *p,
                       const struct policy_caller *c, const struct proxy_policy_gate_opts *opts,
                       int64_t now_s, const struct proxy_rpc_scan *scan)
{
    struct slice body = http_request_body_slice(req);
    if (body.len == 0) {
        return true; /* GET (the SSE stream), DELETE: no call to decide */
    }
    struct slice ct = SLICE_NULL;
    (void)http_request_header_get(req, "Content-Type", &ct);
    struct proxy_policy_calls calls;
    const char *why = scan != NULL ? proxy_policy_calls_from_scan(ct, scan, body, &calls)
                                   : proxy_policy_calls_parse(ct, body, &calls);
    if (why != NULL) {
        refuse_unreadable(req, c, &calls, why);
        proxy_policy_calls_cleanup(&calls);
        return false;
    }
    bool pass = true;
    for (size_t i = 0; i < calls.count && pass; i++) {
        const struct proxy_policy_call *e = &calls.items[i];
        if (e->is_response) {
            continue;
        }
        struct policy_call call = {.method = e->method, .name = e->name};
        struct policy_decision d;
        policy_decide(p, c, &call, now_s, &d);
        log_decision(req, c, e->method, e->name, &d);
        if (d.effect == POLICY_ALLOW) {
            continue;
        }
        pass = false;
        if (d.fixable_by_login) {
            reply_scope_challenge(req, c, &d, opts);
        } else {
            proxy_rpc_reply_error(req, 403, e->id_json, PROXY_POLICY_GATE_ERROR_CODE,
                                  deny_message(d.reason));
        }
    }
    proxy_policy_calls_cleanup(&calls);
    return pass;
}
