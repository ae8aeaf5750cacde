/* /healthz on the public listener; /metrics and /readyz on the metrics
 * listener (SPEC.md 3.9, 3.10, 5.5).
 *
 * The metrics listener is a plain mux: exactly these two paths, any
 * method, other paths 404 text/plain; no security headers, no access log,
 * no rate limit. /readyz turns 503 from the first moment of a drain
 * (SPEC preface fix 8) and otherwise defers to the readiness hook the
 * wiring installs (the replay store's probe), when there is one. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>

struct http_request;
struct http_router;

/* Answers /readyz when the process is not draining (SPEC.md 5.5): replies
 * itself, now or later (a probe may wait for a store round trip; it then
 * registers the request's abort callback). Runs on the metrics listener's
 * loop. */
typedef void (*http_health_ready_fn)(struct http_request *req, void *arg);

struct http_health {
    http_health_ready_fn ready;  /* NULL: ready, 200 {"status":"ok"} */
    void *ready_arg;             /* borrowed; outlives the router */
    const atomic_bool *draining; /* set by the runtime on the first signal */
};

/* GET/HEAD /healthz: 200, empty body, while the process runs. */
void http_health_healthz(struct http_request *req, void *arg);
/* /metrics: the Prometheus text (text/plain; version=0.0.4). */
void http_health_metrics(struct http_request *req, void *arg);
/* /readyz: arg is a struct http_health (borrowed, outlives the router). */
void http_health_readyz(struct http_request *req, void *arg);

/* Registers /metrics and /readyz (any method) on the metrics router. */
void http_health_add_metrics_routes(struct http_router *r, const struct http_health *h);
