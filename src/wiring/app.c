#include "wiring/app.h"

#include <assert.h>
#include <string.h>

#include "base/arena.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "config.h"
#include "http/reply.h"
#include "http/request.h"
#include "identity.h"
#include "log.h"
#include "log_skip.h"
#include "metrics.h"
#include "net/resolve.h"
#include "net/sockopt.h"
#include "oauth/cimd.h"
#include "oauth/oauth.h"
#include "oauth/stepup_rules.h"
#include "oidc/jwks.h"
#include "oidc/provider.h"
#include "oidc/throttle.h"
#include "policy/load.h"
#include "policy/policy.h"
#include "proxy/bearer.h"
#include "proxy/cors.h"
#include "proxy/subject_limit.h"
#include "ratelimit.h"
#include "seal.h"
#include "revocation/subscriber.h"
#include "store/memory.h"
#include "store/readiness.h"
#include "store/redis.h"
#include "store/redis_cluster.h"
#include "store/redis_url.h"
#include "store/store.h"
#include "worker.h"

/* The MCP mount's context (proxy/mount.h) from the configuration; the seal
 * ring and the subject limiter join it in app_start(). */
static void
init_mount_ctx(struct proxy_mount_ctx *m, const struct config *c)
{
    proxy_bearer_policy_init(&m->bearer, c, NULL);
    m->per_subject_concurrency = c->per_subject_concurrency;
    m->mount = c->mount;
    m->proxy_base_url = c->proxy_base_url;
    m->challenge_scope = c->scopes_resource;
    m->tool_metrics = c->tool_metrics;
    m->log_body_max = c->log_body_max;
    m->filter_lists = c->policy_filter_lists;
    proxy_cors_policy_init(&m->cors, c->proxy_base_url, c->mcp_allowed_origins,
                           c->mcp_allowed_origin_count);
    m->forward = (struct proxy_forward_opts){
        .header_timeout_ms = c->upstream_header_timeout_ms > 0 ? c->upstream_header_timeout_ms
                                                               : BOUNDS_UPSTREAM_HEADER_TIMEOUT_MS,
        .rate_limit_enabled = c->rate_limit_enabled,
        .max_round_trips = BOUNDS_UPSTREAM_HOPS_MAX,
    };
}

/* UPSTREAM_IDENTITY_ASSERTION's keys, before the route table is built
 * (its JWKS route needs them). The files were checked by config_load; one
 * that changed since is caught by app_start (identity still NULL). The
 * start-up line names the signing kid, never key material. */
static struct identity_keys *
load_identity(const struct config *c)
{
    if (!c->upstream_identity_assertion) {
        return NULL;
    }
    struct identity_keys *keys = NULL;
    enum identity_rc rc = IDENTITY_OK;
    size_t bad = 0;
    if (c->upstream_identity_key_file_count > 0) {
        keys = identity_keys_load((const char *const *)c->upstream_identity_key_files,
                                  c->upstream_identity_key_file_count, &rc, &bad);
    } else {
        keys = identity_keys_generate();
    }
    if (keys == NULL) {
        return NULL;
    }
    struct log_line l;
    log_begin(&l, LOG_INFO, "identity_assertion_keys");
    log_str(&l, "signing_kid", identity_keys_signing_kid(keys));
    log_uint(&l, "keys", identity_keys_count(keys));
    log_str(&l, "source", c->upstream_identity_key_file_count > 0 ? "file" : "generated");
    log_end(&l);
    return keys;
}

struct app *
app_new(const struct config *cfg)
{
    struct app *app = xcalloc(1, sizeof(*app));
    app->cfg = cfg;
    app->discovery = oauth_discovery_new(cfg);
    app->oauth.cfg = cfg;
    app->keepalive = (struct net_keepalive){
        .idle_s = (uint32_t)cfg->tcp_keepalive_idle_s,
        .interval_s = (uint32_t)cfg->tcp_keepalive_interval_s,
        .count = cfg->tcp_keepalive_count,
        .user_timeout_ms = (uint32_t)cfg->tcp_user_timeout_ms,
    };
    app->dns = (struct net_resolver_opts){.resolv_conf = cfg->dns_resolv_conf,
                                          .hosts_file = cfg->dns_hosts_file};
    app->upstream = (struct proxy_pool_opts){
        .upstream_origin = cfg->upstream_origin,
        .mount = cfg->mount,
        .proxy_base_url = cfg->proxy_base_url,
        .upstream_authorization = cfg->upstream_authorization_header,
        .dns = app->dns,
        .keepalive = app->keepalive,
    };
    init_mount_ctx(&app->mcp, cfg);
    app->identity = load_identity(cfg);
    app->mcp.identity = app->identity;
    app->mcp.identity_iss = cfg->proxy_base_url;
    app->mcp.identity_aud = cfg->upstream_origin;
    /* The tool label's cap is process-wide (metrics.c). */
    metrics_set_tool_cardinality_cap(cfg->tool_metrics_max_cardinality);
    if (cfg->access_log_skip_re_text != NULL) {
        /* config_load compiled it once already, so this cannot fail. */
        app->log_skip = log_skip_new(cfg->access_log_skip_re_text, NULL);
        assert(app->log_skip != NULL);
    }
    return app;
}

