/* Process-wide counters and their Prometheus text exposition (SPEC.md 7.1).
 *
 * Every counter is an atomic shared by all workers; names and labels are the
 * contract with operators' dashboards. Families without labels are exported
 * from start-up at 0; a labelled series appears once it has been
 * incremented. Label values come from the enums below, each with one string
 * table, so no caller-controlled text ever becomes a label -- except the
 * opt-in per-tool label, which is sanitised upstream and capped here. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"

enum metrics_counter {
    METRICS_CLIENTS_REGISTERED = 0,
    METRICS_IDP_EXCHANGE_THROTTLED,
    METRICS_GROUPS_CLAIM_SHAPE_MISMATCH,
    METRICS_RPC_BATCHES,
    METRICS_RPC_BATCHES_FAILED,
    METRICS_LOG_LINES_DROPPED,
    METRICS_CLIENT_CONNECTIONS_EVICTED,  /* idle keep-alive closed to make room at the cap */
    METRICS_IDENTITY_ASSERTION_FAILED,   /* the upstream identity could not be signed (502) */
    METRICS_REDIS_REPLICA_ACK_SHORT,     /* WAIT saw fewer than REDIS_MIN_REPLICAS_ACK (503) */
    METRICS_REVOCATION_MESSAGES_APPLIED, /* revocation/subscriber: pub/sub messages applied */
    METRICS_REVOCATION_RESYNCS,          /* revocation/subscriber: complete resyncs */
    METRICS_REDIS_SENTINEL_FAILOVERS,    /* store/redis_sentinel: the primary moved */
    METRICS_REDIS_SENTINEL_NO_PRIMARY,   /* store/redis_sentinel: a pass found none */
    METRICS_REDIS_CLUSTER_MAP_REFRESHES, /* store/redis_cluster: slot maps read and taken */
    METRICS_COUNTER_COUNT,
};

/* The connection layer's limits (http/conn.c, http/server.c). */
enum metrics_conn_refused { /* mcp_auth_client_connections_refused_total{reason} */
                            METRICS_CONN_REFUSED_PROCESS_LIMIT = 0,
                            METRICS_CONN_REFUSED_IP_LIMIT,
                            METRICS_CONN_REFUSED_COUNT,
};
enum metrics_conn_dropped { /* mcp_auth_client_connections_dropped_total{reason} */
                            METRICS_CONN_DROPPED_WRITE_STALL =
                                0,                             /* output queued, nothing drained */
                            METRICS_CONN_DROPPED_PEER_TIMEOUT, /* keep-alive or TCP_USER_TIMEOUT:
                                                                  ETIMEDOUT */
                            METRICS_CONN_DROPPED_COUNT,
};
enum metrics_accept_paused { /* mcp_auth_accept_paused_total{reason} */
                             METRICS_ACCEPT_PAUSED_DESCRIPTORS =
                                 0, /* accept() failed: EMFILE, ENFILE, ENOBUFS */
                             METRICS_ACCEPT_PAUSED_PROCESS_LIMIT, /* at MAX_CLIENT_CONNECTIONS,
                                                                     nothing idle */
                             METRICS_ACCEPT_PAUSED_COUNT,
};
/* mcp_auth_cimd_fetch_total{result}: client metadata document fetches
 * (oauth/cimd.h) by outcome; cache hits and pinned documents are not
 * fetches and are not counted. */
enum metrics_cimd_fetch {
    METRICS_CIMD_FETCH_OK = 0,          /* a valid document, cached */
    METRICS_CIMD_FETCH_REDIRECT,        /* a 3xx answer */
    METRICS_CIMD_FETCH_HTTP_STATUS,     /* another non-200 status */
    METRICS_CIMD_FETCH_NOT_JSON,        /* not application/json, or not a JSON object */
    METRICS_CIMD_FETCH_TOO_LARGE,       /* past BOUNDS_CIMD_DOCUMENT_MAX */
    METRICS_CIMD_FETCH_INVALID,         /* a document rule failed */
    METRICS_CIMD_FETCH_TIMEOUT,         /* BOUNDS_CIMD_FETCH_TIMEOUT_MS passed */
    METRICS_CIMD_FETCH_ADDRESS_REFUSED, /* the host resolves to special-use addresses only */
    METRICS_CIMD_FETCH_NETWORK,         /* DNS, connect, TLS or transfer failed */
    METRICS_CIMD_FETCH_COUNT,
};
/* mcp_auth_list_filter_total{result}: list answers the policy filter took
 * (proxy/list_response.h, same order as its enum; docs/list-filter.md). */
