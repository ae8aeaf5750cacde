/* ratelimit_gate: the rate-limit decision for one request at dispatch
 * (issue 14), the router's asynchronous gate (http/router.h
 * http_rate_gate_fn).
 *
 * It reads what the request names -- the query's client_id at /authorize,
 * the form body's client_id at /token (the buffered body is parsed, not
 * consumed: the handler reads it again) -- picks the budget and the key
 * (ratelimit_budget.h), and asks:
 *   - RATE_LIMIT_STORE=local: the process's limiter (ratelimit.h), at once;
 *   - RATE_LIMIT_STORE=redis: the worker's store (store_rate_window, one
 *     atomic script), the request waiting for the answer at most the
 *     store's command timeout; a client that leaves meanwhile cancels the
 *     operation (no callback reaches a freed request). When the store does
 *     not answer (down, timed out, the memory back end), the local limiter
 *     judges that request, mcp_auth_rate_limit_fallback_total{endpoint}
 *     counts it, and one warning per outage is logged
 *     (rate_limit_store_unavailable; rate_limit_store_recovered when an
 *     answer comes again). During an outage each replica counts from zero
 *     in its own table: the fleet then allows up to a budget per replica.
 * The MCP mount is never gated here: its budget stays per replica, at the
 * head (ratelimit.h through the router's synchronous limiter). */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/client_ip.h"
#include "metrics.h"

struct http_request;
struct ratelimit;
struct ratelimit_budgets;

/* The client address key of a request (SPEC.md 3.0.4). */
typedef void (*ratelimit_gate_ip_fn)(void *arg, struct http_request *req,
                                     char key[CLIENT_IP_KEY_SIZE]);

struct ratelimit_gate {
    struct ratelimit *table;                 /* borrowed: the local limiter */
    const struct ratelimit_budgets *budgets; /* borrowed */
    ratelimit_gate_ip_fn ip_key;
    void *ip_key_arg;
    bool shared;            /* RATE_LIMIT_STORE=redis */
    atomic_bool store_down; /* a warning was logged and no answer came since */
};

/* The buckets the gate takes (a bit per enum metrics_endpoint): /token and
 * /authorize always (their keys need the request's client_id), every other
 * bucket but the MCP mount's when shared. */
uint32_t ratelimit_gate_buckets(bool shared);

/* http_rate_gate_fn; arg is a struct ratelimit_gate. */
void ratelimit_gate_check(void *arg, enum metrics_endpoint bucket, struct http_request *req);

/* The budget and the key text (RATELIMIT_BUDGET_KEY_SIZE bytes) of a
 * request as the gate judges it (tests, logs). */
unsigned ratelimit_gate_select(const struct ratelimit_gate *g, enum metrics_endpoint bucket,
                               struct http_request *req, char *key_out);