/* ---- /readyz through the replay store (SPEC.md 5.5) ---- */

struct ready_wait {
    struct http_request *req;
    struct store_readiness_wait *wait;
};

static void
on_ready_answer(enum store_rc rc, const char *error, void *arg)
{
    struct ready_wait *rw = arg;
    struct http_request *req = rw->req;
    http_request_on_abort(req, NULL, NULL);
    if (rc == STORE_OK) {
        static const char ok[] = "{\"status\":\"ok\"}";
        http_reply_text(req, 200, ok, sizeof(ok) - 1);
    } else {
        struct log_line l;
        log_begin(&l, LOG_WARN, "readyz_redis_probe_failed");
        log_str(&l, "error", error ? error : store_rc_str(rc));
        log_end(&l);
        static const char down[] = "{\"status\":\"redis_unavailable\"}";
        http_reply_text(req, 503, down, sizeof(down) - 1);
    }
}

static void
on_ready_client_gone(struct http_request *req, void *arg)
{
    struct ready_wait *rw = arg;
    (void)req;
    store_readiness_cancel(rw->wait);
}

static void
ready_probe(struct http_request *req, void *arg)
{
    struct app *app = arg;
    struct store *store = store_of_worker(http_request_worker(req));
    struct ready_wait *rw = arena_alloc(http_request_arena(req), sizeof(*rw));
    if (rw == NULL || store == NULL) {
        struct log_line l;
        http_request_log_begin(&l, req, LOG_ERROR, "readyz_probe_failed");
        log_str(&l, "error", rw == NULL ? "request arena exhausted" : "no store on this loop");
        log_end(&l);
        http_reply_error(req, 500);
        return;
    }
    rw->req = req;
    http_request_on_abort(req, on_ready_client_gone, rw);
    rw->wait = store_readiness_check(app->readiness, store, on_ready_answer, rw);
}

/* ---- start-up ---- */

static void
set_error(struct buf *err, const char *msg)
{
    buf_reset(err);
    if (buf_append_str(err, msg) != 0) {
        buf_reset(err); /* too long for the buffer: the event name still tells */
    }
}

static int
start_seal(struct app *app, struct buf *err)
{
    const struct config *c = app->cfg;
    app->seal =
        seal_ring_new(c->token_signing_secret, c->token_signing_secret_len, c->previous_secrets,
                      c->previous_secret_lens, c->previous_secret_count);
    if (app->seal == NULL) {
        set_error(err, "TOKEN_SIGNING_SECRET and TOKEN_SIGNING_SECRETS_PREVIOUS "
                       "could not form a key ring (two secrets share a key id)");
        return -1;
    }
    struct log_line l;
    log_begin(&l, LOG_INFO, "token_signing_keys");
    char id[9];
    seal_ring_key_id_hex(app->seal, 0, id);
    log_str(&l, "primary_key_id", id);
    log_uint(&l, "keys", seal_ring_key_count(app->seal));
    log_end(&l);
    return 0;
}

static int
start_oidc(struct app *app, const atomic_bool *stop, struct buf *err)
{
    if (oidc_provider_discover(app->cfg->oidc_issuer_url, NULL, stop, &app->oidc, err) != 0) {
        return -1;
    }
    return oidc_jwks_new_http(oidc_provider_get_jwks_uri(app->oidc), stop, &app->jwks, err);
}

