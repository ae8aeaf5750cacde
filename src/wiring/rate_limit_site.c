/* The rate-limit call site and the client key (see rate_limit_site.h). */
#include "wiring/rate_limit_site.h"

#include <assert.h>
#include <string.h>

#include "base/clock.h"
#include "base/ipaddr.h"
#include "bounds.h"
#include "config.h"
#include "http/request.h"
#include "http/router.h"
#include "http/server.h"
#include "ratelimit.h"
#include "ratelimit_budget.h"

_Static_assert(CLIENT_IP_KEY_SIZE == HTTP_SERVER_OPTS_CLIENT_KEY_SIZE, "one client key size");

struct client_ip_policy
rate_limit_site_ip_policy(const struct config *c)
{
    static const enum client_ip_header headers[CONFIG_PROXY_HEADER_COUNT] = {
        [CONFIG_PROXY_HEADER_X_FORWARDED_FOR] = CLIENT_IP_HEADER_X_FORWARDED_FOR,
        [CONFIG_PROXY_HEADER_X_REAL_IP] = CLIENT_IP_HEADER_X_REAL_IP,
        [CONFIG_PROXY_HEADER_TRUE_CLIENT_IP] = CLIENT_IP_HEADER_TRUE_CLIENT_IP,
    };
    assert((size_t)c->trusted_proxy_header < CONFIG_PROXY_HEADER_COUNT);
    return (struct client_ip_policy){
        .trusted = c->trusted_proxy_cidrs,
        .trusted_count = c->trusted_proxy_cidr_count,
        .header = headers[c->trusted_proxy_header],
        .legacy = c->trust_proxy_headers,
    };
}

/* Every line of header `name`, in the order received, appended to
 * lines[*used..] (a request has at most BOUNDS_HEADER_COUNT_MAX lines). */
static struct client_ip_field
header_lines(const struct http_request *req, const char *name, struct slice *lines, size_t *used)
{
    struct client_ip_field f = {lines + *used, 0};
    size_t cursor = 0;
    struct slice v;
    while (*used < BOUNDS_HEADER_COUNT_MAX && http_request_header_next(req, name, &cursor, &v)) {
        lines[(*used)++] = v;
        f.count++;
    }
    return f;
}

void
rate_limit_site_client_key(void *arg, struct http_request *req, char key[CLIENT_IP_KEY_SIZE])
{
    const struct rate_limit_site *site = arg;
    struct client_ip_peer peer =
        client_ip_peer_from_text(slice_from_cstr(http_request_client_ip(req)));
    peer.addr = *http_request_peer(req);
    struct slice lines[BOUNDS_HEADER_COUNT_MAX];
    size_t used = 0;
    struct client_ip_headers h;
    h.x_forwarded_for = header_lines(req, "X-Forwarded-For", lines, &used);
    h.x_real_ip = header_lines(req, "X-Real-IP", lines, &used);
    h.true_client_ip = header_lines(req, "True-Client-IP", lines, &used);
    client_ip_key(&site->policy, &peer, &h, key);
}

/* http_rate_limit_fn: the verdict before dispatch. */
static bool
rate_limit_request(void *arg, enum metrics_endpoint bucket, struct http_request *req)
{
    const struct rate_limit_site *site = arg;
    char key[CLIENT_IP_KEY_SIZE];
    rate_limit_site_client_key(arg, req, key);
    if (ratelimit_budget_client_aware(bucket)) {
        /* The gate keys by client_id after the body; here, per replica,
         * the address's ceiling over all the client_ids it invents. */
        struct ipaddr addr;
        bool is_addr = ipaddr_parse(slice_from_cstr(key), &addr);
        char ceiling_key[RATELIMIT_BUDGET_KEY_SIZE];
        ratelimit_budget_ceiling_key(key, ceiling_key);
        unsigned ceiling = ratelimit_budget_ceiling(site->budgets, bucket, is_addr ? &addr : NULL);
        return ratelimit_allow_budget(site->table, bucket, ceiling_key, ceiling, clock_unix_ms());
    }
    if ((site->gate_buckets & (UINT32_C(1) << bucket)) != 0) {
        return true; /* the gate judges it at dispatch */
    }
    unsigned limit = ratelimit_budget_select(site->budgets, bucket, SLICE_NULL, NULL, NULL);
    return ratelimit_allow_budget(site->table, bucket, key, limit, clock_unix_ms());
}

/* RATE_LIMIT_<ENDPOINT>_PER_MIN by bucket. */
static void
per_min_of(const struct config *c, unsigned out[METRICS_ENDPOINT_COUNT])
{
    out[METRICS_ENDPOINT_REGISTER] = c->rate_limit_register_per_min;
    out[METRICS_ENDPOINT_AUTHORIZE] = c->rate_limit_authorize_per_min;
    out[METRICS_ENDPOINT_CONSENT] = c->rate_limit_consent_per_min;
    out[METRICS_ENDPOINT_CALLBACK] = c->rate_limit_callback_per_min;
    out[METRICS_ENDPOINT_TOKEN] = c->rate_limit_token_per_min;
    out[METRICS_ENDPOINT_MCP] = c->rate_limit_mcp_per_min;
    out[METRICS_ENDPOINT_DISCOVERY] = c->rate_limit_discovery_per_min;
    out[METRICS_ENDPOINT_REVOKE] = c->rate_limit_revoke_per_min;
}

void
rate_limit_site_init(struct rate_limit_site *site, const struct config *c, struct ratelimit *table)
{
    unsigned per_min[METRICS_ENDPOINT_COUNT];
    per_min_of(c, per_min);
    bool shared = c->rate_limit_store != NULL && strcmp(c->rate_limit_store, "redis") == 0;
    *site = (struct rate_limit_site){
        .table = table,
        .policy = rate_limit_site_ip_policy(c),
        .budgets = ratelimit_budgets_new(per_min, c->rate_limit_client_budgets,
                                         c->rate_limit_cidr_budgets),
        .gate_buckets = ratelimit_gate_buckets(shared),
    };
    site->gate = (struct ratelimit_gate){
        .table = table,
        .budgets = site->budgets,
        .ip_key = rate_limit_site_client_key,
        .ip_key_arg = site,
        .shared = shared,
    };
    atomic_init(&site->gate.store_down, false);
}

void
rate_limit_site_install(struct rate_limit_site *site, const struct config *c,
                        struct http_router *router)
{
    if (!c->rate_limit_enabled) {
        return;
    }
    http_router_set_rate_limiter(router, rate_limit_request, site);
    http_router_set_rate_gate(router, ratelimit_gate_check, &site->gate, site->gate_buckets);
}

void
rate_limit_site_cleanup(struct rate_limit_site *site)
{
    ratelimit_budgets_free(site->budgets);
    site->budgets = NULL;
}