enum metrics_list_filter {
    METRICS_LIST_FILTER_UNCHANGED = 0, /* nothing hidden: the upstream's bytes */
    METRICS_LIST_FILTER_FILTERED,      /* at least one entry hidden */
    METRICS_LIST_FILTER_OVERFLOW,      /* past BOUNDS_LIST_FILTER_BODY_MAX: a JSON-RPC error */
    METRICS_LIST_FILTER_WITHHELD,      /* unreadable, compressed, another id: a JSON-RPC error */
    METRICS_LIST_FILTER_COUNT,
};

/* mcp_auth_client_assertion_total{result}: RFC 7523 client authentication
 * at /token (oauth/client_assertion.h; the same members in the same order
 * as enum oauth_client_assertion_rc, checked by test_metrics). */
enum metrics_client_assertion {
    METRICS_CLIENT_ASSERTION_OK = 0,
    METRICS_CLIENT_ASSERTION_BAD_TYPE,
    METRICS_CLIENT_ASSERTION_MALFORMED,
    METRICS_CLIENT_ASSERTION_ALG_NOT_ALLOWED,
    METRICS_CLIENT_ASSERTION_UNKNOWN_KID,
    METRICS_CLIENT_ASSERTION_NO_MATCHING_KEY,
    METRICS_CLIENT_ASSERTION_BAD_SIGNATURE,
    METRICS_CLIENT_ASSERTION_WRONG_ISSUER,
    METRICS_CLIENT_ASSERTION_WRONG_SUBJECT,
    METRICS_CLIENT_ASSERTION_WRONG_AUDIENCE,
    METRICS_CLIENT_ASSERTION_EXPIRED,
    METRICS_CLIENT_ASSERTION_LIFETIME_TOO_LONG,
    METRICS_CLIENT_ASSERTION_NOT_YET_VALID,
    METRICS_CLIENT_ASSERTION_MISSING_JTI,
    METRICS_CLIENT_ASSERTION_CLIENT_ID_MISMATCH,
    METRICS_CLIENT_ASSERTION_REPLAYED,
    METRICS_CLIENT_ASSERTION_NO_KEYS,
    METRICS_CLIENT_ASSERTION_KEYS_UNAVAILABLE,
    METRICS_CLIENT_ASSERTION_COUNT,
};

enum metrics_body_refused { /* mcp_auth_request_body_refused_total{scope} */
                            METRICS_BODY_REFUSED_PROCESS = 0, /* REQUEST_BODY_BUFFER_MAX */
                            METRICS_BODY_REFUSED_IP,          /* REQUEST_BODY_BUFFER_PER_IP_MAX */
                            METRICS_BODY_REFUSED_COUNT,
};