static int
start_store(struct app *app, const char **out_event, struct buf *err)
{
    const struct config *c = app->cfg;
    if (c->redis_url == NULL || c->redis_url[0] == '\0') {
        if (c->redis_required) {
            *out_event = "redis_required_but_not_configured";
            set_error(err, "REDIS_REQUIRED=true but REDIS_URL is empty");
            return -1;
        }
        /* SPEC preface fix 11: a single replica still gets single-use
         * guarantees, from the in-process table. */
        app->store_backend = store_memory_backend_new(c->redis_key_prefix);
        struct log_line l;
        log_begin(&l, LOG_INFO, "replay_store_enabled");
        log_str(&l, "backend", "memory");
        log_end(&l);
    } else {
        *out_event = "replay_store_init_failed";
        bool sentinel = c->redis_sentinels != NULL;
        bool cluster = c->redis_cluster || store_redis_url_is_cluster(c->redis_url);
        if (sentinel) {
            /* Redis Sentinel (docs/redis.md, "Sentinel"): REDIS_URL gives
             * the data nodes' login, the sentinels name the primary. */
            const struct store_redis_sentinel_spec spec = {
                .url = c->redis_url,
                .sentinels = c->redis_sentinels,
                .master = c->redis_sentinel_master,
                .user = c->redis_sentinel_username,
                .password = c->redis_sentinel_password,
            };
            app->store_backend =
                store_redis_sentinel_backend_new(&spec, c->redis_key_prefix, c->redis_ca_file, err);
            if (app->store_backend != NULL) {
                store_redis_backend_set_net(app->store_backend, &app->dns, &app->keepalive);
                store_redis_backend_set_replicas_ack(app->store_backend, c->redis_min_replicas_ack,
                                                     c->redis_replicas_ack_timeout_ms);
            }
            if (app->store_backend == NULL ||
                store_redis_backend_check(app->store_backend, BOUNDS_REDIS_STARTUP_CHECK_MS, err) !=
                    0) {
                return -1;
            }
        } else if (cluster) {
            /* Redis Cluster (docs/redis.md, "Cluster"). */
            app->store_backend = store_redis_cluster_backend_new(c->redis_url, c->redis_key_prefix,
                                                                 c->redis_ca_file, err);
            if (app->store_backend != NULL) {
                store_redis_cluster_backend_set_net(app->store_backend, &app->dns, &app->keepalive);
                store_redis_cluster_backend_set_replicas_ack(app->store_backend,
                                                             c->redis_min_replicas_ack,
                                                             c->redis_replicas_ack_timeout_ms);
            }
            if (app->store_backend == NULL ||
                store_redis_cluster_backend_check(app->store_backend, BOUNDS_REDIS_STARTUP_CHECK_MS,
                                                  err) != 0) {
                return -1;
            }
        } else {
            app->store_backend =
                store_redis_backend_new(c->redis_url, c->redis_key_prefix, c->redis_ca_file, err);
            if (app->store_backend != NULL) {
                store_redis_backend_set_net(app->store_backend, &app->dns, &app->keepalive);
                store_redis_backend_set_replicas_ack(app->store_backend, c->redis_min_replicas_ack,
                                                     c->redis_replicas_ack_timeout_ms);
            }
            if (app->store_backend == NULL ||
                store_redis_backend_check(app->store_backend, BOUNDS_REDIS_STARTUP_CHECK_MS, err) !=
                    0) {
                return -1;
            }
        }
        /* Every revocation the fleet knows is enforced before this replica
         * takes a request (docs/internals/revocation.md). */
        *out_event = "revocation_resync_failed";
        if (revocation_subscriber_fill(app->store_backend, BOUNDS_REVOCATION_STARTUP_MS, err) !=
            0) {
            return -1;
        }
        struct log_line l;
        log_begin(&l, LOG_INFO, "replay_store_enabled");
        log_str(&l, "backend", sentinel ? "redis-sentinel" : cluster ? "redis-cluster" : "redis");
        log_str(&l, "url",
                cluster && !sentinel ? store_redis_cluster_backend_describe(app->store_backend)
                                     : store_redis_backend_describe(app->store_backend));
        log_str(&l, "key_prefix", c->redis_key_prefix);
        log_end(&l);
    }
    revocation_subscriber_register_metrics();
    app->readiness = store_readiness_new(NULL);
    app->ready_probe = ready_probe;
    app->ready_probe_arg = app;
    return 0;
}

static void
start_limits(struct app *app)
{
    const struct config *c = app->cfg;
    app->ratelimit = ratelimit_new(c->rate_limit_enabled);
    struct log_line l;
    log_begin(&l, LOG_INFO, c->rate_limit_enabled ? "rate_limit_enabled" : "rate_limit_disabled");
    if (c->rate_limit_enabled) {
        log_bool(&l, "trust_proxy_headers", c->trust_proxy_headers);
        log_uint(&l, "trusted_proxy_cidrs", c->trusted_proxy_cidr_count);
    }
    log_end(&l);
    app->subject_limit = proxy_subject_limit_new(c->per_subject_concurrency);
    /* SPEC.md 6.7: a rate of 0 builds a bucket that never refuses. */
    app->idp_throttle = oidc_throttle_new(c->idp_exchange_rate_per_sec, c->idp_exchange_burst);
    if (c->per_subject_concurrency > 0) {
        log_begin(&l, LOG_INFO, "per_subject_concurrency_enabled");
        log_uint(&l, "cap", c->per_subject_concurrency);
        log_end(&l);
    }
    if (c->upstream_authorization_header != NULL && c->upstream_authorization_header[0]) {
        log_event(LOG_INFO, "upstream_authorization_header_configured");
    }
    if (c->idp_exchange_rate_per_sec > 0) {
        log_begin(&l, LOG_INFO, "idp_exchange_limiter_enabled");
        log_double(&l, "rate_per_sec", c->idp_exchange_rate_per_sec);
        log_uint(&l, "burst", c->idp_exchange_burst);
        log_end(&l);
    }
}

