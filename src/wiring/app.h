/* struct app: the process-wide services, built once at start-up and
 * read-only afterwards, shared by every worker thread without locks, and
 * the narrow contexts built from them for the floors below (each subsystem
 * receives its context, never the app: docs/architecture.md "Floors").
 *
 * app_start() builds them in SPEC.md 8.1's order: OIDC discovery and the
 * first JWKS (blocking, interruptible by a signal), the seal key ring, the
 * replay-store back end and its start-up check, the rate limiter, the
 * per-subject limiter. Anything mutable after start-up is atomic or locked
 * inside the module that owns it (rate-limit stripes, subject-limit
 * stripes, the JWKS snapshot pointer, the readiness cache). */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>

#include "base/buf.h"
#include "oauth/oauth.h"
#include "net/resolve.h"
#include "net/sockopt.h"
#include "proxy/mount.h"
#include "proxy/pool.h"

struct config;
struct http_request;
struct seal_ring;
struct oidc_provider;
struct oidc_jwks;
struct ratelimit;
struct store_backend;
struct store_readiness;
struct proxy_subject_limit;
struct oidc_throttle;
struct log_skip;
struct identity_keys;

/* Answers /readyz when the process is not draining (SPEC.md 5.5): replies
 * itself, now or later (the replay store probes Redis asynchronously).
 * NULL means "ready": 200 {"status":"ok"}. Runs on the control loop. */
typedef void (*app_ready_probe_fn)(struct http_request *req, void *arg);

struct app {
    const struct config *cfg; /* borrowed; lives for the process */

    struct seal_ring *seal;                    /* primary + previous keys */
    struct oidc_provider *oidc;                /* IdP metadata (discovery) */
    struct oidc_jwks *jwks;                    /* IdP keys, refreshed */
    struct ratelimit *ratelimit;               /* per-IP buckets (SPEC.md 3.0.3) */
    struct proxy_subject_limit *subject_limit; /* MCP_PER_SUBJECT_CONCURRENCY */
    struct oidc_throttle *idp_throttle;        /* /callback's IdP exchanges (SPEC.md 6.7) */
    struct store_backend *store_backend;       /* NULL: no replay store */
    struct store_readiness *readiness;         /* /readyz cache; NULL without a store */
    struct oauth_cimd *cimd;                   /* metadata document cache; NULL when disabled */
    struct oauth_discovery *discovery;         /* the discovery documents, built by app_new() */
    /* UPSTREAM_IDENTITY_ASSERTION's keys, loaded by app_new(); NULL = off. */
    struct identity_keys *identity;
    struct oauth oauth;        /* the OAuth handlers' view of the above, filled by app_start() */
    struct log_skip *log_skip; /* ACCESS_LOG_SKIP_RE; NULL = log every path */

    /* Narrow contexts, from cfg by app_new(); app_start() adds the seal
     * ring and the subject limiter to mcp once they exist. */
    struct net_keepalive keepalive;  /* TCP_KEEPALIVE_*, TCP_USER_TIMEOUT: every TCP socket */
    struct net_resolver_opts dns;    /* DNS_RESOLV_CONF, DNS_HOSTS_FILE: Redis, upstream */
    struct proxy_pool_opts upstream; /* each public worker's upstream pool */
    struct proxy_mount_ctx mcp;      /* the MCP mount's route */

    app_ready_probe_fn ready_probe;
    void *ready_probe_arg;
};

/* An app around cfg (borrowed) holding only what is pure to build (the
 * discovery documents, the access-log matcher); app_start() adds the
 * services. Never NULL. */
struct app *app_new(const struct config *cfg);
/* Builds every process-wide service. stop (may be NULL) is set by a signal
 * during start-up and aborts the blocking steps. Returns 0, or -1 with the
 * start-up event name in *out_event and one sentence in err; the caller
 * logs it and exits 1. */
int app_start(struct app *app, const atomic_bool *stop, const char **out_event, struct buf *err)
    __attribute__((warn_unused_result));
/* Frees what app_new()/app_start() built. Every worker (and its store and
 * fetch handles) must be gone first. NULL is a no-op. */
void app_free(struct app *app);