/* mcp_auth_access_denied_total{reason} */
enum metrics_denied {
    METRICS_DENIED_CLIENT_ID_MISSING = 0,
    METRICS_DENIED_CLIENT_ID_INVALID,
    METRICS_DENIED_CLIENT_TYP_MISMATCH,
    METRICS_DENIED_CLIENT_AUDIENCE_MISMATCH,
    METRICS_DENIED_CLIENT_REGISTRATION_EXPIRED,
    METRICS_DENIED_STATE_MISSING,
    METRICS_DENIED_REPLAY_STORE_UNAVAILABLE,
    METRICS_DENIED_ID_TOKEN_VERIFICATION_FAILED,
    METRICS_DENIED_SUBJECT_MISSING,
    METRICS_DENIED_CLAIM_INVALID,
    METRICS_DENIED_EMAIL_UNVERIFIED,
    METRICS_DENIED_GROUP_INVALID,
    METRICS_DENIED_GROUP,
    METRICS_DENIED_REFRESH_FAMILY_REVOKED,
    METRICS_DENIED_REFRESH_CONCURRENT_SUBMIT,
    METRICS_DENIED_INVALID_TOKEN,
    METRICS_DENIED_TOKEN_EXPIRED,
    METRICS_DENIED_AUDIENCE_MISMATCH,
    METRICS_DENIED_RESOURCE_MISMATCH,
    METRICS_DENIED_TOKEN_REVOKED_IAT_CUTOFF,
    METRICS_DENIED_SUBJECT_CONCURRENCY_EXCEEDED,
    /* Ours (docs/threat-model.md): a consent POST or IdP callback from a
     * browser other than the one the flow was started in. */
    METRICS_DENIED_CONSENT_CROSS_SITE,
    METRICS_DENIED_CONSENT_BROWSER_MISMATCH,
    METRICS_DENIED_CALLBACK_BROWSER_MISMATCH,
    METRICS_DENIED_ORIGIN_NOT_ALLOWED,      /* the mount: a foreign Origin (proxy/cors.h) */
    METRICS_DENIED_MCP_HEADER_MISMATCH,     /* the mount: Mcp-Method/Mcp-Name vs the body */
    METRICS_DENIED_CLIENT_METADATA_INVALID, /* a client ID metadata document refused */
    METRICS_DENIED_TOKEN_REVOKED_FAMILY,    /* the token's family is in the revoked set */
    METRICS_DENIED_TOKEN_REVOKED_SUBJECT,   /* its subject was revoked at or after its iat */
    METRICS_DENIED_REVOCATION_SET_FULL,     /* the revoked set overflowed: fail closed */
    METRICS_DENIED_GROUPS_OVERAGE, /* groups elsewhere (Entra overage) and group checks set */
    METRICS_DENIED_HOSTED_DOMAIN,  /* `hd` not in ALLOWED_HOSTED_DOMAINS (docs/idps.md) */
    METRICS_DENIED_COUNT,
};

/* mcp_auth_replay_detected_total{kind} */
enum metrics_replay {
    METRICS_REPLAY_CODE = 0,
    METRICS_REPLAY_REFRESH,
    METRICS_REPLAY_CONSENT,
    METRICS_REPLAY_CALLBACK_STATE,
    METRICS_REPLAY_COUNT,
};

/* mcp_auth_replay_store_full_total{kind}: claims the in-process replay
 * store refused because that kind's share was full (store/memory.h). */
enum metrics_store_share {
    METRICS_STORE_SHARE_CONSENT = 0,
    METRICS_STORE_SHARE_CALLBACK_STATE,
    METRICS_STORE_SHARE_AUTHZ_CODE,
    METRICS_STORE_SHARE_REFRESH_FAMILY,
    METRICS_STORE_SHARE_COUNT,
};

/* mcp_auth_rate_limited_total{endpoint}; also the rate-limit bucket ids. */
enum metrics_endpoint {
    METRICS_ENDPOINT_REGISTER = 0,
    METRICS_ENDPOINT_AUTHORIZE,
    METRICS_ENDPOINT_CONSENT,
    METRICS_ENDPOINT_CALLBACK,
    METRICS_ENDPOINT_TOKEN,
    METRICS_ENDPOINT_MCP,
    METRICS_ENDPOINT_DISCOVERY,
    METRICS_ENDPOINT_REVOKE, /* POST /revoke (issue 14) */
    METRICS_ENDPOINT_COUNT,
};

/* mcp_auth_token_seals_total{purpose}; same order as enum seal_purpose. */
enum metrics_purpose {
    METRICS_PURPOSE_CLIENT = 0,
    METRICS_PURPOSE_CONSENT,
    METRICS_PURPOSE_SESSION,
    METRICS_PURPOSE_CODE,
    METRICS_PURPOSE_ACCESS,
    METRICS_PURPOSE_REFRESH,
    METRICS_PURPOSE_COUNT,
};

enum metrics_grant {
    METRICS_GRANT_AUTHORIZATION_CODE = 0,
    METRICS_GRANT_REFRESH_TOKEN,
    METRICS_GRANT_COUNT,
};

