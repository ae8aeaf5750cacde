#include "ratelimit_gate.h"

#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/form.h"
#include "base/ipaddr.h"
#include "bounds.h"
#include "http/conn.h"
#include "http/request.h"
#include "log.h"
#include "ratelimit.h"
#include "ratelimit_budget.h"
#include "store/store.h"

/* One request waiting for the store, in the request's arena. */
struct gate_wait {
    struct ratelimit_gate *g;
    struct http_request *req;
    struct store_op *op;
    enum metrics_endpoint bucket;
    unsigned limit;
    int64_t now_ms;
    char key[RATELIMIT_BUDGET_KEY_SIZE];
};

uint32_t
ratelimit_gate_buckets(bool shared)
{
    uint32_t set =
        (UINT32_C(1) << METRICS_ENDPOINT_TOKEN) | (UINT32_C(1) << METRICS_ENDPOINT_AUTHORIZE);
    if (shared) {
        for (unsigned b = 0; b < METRICS_ENDPOINT_COUNT; b++) {
            if (b != METRICS_ENDPOINT_MCP) {
                set |= UINT32_C(1) << b;
            }
        }
    }
    return set;
}

/* The client_id the request names, parsed into *p (cleanup after); an
 * empty slice when none. Parse failures name none: the handler answers
 * them with its own error. */
static struct slice
client_id_of(enum metrics_endpoint bucket, struct http_request *req, struct form_params *p)
{
    memset(p, 0, sizeof(*p));
    struct slice raw = SLICE_NULL;
    enum form_mode mode = FORM_MODE_QUERY;
    if (bucket == METRICS_ENDPOINT_AUTHORIZE) {
        raw = http_request_query(req);
    } else if (bucket == METRICS_ENDPOINT_TOKEN) {
        struct slice ct;
        if (!http_request_header_get(req, "Content-Type", &ct)) {
            return SLICE_NULL;
        }
        const char *type = arena_slicedup(http_request_arena(req), ct);
        if (!form_is_content_type(type)) {
            return SLICE_NULL;
        }
        raw = http_request_body_slice(req);
        mode = FORM_MODE_BODY;
    }
    if (raw.len == 0 || form_parse(raw, mode, BOUNDS_QUERY_PARAMS_MAX, p) != FORM_OK) {
        return SLICE_NULL;
    }
    return slice_from_cstr(form_params_get(p, "client_id", NULL));
}

unsigned
ratelimit_gate_select(const struct ratelimit_gate *g, enum metrics_endpoint bucket,
                      struct http_request *req, char *key_out)
{
    char ip[CLIENT_IP_KEY_SIZE];
    g->ip_key(g->ip_key_arg, req, ip);
    struct form_params p;
    struct slice client_id = SLICE_NULL;
    if (ratelimit_budget_client_aware(bucket)) {
        client_id = client_id_of(bucket, req, &p);
    }
    struct ipaddr addr;
    bool is_addr = ipaddr_parse(slice_from_cstr(ip), &addr);
    unsigned limit =
        ratelimit_budget_select(g->budgets, bucket, client_id, is_addr ? &addr : NULL, NULL);
    ratelimit_budget_key(bucket, ip, client_id, key_out);
    if (ratelimit_budget_client_aware(bucket)) {
        form_params_cleanup(&p);
    }
    return limit;
}

static void
note_down(struct ratelimit_gate *g, enum metrics_endpoint bucket, const char *error)
{
    metrics_inc_rate_limit_fallback(bucket);
    if (!atomic_exchange(&g->store_down, true)) {
        struct log_line l;
        log_begin(&l, LOG_WARN, "rate_limit_store_unavailable");
        log_str(&l, "endpoint", metrics_endpoint_str(bucket));
        log_str(&l, "error", error != NULL ? error : "unavailable");
        log_end(&l);
    }
}

static void
note_up(struct ratelimit_gate *g)
{
    if (atomic_load_explicit(&g->store_down, memory_order_relaxed) &&
        atomic_exchange(&g->store_down, false)) {
        struct log_line l;
        log_begin(&l, LOG_INFO, "rate_limit_store_recovered");
        log_end(&l);
    }
}

static void
on_abort(struct http_request *req, void *arg)
{
    (void)req;
    struct gate_wait *w = arg;
    store_cancel(w->op);
    w->op = NULL;
}

static void
on_answer(enum store_rc rc, const char *error, void *arg)
{
    struct gate_wait *w = arg;
    w->op = NULL;
    http_request_on_abort(w->req, NULL, NULL);
    bool allowed;
    if (rc == STORE_OK || rc == STORE_ERR_ALREADY_USED) {
        note_up(w->g);
        allowed = rc == STORE_OK;
    } else {
        note_down(w->g, w->bucket, error);
        allowed = ratelimit_allow_budget(w->g->table, w->bucket, w->key, w->limit, w->now_ms);
    }
    http_conn_rate_gate_done(w->req, allowed);
}

void
ratelimit_gate_check(void *arg, enum metrics_endpoint bucket, struct http_request *req)
{
    struct ratelimit_gate *g = arg;
    char key[RATELIMIT_BUDGET_KEY_SIZE];
    unsigned limit = ratelimit_gate_select(g, bucket, req, key);
    int64_t now = clock_unix_ms();
    struct store *s = g->shared ? store_of_worker(http_request_worker(req)) : NULL;
    struct gate_wait *w = s != NULL ? arena_zalloc(http_request_arena(req), sizeof(*w)) : NULL;
    struct buf skey;
    buf_init(&skey, BOUNDS_STORE_KEY_MAX);
    if (w == NULL || bucket == METRICS_ENDPOINT_MCP ||
        ratelimit_budget_store_key(bucket, key, &skey) != 0) {
        if (s != NULL) {
            note_down(g, bucket, "no memory for the shared check");
        }
        buf_cleanup(&skey);
        http_conn_rate_gate_done(req, ratelimit_allow_budget(g->table, bucket, key, limit, now));
        return;
    }
    *w = (struct gate_wait){.g = g, .req = req, .bucket = bucket, .limit = limit, .now_ms = now};
    memcpy(w->key, key, sizeof(w->key));
    http_request_on_abort(req, on_abort, w);
    /* The store always answers on a later loop turn, so w->op is set
     * before on_answer can run. */
    w->op = store_rate_window(s, buf_slice(&skey), limit, now, on_answer, w);
    buf_cleanup(&skey);
}
