/* struct app: the process-wide services, built once at start-up and
 * read-only afterwards, shared by every worker thread without locks.
 *
 * Today it holds the configuration; the other subsystems add their
 * process-wide state here as they land (the seal key ring, the OIDC
 * provider metadata and JWKS handle, the rate limiter, the replay store's
 * shared settings). Anything mutable after start-up does not belong here
 * unless it is atomic or locked inside the module that owns it. */
#pragma once

#include <stdbool.h>

struct config;
struct http_request;

/* Process-wide services of other subsystems, each created by its module
 * during app_new()'s caller's start-up sequence (runtime.c) and freed in
 * app_free(). NULL until that subsystem lands. */
struct seal_ring;      /* seal.c: primary and previous keys */
struct oidc_provider;  /* oidc/provider.c: IdP metadata and JWKS */
struct ratelimit;      /* ratelimit.c: per-endpoint, per-key buckets */
struct proxy_subject_limit; /* proxy/subject_limit.c: MCP_PER_SUBJECT_CONCURRENCY */

/* Answers /readyz when the process is not draining (SPEC.md 5.5): replies
 * itself, now or later (the replay store probes Redis asynchronously).
 * NULL means "ready": 200 {"status":"ok"}. Runs on the control loop. */
typedef void (*app_ready_probe_fn)(struct http_request *req, void *arg);

struct app {
    const struct config *cfg;      /* borrowed; lives for the process */

    struct seal_ring *seal;
    struct oidc_provider *oidc;
    struct ratelimit *ratelimit;
    struct proxy_subject_limit *subject_limit; /* MCP_PER_SUBJECT_CONCURRENCY */

    app_ready_probe_fn ready_probe;
    void *ready_probe_arg;
};

/* Builds the app around cfg (borrowed). Never returns NULL. */
struct app *app_new(const struct config *cfg);
/* Frees what app_new() and the subsystems attached. NULL is a no-op. */
void app_free(struct app *app);
