/* The process configuration: every environment variable of SPEC.md 1.2,
 * parsed once at start-up into a struct config that is const afterwards and
 * shared by all workers.
 *
 * config.c holds one table (name, default, validator, target field, flags:
 * secret, relaxation refused under PROD_MODE, one line of help) that drives
 * loading, validation, the reports of config_report.h (--check-config,
 * --help, the start-up lines) and the docs drift test. All problems are
 * collected and reported together, one line each, naming the variable,
 * what is wrong and how to fix it. struct config is plain data: no
 * compiled pattern or other live object hangs off it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ipaddr.h"

struct buf;

/* Which forwarded-for header a trusted proxy sets (SPEC.md 3.0.4). */
enum config_proxy_header {
    CONFIG_PROXY_HEADER_X_FORWARDED_FOR = 0,
    CONFIG_PROXY_HEADER_X_REAL_IP,
    CONFIG_PROXY_HEADER_TRUE_CLIENT_IP,
    CONFIG_PROXY_HEADER_COUNT,
};

/* A host:port to listen on, split at start-up ("" host = all addresses). */
struct config_listen {
    char *text; /* as configured, e.g. ":8080", "127.0.0.1:9090", "[::1]:8080" */
    char *host; /* "" for the wildcard */
    uint16_t port;
};

struct config {
    /* Required (SPEC.md 1.2). */
    char *oidc_issuer_url; /* as configured (no trailing-slash stripping: SPEC preface fix 1) */
    char *oidc_client_id;
    char *oidc_client_secret;   /* secret */
    char *proxy_base_url;       /* trailing '/' stripped: the AS issuer and every audience */
    char *upstream_mcp_url;     /* re-serialised with the trimmed path */
    char *upstream_origin;      /* scheme://host[:port] of UPSTREAM_MCP_URL */
    char *mount;                /* the trimmed path of UPSTREAM_MCP_URL, e.g. "/mcp" */
    char *token_signing_secret; /* secret; raw bytes, >= 32 */
    size_t token_signing_secret_len;
    char *token_signing_secret_weakness; /* its SPEC.md 1.4 weakness phrase, judged once at
                                            load ("repeats with period 3"); NULL = not weak */
    char **previous_secrets; /* secret; TOKEN_SIGNING_SECRETS_PREVIOUS split on whitespace */
    size_t *previous_secret_lens;
    size_t previous_secret_count;

    /* Listeners, workers, lifecycle. */
    struct config_listen listen;         /* LISTEN_ADDR, default ":8080" */
    struct config_listen metrics_listen; /* METRICS_ADDR, default "127.0.0.1:9090" */
    unsigned workers;                    /* WORKERS, 1..256, default = online CPUs (capped) */
    uint64_t shutdown_timeout_ms;        /* SHUTDOWN_TIMEOUT, default 120s, (0, 15m] */
    int log_level;                       /* LOG_LEVEL as enum log_level, default info */

    /* Identity and policy. */
    char *groups_claim;    /* GROUPS_CLAIM, default "groups" */
    char **allowed_groups; /* ALLOWED_GROUPS, empty = everyone */
    size_t allowed_group_count;
    bool revoke_before_set; /* REVOKE_BEFORE */
    int64_t revoke_before_s;
    int32_t revoke_before_ns;
    bool pkce_required;                 /* PKCE_REQUIRED, default true */
    bool compat_allow_stateless;        /* COMPAT_ALLOW_STATELESS, default false */
    bool state_required;                /* STATE_REQUIRED, default false */
    bool render_consent_page;           /* RENDER_CONSENT_PAGE, default true */
    char *mcp_resource_name;            /* MCP_RESOURCE_NAME, default "" */
    char *scopes_supported;             /* MCP_SCOPES_SUPPORTED: distinct scope tokens joined by
                                         * single spaces; "" = scopes off (oauth/scope_rules.h) */
    char *scopes_resource;              /* derived: scopes_supported without offline_access */
    uint64_t client_registration_ttl_s; /* CLIENT_REGISTRATION_TTL, default 168h; 0 = never */

    /* Replay store. */
    char *redis_url;                 /* REDIS_URL, secret (may carry a password); "" = none */
    bool redis_required;             /* REDIS_REQUIRED, default true */
    char *redis_key_prefix;          /* REDIS_KEY_PREFIX, default "mcp-auth-proxy:" ("" allowed) */
    char *redis_ca_file;             /* REDIS_CA_FILE, default "" = system CAs */
    unsigned refresh_race_grace_s;   /* REFRESH_RACE_GRACE_SEC, 0..10, default 2 */
    uint64_t refresh_retry_grace_ms; /* REFRESH_RETRY_GRACE, default 60s, 0..5m */

