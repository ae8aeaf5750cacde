#include "http/health.h"

#include "base/buf.h"
#include "bounds.h"
#include "http/reply.h"
#include "http/output.h"
#include "http/router.h"
#include "metrics.h"

void
http_health_healthz(struct http_request *req, void *arg)
{
    (void)arg;
    http_reply_empty(req, 200);
}

const struct http_route_def http_health_healthz_route = {
    .path = "/healthz",
    .methods = HTTP_METHODS_GET,
    .handler = http_health_healthz,
    .opts = {.metric_route = METRICS_ROUTE_HEALTH},
};

void
http_health_metrics(struct http_request *req, void *arg)
{
    (void)arg;
    struct buf text;
    buf_init(&text, BOUNDS_METRICS_TEXT_MAX);
    if (metrics_format(&text) != 0) {
        http_reply_error(req, 500);
    } else {
        http_output_send(req, 200, "text/plain; version=0.0.4", text.ptr, text.len);
    }
    buf_cleanup(&text);
}

/* SPEC.md 5.5: no trailing newline; text/plain as Go's sniffing gave. */
static void
reply_status(struct http_request *req, int status, const char *body, size_t len)
{
    http_reply_text(req, status, body, len);
}

void
http_health_readyz(struct http_request *req, void *arg)
{
    const struct http_health *h = arg;
    static const char ok[] = "{\"status\":\"ok\"}";
    static const char draining[] = "{\"status\":\"shutting_down\"}";
    if (atomic_load(h->draining)) {
        reply_status(req, 503, draining, sizeof(draining) - 1);
        return;
    }
    if (h->ready != NULL) {
        h->ready(req, h->ready_arg);
        return;
    }
    reply_status(req, 200, ok, sizeof(ok) - 1);
}

void
http_health_add_metrics_routes(struct http_router *r, const struct http_health *h)
{
    http_router_add(r, HTTP_METHODS_ANY, "/metrics", http_health_metrics, NULL, NULL);
    /* The router keeps arg as an opaque pointer; readyz only reads it. */
    http_router_add(r, HTTP_METHODS_ANY, "/readyz", http_health_readyz, (void *)h, NULL);
}