/* mcp_auth_policy_decisions_total{decision,reason}: one per JSON-RPC call
 * the policy decided (docs/policy.md); the reasons of policy/policy.h's
 * enum policy_reason, in the same order (metrics sits below policy). */
enum metrics_policy_reason {
    METRICS_POLICY_RULE = 0,
    METRICS_POLICY_DEFAULT,
    METRICS_POLICY_SCOPE,
    METRICS_POLICY_STEP_UP,
    METRICS_POLICY_GROUP,
    METRICS_POLICY_EMAIL_DOMAIN,
    METRICS_POLICY_UNREADABLE,
    METRICS_POLICY_REASON_COUNT,
};
void metrics_inc_policy_decision(bool allowed, enum metrics_policy_reason reason);
uint64_t metrics_get_policy_decision(bool allowed, enum metrics_policy_reason reason);
/* mcp_auth_policy_reloads_total{result="ok|error"} */
void metrics_inc_policy_reload(bool ok);
uint64_t metrics_get_policy_reload(bool ok);

const char *metrics_denied_str(enum metrics_denied reason);
const char *metrics_replay_str(enum metrics_replay kind);
const char *metrics_store_share_str(enum metrics_store_share share);
const char *metrics_endpoint_str(enum metrics_endpoint endpoint);
const char *metrics_purpose_str(enum metrics_purpose purpose);

void metrics_inc(enum metrics_counter c);
void metrics_add(enum metrics_counter c, uint64_t n);
void metrics_inc_denied(enum metrics_denied reason);
void metrics_inc_replay(enum metrics_replay kind);
void metrics_inc_store_full(enum metrics_store_share share);
void metrics_inc_rate_limited(enum metrics_endpoint endpoint);
/* mcp_auth_rate_limit_fallback_total{endpoint}: requests a shared
 * (RATE_LIMIT_STORE=redis) budget could not be asked about, judged by the
 * local limiter instead. */
void metrics_inc_rate_limit_fallback(enum metrics_endpoint endpoint);
void metrics_inc_seal(enum metrics_purpose purpose);
void metrics_inc_tokens_issued(enum metrics_grant grant);
void metrics_inc_consent_decision(bool approved);
void metrics_inc_authorize_initiated(bool consent_path);
void metrics_inc_conn_refused(enum metrics_conn_refused reason);
/* mcp_auth_redis_cluster_redirects_total{kind}: MOVED / ASK followed (store/redis_cluster). */
enum metrics_cluster_redirect {
    METRICS_CLUSTER_REDIRECT_MOVED = 0,
    METRICS_CLUSTER_REDIRECT_ASK,
    METRICS_CLUSTER_REDIRECT_COUNT,
};
void metrics_inc_cluster_redirect(enum metrics_cluster_redirect kind);
void metrics_inc_conn_dropped(enum metrics_conn_dropped reason);
void metrics_inc_accept_paused(enum metrics_accept_paused reason);
void metrics_inc_body_refused(enum metrics_body_refused scope);
void metrics_inc_cimd_fetch(enum metrics_cimd_fetch result);
void metrics_inc_list_filter(enum metrics_list_filter result);
uint64_t metrics_get_list_filter(enum metrics_list_filter result);

/* Opt-in per-tool metrics (MCP_TOOL_METRICS). The cap is set once at start
 * (0 = no cap). tool is already sanitised (<= 128 allow-listed chars);
 * empty maps to "_unknown", a new name past the cap to "_overflow". */
void metrics_set_tool_cardinality_cap(unsigned cap);
void metrics_rpc_call(const char *tool, bool failed, int64_t request_bytes, int64_t response_bytes,
                      bool count_bytes);
void metrics_rpc_batch(bool failed, int64_t request_bytes, int64_t response_bytes);