    /* IdP exchange throttle (SPEC.md 6.7). */
    double idp_exchange_rate_per_sec; /* IDP_EXCHANGE_RATE_PER_SEC, default 0 = off */
    unsigned idp_exchange_burst;      /* IDP_EXCHANGE_BURST, default 50, >= 1 */
    bool oidc_allow_insecure_http;    /* OIDC_ALLOW_INSECURE_HTTP, default false */

    /* Rate limiting and client IPs (SPEC.md 3.0.3, 3.0.4). */
    bool rate_limit_enabled;            /* RATE_LIMIT_ENABLED, default true */
    bool trust_proxy_headers;           /* TRUST_PROXY_HEADERS (legacy), default false */
    struct ipcidr *trusted_proxy_cidrs; /* TRUSTED_PROXY_CIDRS */
    size_t trusted_proxy_cidr_count;
    enum config_proxy_header trusted_proxy_header; /* TRUSTED_PROXY_HEADER */

    /* MCP mount. */
    unsigned per_subject_concurrency;      /* MCP_PER_SUBJECT_CONCURRENCY, default 16, 0 = off */
    uint64_t log_body_max;                 /* MCP_LOG_BODY_MAX, default 65536, 0 = off */
    bool tool_metrics;                     /* MCP_TOOL_METRICS, default false */
    unsigned tool_metrics_max_cardinality; /* MCP_TOOL_METRICS_MAX_CARDINALITY, default 256 */
    char *upstream_authorization_header;   /* UPSTREAM_AUTHORIZATION_HEADER, secret, "" = none */
    uint64_t
        upstream_header_timeout_ms; /* UPSTREAM_RESPONSE_HEADER_TIMEOUT, default 30s, (0, 10m] */

    /* Name resolution for upstream and Redis hosts (net/resolve.h). */
    char *dns_resolv_conf; /* DNS_RESOLV_CONF, "" = /etc/resolv.conf */
    char *dns_hosts_file;  /* DNS_HOSTS_FILE, "" = /etc/hosts */

    /* TCP liveness, every connection both sides (net/sockopt.h). */
    uint64_t tcp_keepalive_idle_s;     /* TCP_KEEPALIVE_IDLE, default 30s, 0 = off, <= 2h */
    uint64_t tcp_keepalive_interval_s; /* TCP_KEEPALIVE_INTERVAL, default 10s, [1s, 10m] */
    unsigned tcp_keepalive_count;      /* TCP_KEEPALIVE_COUNT, default 3, 1..127 */
    uint64_t tcp_user_timeout_ms; /* TCP_USER_TIMEOUT, default 60s, 0 = kernel default, <= 10m */

    /* Client connections and buffered request bodies (http/ip_budget.h). */
    uint64_t
        client_write_stall_timeout_ms; /* CLIENT_WRITE_STALL_TIMEOUT, default 60s, 0 = off, <= 1h */
    unsigned max_client_connections;   /* MAX_CLIENT_CONNECTIONS, default 0 = from RLIMIT_NOFILE */
    unsigned
        max_client_connections_per_ip; /* MAX_CLIENT_CONNECTIONS_PER_IP, default 256, 0 = off */
    uint64_t request_body_buffer_max;  /* REQUEST_BODY_BUFFER_MAX, default 256 MiB, >= 16 MiB */
    uint64_t request_body_buffer_per_ip_max; /* REQUEST_BODY_BUFFER_PER_IP_MAX, default 32 MiB, >=
                                                16 MiB */

    /* Logging. */
    char *access_log_skip_re_text; /* ACCESS_LOG_SKIP_RE, trimmed, known to compile
                                      (log_skip.h builds the matcher); NULL = unset */

    /* Deprecated but validated (SPEC.md 1.2). */
    char **csp_form_action_extra; /* lower-cased scheme://host[:port] */
    size_t csp_form_action_extra_count;
    bool csp_form_action_extra_set; /* non-empty, even if only commas: warn */

    /* MCP_ALLOWED_ORIGINS: browser origins allowed on the MCP mount besides
     * PROXY_BASE_URL's, as browsers serialise them (config_check_origin). */
    char **mcp_allowed_origins;
    size_t mcp_allowed_origin_count;
    /* Client ID Metadata Documents (oauth/cimd.h) and dynamic registration. */
    bool cimd_enabled;                 /* CIMD_ENABLED, default true */
    char **cimd_allowed_hosts;         /* CIMD_ALLOWED_HOSTS, lower-cased; NULL = any host */
    size_t cimd_allowed_host_count;    /* entries in cimd_allowed_hosts */
    bool cimd_allow_private_addresses; /* CIMD_ALLOW_PRIVATE_ADDRESSES, default false */
    char *cimd_ca_file;                /* CIMD_CA_FILE; "" = system CAs */
    char *cimd_pinned_dir;             /* CIMD_PINNED_DIR; NULL = none */
    uint64_t cimd_cache_ttl_min_s;     /* CIMD_CACHE_TTL_MIN, default 5m */
    uint64_t cimd_cache_ttl_max_s;     /* CIMD_CACHE_TTL_MAX, default 24h */
    bool dcr_enabled;                  /* DCR_ENABLED, default true */
    char *policy_file;                 /* MCP_POLICY_FILE; NULL = no policy (docs/policy.md) */