/* First, before the slow steps: a policy file with a typo fails the
 * start at once, naming its line. */
static int
start_policy(struct app *app, struct buf *err)
{
    if (app->cfg->policy_file == NULL) {
        return 0;
    }
    buf_appendf_best(err, "MCP_POLICY_FILE: %s: ", app->cfg->policy_file);
    struct policy *p =
        policy_load_configured(app->cfg->policy_file, app->cfg->scopes_supported, err);
    if (p == NULL) {
        return -1;
    }
    buf_reset(err);
    /* The 401 names no step-up scope, so a first login asks the IdP for
     * no second factor; the call that needs one gets the 403 challenge
     * naming it (docs/step-up.md). Fixed at start-up: a reload that adds a
     * step-up scope only makes first logins stronger than needed. */
    struct buf scope;
    buf_init(&scope, BOUNDS_SCOPE_MAX_BYTES + 1);
    if (app->cfg->scopes_resource != NULL &&
        oauth_stepup_rules_without(p, app->cfg->scopes_resource, &scope) == 0) {
        app->challenge_scope = xstrdup(buf_cstr(&scope));
        app->mcp.challenge_scope = app->challenge_scope;
    }
    buf_cleanup(&scope);
    app->policy = policy_holder_new(p);
    app->mcp.policy = app->policy;
    struct log_line l;
    log_begin(&l, LOG_INFO, "policy_loaded");
    log_str(&l, "file", app->cfg->policy_file);
    log_uint(&l, "rules", policy_rule_count(p));
    log_end(&l);
    return 0;
}

int
app_reload_policy(struct app *app, struct buf *err)
{
    struct policy *p =
        policy_load_configured(app->cfg->policy_file, app->cfg->scopes_supported, err);
    metrics_inc_policy_reload(p != NULL);
    if (p == NULL) {
        return -1;
    }
    size_t rules = policy_rule_count(p);
    policy_holder_swap(app->policy, p);
    struct log_line l;
    log_begin(&l, LOG_INFO, "policy_reloaded");
    log_str(&l, "file", app->cfg->policy_file);
    log_uint(&l, "rules", rules);
    log_end(&l);
    return 0;
}

int
app_start(struct app *app, const atomic_bool *stop, const char **out_event, struct buf *err)
{
    *out_event = "policy_invalid";
    if (start_policy(app, err) != 0) {
        return -1;
    }
    *out_event = "oidc_discovery_failed";
    if (start_oidc(app, stop, err) != 0) {
        return -1;
    }
    *out_event = "token_manager_init_failed";
    if (start_seal(app, err) != 0) {
        return -1;
    }
    if (start_store(app, out_event, err) != 0) {
        return -1;
    }
    start_limits(app);
    if (app->cfg->upstream_identity_assertion && app->identity == NULL) {
        *out_event = "identity_keys_failed";
        set_error(err, "UPSTREAM_IDENTITY_KEY_FILE could not be read again at start-up; "
                       "check it with --check-config");
        return -1;
    }
    if (app->cfg->cimd_enabled) {
        const char *why = NULL;
        app->cimd = oauth_cimd_new(app->cfg, &why);
        if (app->cimd == NULL) {
            *out_event = "cimd_pinned_invalid";
            buf_appendf_best(err, "CIMD_PINNED_DIR: %s", why);
            return -1;
        }
    }
    app->oauth = (struct oauth){
        .cfg = app->cfg,
        .seal = app->seal,
        .oidc = app->oidc,
        .jwks = app->jwks,
        .idp_throttle = app->idp_throttle,
        .cimd = app->cimd,
        .policy = app->policy,
    };
    app->mcp.bearer.ring = app->seal;
    app->mcp.subject_limit = app->subject_limit;
    return 0;
}

void
app_free(struct app *app)
{
    if (app == NULL) {
        return;
    }
    store_readiness_free(app->readiness);
    store_backend_free(app->store_backend);
    proxy_subject_limit_free(app->subject_limit);
    proxy_cors_policy_cleanup(&app->mcp.cors);
    oidc_throttle_free(app->idp_throttle);
    oauth_cimd_free(app->cimd);
    ratelimit_free(app->ratelimit);
    oidc_jwks_free(app->jwks);
    oidc_provider_free(app->oidc);
    seal_ring_free(app->seal);
    identity_keys_free(app->identity);
    oauth_discovery_free(app->discovery);
    log_skip_free(app->log_skip);
    policy_holder_free(app->policy);
    xfree(app->challenge_scope);
    xfree(app);
}