/* Read one value (tests). Labelled reads take the label's enum index. */
uint64_t metrics_get(enum metrics_counter c);
uint64_t metrics_get_denied(enum metrics_denied reason);
uint64_t metrics_get_replay(enum metrics_replay kind);
uint64_t metrics_get_store_full(enum metrics_store_share share);
uint64_t metrics_get_rate_limited(enum metrics_endpoint endpoint);
uint64_t metrics_get_rate_limit_fallback(enum metrics_endpoint endpoint);
uint64_t metrics_get_seal(enum metrics_purpose purpose);
uint64_t metrics_get_tokens_issued(enum metrics_grant grant);
/* mcp_auth_token_retries_total{grant_type}: a code redeemed again with its
 * verifier, or a refresh token within REFRESH_RETRY_GRACE, answered with
 * the tokens already issued (docs/internals/rotation.md). Not counted in
 * tokens_issued. */
void metrics_inc_token_retry(enum metrics_grant grant);
uint64_t metrics_get_token_retries(enum metrics_grant grant);
uint64_t metrics_get_consent_decision(bool approved);
uint64_t metrics_get_authorize_initiated(bool consent_path);
uint64_t metrics_get_conn_refused(enum metrics_conn_refused reason);
uint64_t metrics_get_conn_dropped(enum metrics_conn_dropped reason);
uint64_t metrics_get_accept_paused(enum metrics_accept_paused reason);
uint64_t metrics_get_body_refused(enum metrics_body_refused scope);
uint64_t metrics_get_cimd_fetch(enum metrics_cimd_fetch result);
/* mcp_auth_client_assertion_total{result}, and
 * mcp_auth_cimd_jwks_fetch_total{result}: fetches of a CIMD client's
 * jwks_uri (oauth/cimd.h), with the document fetches' result labels
 * (invalid_document: no usable key). */
void metrics_inc_client_assertion(enum metrics_client_assertion result);
uint64_t metrics_get_client_assertion(enum metrics_client_assertion result);
const char *metrics_client_assertion_str(enum metrics_client_assertion result);
void metrics_inc_cimd_jwks_fetch(enum metrics_cimd_fetch result);
uint64_t metrics_get_cimd_jwks_fetch(enum metrics_cimd_fetch result);
/* Calls, failed calls for a tool label; 0 when the label is unknown. */
uint64_t metrics_get_rpc_calls(const char *label, bool failed);

/* mcp_auth_revoke_total{outcome}: POST /revoke (RFC 7009, oauth/revoke.c)
 * and the `revoke` command, by outcome. */
enum metrics_revoke {
    METRICS_REVOKE_REVOKED_FAMILY = 0, /* a family written and published */
    METRICS_REVOKE_UNKNOWN_TOKEN,      /* garbage, expired, another audience: 200, nothing */
    METRICS_REVOKE_CLIENT_MISMATCH,    /* another client's token: 200, nothing (RFC 7009 2.1) */
    METRICS_REVOKE_LEGACY_TOKEN,       /* an access token minted before "fam": 200, nothing */
    METRICS_REVOKE_STORE_UNAVAILABLE,  /* the revocation could not be written: 503 */
    METRICS_REVOKE_COUNT,
};
void metrics_inc_revoke(enum metrics_revoke outcome);
uint64_t metrics_get_revoke(enum metrics_revoke outcome);
const char *metrics_revoke_str(enum metrics_revoke outcome);

/* mcp_auth_forward_auth_decisions_total{outcome}: answers of the
 * forward-auth endpoint (FORWARD_AUTH_ADDR, proxy/forward_auth.h). */
enum metrics_forward_auth {
    METRICS_FORWARD_AUTH_ALLOW = 0,     /* 200 with the identity headers */
    METRICS_FORWARD_AUTH_UNAUTHORIZED,  /* 401: no, a malformed or a refused token */
    METRICS_FORWARD_AUTH_ORIGIN,        /* 403: a foreign Origin */
    METRICS_FORWARD_AUTH_POLICY,        /* 403 or 400: the access policy refused the body */
    METRICS_FORWARD_AUTH_BODY_REQUIRED, /* 403: a policy is set and the gateway sent no body */
    METRICS_FORWARD_AUTH_BAD_REQUEST,   /* 403: the description or the path refused */
    METRICS_FORWARD_AUTH_ERROR,         /* 500: out of memory, an identity it cannot send */
    METRICS_FORWARD_AUTH_COUNT,
};
void metrics_inc_forward_auth(enum metrics_forward_auth outcome);
uint64_t metrics_get_forward_auth(enum metrics_forward_auth outcome);
const char *metrics_forward_auth_str(enum metrics_forward_auth outcome);