    /* The signed identity for the upstream (identity.h). */
    bool upstream_identity_assertion;   /* UPSTREAM_IDENTITY_ASSERTION, default false */
    char *upstream_identity_key_file;   /* UPSTREAM_IDENTITY_KEY_FILE as written; NULL = unset */
    char **upstream_identity_key_files; /* its comma-separated PEM paths, the first signs */
    size_t upstream_identity_key_file_count;

    /* Redis Cluster (issue 14): REDIS_CLUSTER, default false; a
     * redis+cluster:// REDIS_URL means cluster mode too. */
    bool redis_cluster;

    bool prod_mode; /* PROD_MODE, default true */

    /* MCP_POLICY_FILTER_LISTS, default true; acts only with a policy file. */
    bool policy_filter_lists;

    /* WAIT after every replay-store write (docs/redis.md). */
    unsigned redis_min_replicas_ack;        /* REDIS_MIN_REPLICAS_ACK, default 0 = off */
    uint64_t redis_replicas_ack_timeout_ms; /* REDIS_REPLICAS_ACK_TIMEOUT, default 100ms */
    /* Rate-limit budgets (issue 14, ratelimit_budget.h): requests per key
     * per minute, RATE_LIMIT_<ENDPOINT>_PER_MIN. */
    unsigned rate_limit_register_per_min;
    unsigned rate_limit_authorize_per_min;
    unsigned rate_limit_consent_per_min;
    unsigned rate_limit_callback_per_min;
    unsigned rate_limit_token_per_min;
    unsigned rate_limit_discovery_per_min;
    unsigned rate_limit_mcp_per_min;
    unsigned rate_limit_revoke_per_min;
    char *rate_limit_client_budgets; /* RATE_LIMIT_CLIENT_BUDGETS as written ("" = none) */
    char *rate_limit_cidr_budgets;   /* RATE_LIMIT_CIDR_BUDGETS as written ("" = none) */
    char *rate_limit_store;          /* RATE_LIMIT_STORE: "local" or "redis" */

    /* Redis Sentinel (issue 14, docs/redis.md); sentinels and master NULL
     * = unset, username and password "" = unset. */
    char *redis_sentinels;         /* REDIS_SENTINELS as written (checked) */
    char *redis_sentinel_master;   /* REDIS_SENTINEL_MASTER */
    char *redis_sentinel_username; /* REDIS_SENTINEL_USERNAME */
    char *redis_sentinel_password; /* REDIS_SENTINEL_PASSWORD, secret */

    /* IdP quirks (docs/idps.md). */
    char *email_claim; /* EMAIL_CLAIM, default "email" (Entra: preferred_username) */
    char *allowed_hosted_domains_text; /* ALLOWED_HOSTED_DOMAINS as written, NULL = unset */
    char **allowed_hosted_domains;     /* its entries; empty = no `hd` check */
    size_t allowed_hosted_domain_count;
    /* FORWARD_AUTH_ADDR: the forward-auth listener (proxy/forward_auth.h);
     * text NULL = off. */
    struct config_listen forward_auth_listen;
    char *log_format; /* LOG_FORMAT: "console", "json", or NULL = by stdout's TTY */

    /* Derived (SPEC.md 1.8). */
    char *canonical_resource; /* base + mount */
    char *idp_redirect_uri;   /* base + "/callback" */
};

/* All problem (or all warning) lines of one load, or one dump; far above
 * any real report. Size the bufs given to config_load with it. */
#define CONFIG_REPORT_MAX (256 * 1024)

/* Reads the variables through getenv_fn (getenv in production, a table in
 * tests; NULL = unset, "" = set but empty) into *out, which the caller
 * releases with config_cleanup(). On failure returns false, appends one
 * line per problem to err ("config: NAME: what is wrong; how to fix it",
 * every problem at once, never a secret's value), and leaves *out empty.
 * Warnings (weak secret outside PROD_MODE, unknown LOG_LEVEL, an unused
 * REDIS_CA_FILE) are appended to warn first. err and warn may be NULL, or
 * the same buf; what passes a buf's max is cut. Durations are rounded up
 * to the field's unit, so a positive value never becomes 0. */
bool config_load(const char *(*getenv_fn)(const char *name), struct config *out, struct buf *err,
                 struct buf *warn) __attribute__((warn_unused_result));
void config_cleanup(struct config *c);

/* Number of variables in the table and the name of the i-th (drift test). */
size_t config_var_count(void);
const char *config_var_name(size_t i);

/* The canonical header name ("X-Forwarded-For", "X-Real-Ip",
 * "True-Client-Ip"). */
const char *config_proxy_header_str(enum config_proxy_header h);