/* Gauges sampled at exposition time, owned by other modules. */
void metrics_set_gauge_fn(const char *name, const char *help, uint64_t (*fn)(void));
/* The same for a gauge read from an object (arg, borrowed; it must outlive
 * every later metrics_format call). */
void metrics_set_gauge_fn_arg(const char *name, const char *help, uint64_t (*fn)(const void *arg),
                              const void *arg);

/* Appends the whole exposition (text format 0.0.4) to b. -1 at b's cap. */
int metrics_format(struct buf *b) __attribute__((warn_unused_result));

/* mcp_auth_bearer_cache_lookups_total{result="hit|miss"}: the MCP mount's
 * bearer tokens found (or not) in the worker's cache of opened tokens
 * (proxy/bearer_cache.h). */
void metrics_inc_bearer_cache(bool hit);
uint64_t metrics_get_bearer_cache(bool hit);

/* ---- Request timing, per route (issue 15) ----
 *
 * mcp_auth_http_request_duration_seconds{route} (histogram) and
 * mcp_auth_http_requests_total{route,code} (code: the status class 2xx..5xx,
 * "499" for a client that left before the response, "other"): every public
 * request, from its first byte to its end (for a stream: the stream's end).
 * mcp_auth_upstream_ttfb_seconds (histogram): from the request written to
 * the upstream until its response head, per round trip that got one.
 * mcp_auth_streams_open (gauge): proxied responses of unknown length
 * (SSE, chunked) being relayed right now.
 *
 * The route is the fixed enum below, set on each route definition
 * (http_route_opts.metric_route), never taken from the request. These are
 * on the request path, so they are sharded: the caller names its shard
 * (its worker's id; WORKER_CONTROL_ID and ids past the shards share the
 * last one), each shard is written by one thread only with plain relaxed
 * loads and stores (no lock, no locked instruction), and a scrape sums
 * the shards. A shard shared by two threads (more workers than shards)
 * would lose an increment now and then, never crash. */
enum metrics_route {
    METRICS_ROUTE_OTHER = 0, /* 404s, 405s, anything no route took */
    METRICS_ROUTE_MCP,       /* the MCP mount */
    METRICS_ROUTE_REGISTER,
    METRICS_ROUTE_AUTHORIZE,
    METRICS_ROUTE_CONSENT,
    METRICS_ROUTE_CALLBACK,
    METRICS_ROUTE_TOKEN,
    METRICS_ROUTE_REVOKE,
    METRICS_ROUTE_WELL_KNOWN, /* discovery documents and the identity JWKS */
    METRICS_ROUTE_HEALTH,     /* /healthz */
    METRICS_ROUTE_COUNT,
};
const char *metrics_route_str(enum metrics_route route);
/* The shard of a worker id (WORKER_CONTROL_ID included). */
unsigned metrics_shard_of(unsigned worker_id);
/* A finished public request: its route, status (0: none was sent; 499: the
 * client left first) and duration in nanoseconds. */
void metrics_observe_request(unsigned shard, enum metrics_route route, int status,
                             uint64_t duration_ns);
/* An upstream response head, ttfb_ns after the request was written. */
void metrics_observe_upstream_ttfb(unsigned shard, uint64_t ttfb_ns);
/* A relayed stream begins / ends (each begin has exactly one end, on the
 * same shard). */
void metrics_stream_open(unsigned shard);
void metrics_stream_close(unsigned shard);
/* Tests: sums over the shards. */
uint64_t metrics_get_requests(enum metrics_route route);
uint64_t metrics_get_upstream_ttfb_count(void);
int64_t metrics_get_streams_open(void);
/* The histograms' upper bounds in seconds ("+Inf" is implied). */
#define METRICS_DURATION_BUCKETS 14
extern const double metrics_duration_bucket_s[METRICS_DURATION_BUCKETS];

/* mcp_auth_build_info{version,commit} (always 1) and the process_*
 * families (metrics_process.h) are part of metrics_format's output. */

/* Tests only: zero every counter and forget tool labels. */
void metrics_reset(void);
