#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/xalloc.h"
#include "bounds.h"
#include "metrics_process.h"
#include "version.h"

typedef _Atomic uint64_t counter_t;

struct labelled {
    const char *name;
    const char *help;
    const char *label;
    const char *const *values;
    unsigned count;
    counter_t *cells;
};

static const char *const counter_names[METRICS_COUNTER_COUNT][2] = {
    [METRICS_CLIENTS_REGISTERED] = {"mcp_auth_clients_registered_total",
                                    "Successful dynamic client registrations."},
    [METRICS_IDP_EXCHANGE_THROTTLED] = {"mcp_auth_idp_exchange_throttled_total",
                                        "Callbacks refused by the outbound IdP exchange bucket."},
    [METRICS_GROUPS_CLAIM_SHAPE_MISMATCH] = {"mcp_auth_groups_claim_shape_mismatch_total",
                                             "Groups claims that were not an array of strings."},
    [METRICS_RPC_BATCHES] = {"mcp_auth_rpc_batches_total",
                             "JSON-RPC batches containing at least one tools/call."},
    [METRICS_RPC_BATCHES_FAILED] = {"mcp_auth_rpc_batches_failed_total",
                                    "Such batches answered with status >= 400."},
    [METRICS_LOG_LINES_DROPPED] = {"mcp_auth_log_lines_dropped_total",
                                   "Log lines dropped because stdout was not being read."},
    [METRICS_CLIENT_CONNECTIONS_EVICTED] =
        {"mcp_auth_client_connections_evicted_total",
         "Idle keep-alive client connections closed to make room at MAX_CLIENT_CONNECTIONS."},
    [METRICS_IDENTITY_ASSERTION_FAILED] =
        {"mcp_auth_identity_assertion_failures_total",
         "MCP requests refused because the upstream identity assertion could not be signed."},
    [METRICS_REDIS_REPLICA_ACK_SHORT] =
        {"mcp_auth_redis_replica_ack_short_total",
         "Replay-store writes refused because fewer replicas than REDIS_MIN_REPLICAS_ACK "
         "acknowledged them."},
    [METRICS_REVOCATION_MESSAGES_APPLIED] =
        {"mcp_auth_revocation_messages_applied_total",
         "Revocation messages received from Redis pub/sub and applied to the revoked set."},
    [METRICS_REVOCATION_RESYNCS] = {"mcp_auth_revocation_resyncs_total",
                                    "Complete resyncs of the revoked set from Redis."},
    [METRICS_REDIS_SENTINEL_FAILOVERS] =
        {"mcp_auth_redis_sentinel_failovers_total",
         "Times this process confirmed a new Redis primary named by Sentinel (a failover)."},
    [METRICS_REDIS_SENTINEL_NO_PRIMARY] =
        {"mcp_auth_redis_sentinel_discovery_failures_total",
         "Sentinel discovery passes (per worker) that ended without a confirmed primary."},
    [METRICS_REDIS_CLUSTER_MAP_REFRESHES] =
        {"mcp_auth_redis_cluster_map_refreshes_total",
         "Redis Cluster slot maps read (CLUSTER SHARDS or SLOTS) and taken, every worker."},
};

static const char *const denied_names[METRICS_DENIED_COUNT] = {
    [METRICS_DENIED_CLIENT_ID_MISSING] = "client_id_missing",
    [METRICS_DENIED_CLIENT_ID_INVALID] = "client_id_invalid",
    [METRICS_DENIED_CLIENT_TYP_MISMATCH] = "client_typ_mismatch",
    [METRICS_DENIED_CLIENT_AUDIENCE_MISMATCH] = "client_audience_mismatch",
    [METRICS_DENIED_CLIENT_REGISTRATION_EXPIRED] = "client_registration_expired",
    [METRICS_DENIED_STATE_MISSING] = "state_missing",
    [METRICS_DENIED_REPLAY_STORE_UNAVAILABLE] = "replay_store_unavailable",
    [METRICS_DENIED_ID_TOKEN_VERIFICATION_FAILED] = "id_token_verification_failed",
    [METRICS_DENIED_SUBJECT_MISSING] = "subject_missing",
    [METRICS_DENIED_CLAIM_INVALID] = "claim_invalid",
    [METRICS_DENIED_EMAIL_UNVERIFIED] = "email_unverified",
    [METRICS_DENIED_GROUP_INVALID] = "group_invalid",
    [METRICS_DENIED_GROUP] = "group",
    [METRICS_DENIED_REFRESH_FAMILY_REVOKED] = "refresh_family_revoked",
    [METRICS_DENIED_REFRESH_CONCURRENT_SUBMIT] = "refresh_concurrent_submit",
    [METRICS_DENIED_INVALID_TOKEN] = "invalid_token",
    [METRICS_DENIED_TOKEN_EXPIRED] = "token_expired",
    [METRICS_DENIED_AUDIENCE_MISMATCH] = "audience_mismatch",
    [METRICS_DENIED_RESOURCE_MISMATCH] = "resource_mismatch",
    [METRICS_DENIED_TOKEN_REVOKED_IAT_CUTOFF] = "token_revoked_iat_cutoff",
    [METRICS_DENIED_SUBJECT_CONCURRENCY_EXCEEDED] = "subject_concurrency_exceeded",
    [METRICS_DENIED_CONSENT_CROSS_SITE] = "consent_cross_site",
    [METRICS_DENIED_CONSENT_BROWSER_MISMATCH] = "consent_browser_mismatch",
    [METRICS_DENIED_CALLBACK_BROWSER_MISMATCH] = "callback_browser_mismatch",
    [METRICS_DENIED_ORIGIN_NOT_ALLOWED] = "origin_not_allowed",
    [METRICS_DENIED_MCP_HEADER_MISMATCH] = "mcp_header_mismatch",
    [METRICS_DENIED_CLIENT_METADATA_INVALID] = "client_metadata_invalid",
    [METRICS_DENIED_TOKEN_REVOKED_FAMILY] = "token_revoked_family",
    [METRICS_DENIED_TOKEN_REVOKED_SUBJECT] = "token_revoked_subject",
    [METRICS_DENIED_REVOCATION_SET_FULL] = "revocation_set_full",
    [METRICS_DENIED_GROUPS_OVERAGE] = "groups_overage",
    [METRICS_DENIED_HOSTED_DOMAIN] = "hosted_domain",
};

static const char *const replay_names[METRICS_REPLAY_COUNT] = {
    "code",
    "refresh",
    "consent",
    "callback_state",
};
static const char *const store_share_names[METRICS_STORE_SHARE_COUNT] = {
    "consent",
    "callback_state",
    "authz_code",
    "refresh_family",
};
static const char *const endpoint_names[METRICS_ENDPOINT_COUNT] = {
    "register", "authorize", "consent", "callback", "token", "mcp", "discovery", "revoke",
};
static const char *const purpose_names[METRICS_PURPOSE_COUNT] = {
    "client", "consent", "session", "code", "access", "refresh",
};
static const char *const grant_names[METRICS_GRANT_COUNT] = {
    "authorization_code",
    "refresh_token",
};
static const char *const decision_names[2] = {"denied", "approved"};
static const char *const path_names[2] = {"silent", "consent"};
static const char *const direction_names[2] = {"request", "response"};
static const char *const conn_refused_names[METRICS_CONN_REFUSED_COUNT] = {
    "process_limit",
    "ip_limit",
};
static const char *const conn_dropped_names[METRICS_CONN_DROPPED_COUNT] = {
    "write_stall",
    "peer_timeout",
};
static const char *const accept_paused_names[METRICS_ACCEPT_PAUSED_COUNT] = {
    "descriptors",
    "process_limit",
};
static const char *const body_refused_names[METRICS_BODY_REFUSED_COUNT] = {
    "process",
    "ip",
};
static const char *const cimd_fetch_names[METRICS_CIMD_FETCH_COUNT] = {
    [METRICS_CIMD_FETCH_OK] = "ok",
    [METRICS_CIMD_FETCH_REDIRECT] = "redirect",
    [METRICS_CIMD_FETCH_HTTP_STATUS] = "http_status",
    [METRICS_CIMD_FETCH_NOT_JSON] = "not_json",
    [METRICS_CIMD_FETCH_TOO_LARGE] = "too_large",
    [METRICS_CIMD_FETCH_INVALID] = "invalid_document",
    [METRICS_CIMD_FETCH_TIMEOUT] = "timeout",
    [METRICS_CIMD_FETCH_ADDRESS_REFUSED] = "address_refused",
    [METRICS_CIMD_FETCH_NETWORK] = "network",
};
static const char *const list_filter_names[METRICS_LIST_FILTER_COUNT] = {
    [METRICS_LIST_FILTER_UNCHANGED] = "unchanged",
    [METRICS_LIST_FILTER_FILTERED] = "filtered",
    [METRICS_LIST_FILTER_OVERFLOW] = "overflow",
    [METRICS_LIST_FILTER_WITHHELD] = "withheld",
};
static counter_t list_filter[METRICS_LIST_FILTER_COUNT];
static const char *const client_assertion_names[METRICS_CLIENT_ASSERTION_COUNT] = {
    [METRICS_CLIENT_ASSERTION_OK] = "ok",
    [METRICS_CLIENT_ASSERTION_BAD_TYPE] = "bad_type",
    [METRICS_CLIENT_ASSERTION_MALFORMED] = "malformed",
    [METRICS_CLIENT_ASSERTION_ALG_NOT_ALLOWED] = "alg_not_allowed",
    [METRICS_CLIENT_ASSERTION_UNKNOWN_KID] = "unknown_kid",
    [METRICS_CLIENT_ASSERTION_NO_MATCHING_KEY] = "no_matching_key",
    [METRICS_CLIENT_ASSERTION_BAD_SIGNATURE] = "bad_signature",
    [METRICS_CLIENT_ASSERTION_WRONG_ISSUER] = "wrong_issuer",
    [METRICS_CLIENT_ASSERTION_WRONG_SUBJECT] = "wrong_subject",
    [METRICS_CLIENT_ASSERTION_WRONG_AUDIENCE] = "wrong_audience",
    [METRICS_CLIENT_ASSERTION_EXPIRED] = "expired",
    [METRICS_CLIENT_ASSERTION_LIFETIME_TOO_LONG] = "lifetime_too_long",
    [METRICS_CLIENT_ASSERTION_NOT_YET_VALID] = "not_yet_valid",
    [METRICS_CLIENT_ASSERTION_MISSING_JTI] = "missing_jti",
    [METRICS_CLIENT_ASSERTION_CLIENT_ID_MISMATCH] = "client_id_mismatch",
    [METRICS_CLIENT_ASSERTION_REPLAYED] = "replayed",
    [METRICS_CLIENT_ASSERTION_NO_KEYS] = "no_keys",
    [METRICS_CLIENT_ASSERTION_KEYS_UNAVAILABLE] = "keys_unavailable",
};

static counter_t counters[METRICS_COUNTER_COUNT];
static counter_t denied[METRICS_DENIED_COUNT];
static counter_t replay[METRICS_REPLAY_COUNT];
static counter_t store_full[METRICS_STORE_SHARE_COUNT];
static counter_t rate_limited[METRICS_ENDPOINT_COUNT];
static counter_t rate_fallback[METRICS_ENDPOINT_COUNT];
static counter_t seals[METRICS_PURPOSE_COUNT];
static counter_t issued[METRICS_GRANT_COUNT];
static counter_t decisions[2];
static counter_t initiated[2];
static counter_t batch_bytes[2];
static counter_t conn_refused[METRICS_CONN_REFUSED_COUNT];
static counter_t conn_dropped[METRICS_CONN_DROPPED_COUNT];
static counter_t accept_paused[METRICS_ACCEPT_PAUSED_COUNT];
static counter_t body_refused[METRICS_BODY_REFUSED_COUNT];
static counter_t retries[METRICS_GRANT_COUNT];
static counter_t cimd_fetch[METRICS_CIMD_FETCH_COUNT];
static const char *const policy_reload_names[2] = {"error", "ok"};
static counter_t policy_reloads[2];
static const char *const policy_decision_names[2] = {"deny", "allow"};
static const char *const policy_reason_names[METRICS_POLICY_REASON_COUNT] = {
    [METRICS_POLICY_RULE] = "rule",
    [METRICS_POLICY_DEFAULT] = "default",
    [METRICS_POLICY_SCOPE] = "scope",
    [METRICS_POLICY_STEP_UP] = "step_up",
    [METRICS_POLICY_GROUP] = "group",
    [METRICS_POLICY_EMAIL_DOMAIN] = "email_domain",
    [METRICS_POLICY_UNREADABLE] = "unreadable",
};
/* Two labels, so not a `struct labelled` family: [allowed][reason]. */
static counter_t policy_decisions[2][METRICS_POLICY_REASON_COUNT];
static counter_t client_assertion[METRICS_CLIENT_ASSERTION_COUNT];
static counter_t cimd_jwks_fetch[METRICS_CIMD_FETCH_COUNT];
static const char *const bearer_cache_names[2] = {"miss", "hit"};
static counter_t bearer_cache[2];
static const char *const revoke_names[METRICS_REVOKE_COUNT] = {
    [METRICS_REVOKE_REVOKED_FAMILY] = "revoked_family",
    [METRICS_REVOKE_UNKNOWN_TOKEN] = "unknown_token",
    [METRICS_REVOKE_CLIENT_MISMATCH] = "client_mismatch",
    [METRICS_REVOKE_LEGACY_TOKEN] = "legacy_token",
    [METRICS_REVOKE_STORE_UNAVAILABLE] = "store_unavailable",
};
static counter_t revoke[METRICS_REVOKE_COUNT];
static const char *const cluster_redirect_names[METRICS_CLUSTER_REDIRECT_COUNT] = {
    [METRICS_CLUSTER_REDIRECT_MOVED] = "moved",
    [METRICS_CLUSTER_REDIRECT_ASK] = "ask",
};
static counter_t cluster_redirects[METRICS_CLUSTER_REDIRECT_COUNT];

static const char *const forward_auth_names[METRICS_FORWARD_AUTH_COUNT] = {
    [METRICS_FORWARD_AUTH_ALLOW] = "allow",
    [METRICS_FORWARD_AUTH_UNAUTHORIZED] = "unauthorized",
    [METRICS_FORWARD_AUTH_ORIGIN] = "origin_refused",
    [METRICS_FORWARD_AUTH_POLICY] = "policy_denied",
    [METRICS_FORWARD_AUTH_BODY_REQUIRED] = "body_required",
    [METRICS_FORWARD_AUTH_BAD_REQUEST] = "bad_request",
    [METRICS_FORWARD_AUTH_ERROR] = "error",
};
static counter_t forward_auth[METRICS_FORWARD_AUTH_COUNT];

static const struct labelled families[] = {
    {"mcp_auth_tokens_issued_total", "Tokens issued at /token by grant type.", "grant_type",
     grant_names, METRICS_GRANT_COUNT, issued},
    {"mcp_auth_access_denied_total", "Requests denied, by reason.", "reason", denied_names,
     METRICS_DENIED_COUNT, denied},
    {"mcp_auth_replay_detected_total", "Single-use values presented twice, by kind.", "kind",
     replay_names, METRICS_REPLAY_COUNT, replay},
    {"mcp_auth_replay_store_full_total",
     "Claims the in-process replay store refused because that kind's share was full.", "kind",
     store_share_names, METRICS_STORE_SHARE_COUNT, store_full},
    {"mcp_auth_rate_limited_total", "Requests refused by a per-IP rate limiter.", "endpoint",
     endpoint_names, METRICS_ENDPOINT_COUNT, rate_limited},
    {"mcp_auth_consent_decisions_total", "Consent page decisions.", "decision", decision_names, 2,
     decisions},
    {"mcp_auth_authorize_initiated_total", "Validated /authorize requests by fork.", "path",
     path_names, 2, initiated},
    {"mcp_auth_token_seals_total", "Sealed blobs minted, by purpose.", "purpose", purpose_names,
     METRICS_PURPOSE_COUNT, seals},
    {"mcp_auth_rpc_batch_bytes_total", "Bytes of tools/call batches, by direction.", "direction",
     direction_names, 2, batch_bytes},
    {"mcp_auth_client_connections_refused_total",
     "Client connections closed at accept by a connection cap.", "reason", conn_refused_names,
     METRICS_CONN_REFUSED_COUNT, conn_refused},
    {"mcp_auth_client_connections_dropped_total",
     "Client connections closed because the client stopped reading or acknowledging.", "reason",
     conn_dropped_names, METRICS_CONN_DROPPED_COUNT, conn_dropped},
    {"mcp_auth_accept_paused_total", "Times accepting new connections was paused for 100 ms.",
     "reason", accept_paused_names, METRICS_ACCEPT_PAUSED_COUNT, accept_paused},
    {"mcp_auth_request_body_refused_total",
     "Request bodies refused with 503 by the body buffer budget.", "scope", body_refused_names,
     METRICS_BODY_REFUSED_COUNT, body_refused},
    {"mcp_auth_list_filter_total",
     "List answers (tools, prompts, resources) the policy filter took, by result.", "result",
     list_filter_names, METRICS_LIST_FILTER_COUNT, list_filter},
    {"mcp_auth_token_retries_total",
     "Grants presented again and answered with the tokens already issued, by grant type.",
     "grant_type", grant_names, METRICS_GRANT_COUNT, retries},
    {"mcp_auth_cimd_fetch_total", "Client ID metadata document fetches, by result.", "result",
     cimd_fetch_names, METRICS_CIMD_FETCH_COUNT, cimd_fetch},
    {"mcp_auth_policy_reloads_total",
     "Policy file reloads, by result (error: the old policy stays).", "result", policy_reload_names,
     2, policy_reloads},
    {"mcp_auth_client_assertion_total",
     "RFC 7523 client assertions presented at /token, by result.", "result", client_assertion_names,
     METRICS_CLIENT_ASSERTION_COUNT, client_assertion},
    {"mcp_auth_cimd_jwks_fetch_total", "Fetches of CIMD clients' jwks_uri, by result.", "result",
     cimd_fetch_names, METRICS_CIMD_FETCH_COUNT, cimd_jwks_fetch},
    {"mcp_auth_bearer_cache_lookups_total",
     "Bearer tokens looked up in the worker's cache of opened tokens, by result.", "result",
     bearer_cache_names, 2, bearer_cache},
    {"mcp_auth_rate_limit_fallback_total",
     "Requests judged by the local rate limiter because the shared one did not answer.", "endpoint",
     endpoint_names, METRICS_ENDPOINT_COUNT, rate_fallback},
    {"mcp_auth_revoke_total", "Token revocation requests (POST /revoke), by outcome.", "outcome",
     revoke_names, METRICS_REVOKE_COUNT, revoke},
    {"mcp_auth_forward_auth_decisions_total",
     "Answers of the forward-auth endpoint (FORWARD_AUTH_ADDR), by outcome.", "outcome",
     forward_auth_names, METRICS_FORWARD_AUTH_COUNT, forward_auth},
    {"mcp_auth_redis_cluster_redirects_total",
     "Redis Cluster redirections followed by the replay store, by kind.", "kind",
     cluster_redirect_names, METRICS_CLUSTER_REDIRECT_COUNT, cluster_redirects},
};

const char *
metrics_denied_str(enum metrics_denied reason)
{
    return reason < METRICS_DENIED_COUNT ? denied_names[reason] : "unknown";
}

const char *
metrics_replay_str(enum metrics_replay kind)
{
    return kind < METRICS_REPLAY_COUNT ? replay_names[kind] : "unknown";
}

const char *
metrics_store_share_str(enum metrics_store_share share)
{
    return share < METRICS_STORE_SHARE_COUNT ? store_share_names[share] : "unknown";
}

const char *
metrics_endpoint_str(enum metrics_endpoint endpoint)
{
    return endpoint < METRICS_ENDPOINT_COUNT ? endpoint_names[endpoint] : "unknown";
}

const char *
metrics_purpose_str(enum metrics_purpose purpose)
{
    return purpose < METRICS_PURPOSE_COUNT ? purpose_names[purpose] : "unknown";
}

static void
bump(counter_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t
read_counter(counter_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void
metrics_inc(enum metrics_counter c)
{
    bump(&counters[c], 1);
}

void
metrics_add(enum metrics_counter c, uint64_t n)
{
    bump(&counters[c], n);
}

void
metrics_inc_cimd_fetch(enum metrics_cimd_fetch result)
{
    bump(&cimd_fetch[result], 1);
}

uint64_t
metrics_get_cimd_fetch(enum metrics_cimd_fetch result)
{
    return read_counter(&cimd_fetch[result]);
}

void
metrics_inc_list_filter(enum metrics_list_filter result)
{
    bump(&list_filter[result], 1);
}

uint64_t
metrics_get_list_filter(enum metrics_list_filter result)
{
    return read_counter(&list_filter[result]);
}

void
metrics_inc_client_assertion(enum metrics_client_assertion result)
{
    bump(&client_assertion[result], 1);
}

void
metrics_inc_revoke(enum metrics_revoke outcome)
{
    bump(&revoke[outcome], 1);
}

uint64_t
metrics_get_revoke(enum metrics_revoke outcome)
{
    return read_counter(&revoke[outcome]);
}

void
metrics_inc_forward_auth(enum metrics_forward_auth outcome)
{
    bump(&forward_auth[outcome], 1);
}

uint64_t
metrics_get_forward_auth(enum metrics_forward_auth outcome)
{
    return read_counter(&forward_auth[outcome]);
}

const char *
metrics_forward_auth_str(enum metrics_forward_auth outcome)
{
    return forward_auth_names[outcome];
}

const char *
metrics_revoke_str(enum metrics_revoke outcome)
{
    return outcome < METRICS_REVOKE_COUNT ? revoke_names[outcome] : "unknown";
}

uint64_t
metrics_get_client_assertion(enum metrics_client_assertion result)
{
    return read_counter(&client_assertion[result]);
}

const char *
metrics_client_assertion_str(enum metrics_client_assertion result)
{
    return result < METRICS_CLIENT_ASSERTION_COUNT ? client_assertion_names[result] : "unknown";
}

void
metrics_inc_cimd_jwks_fetch(enum metrics_cimd_fetch result)
{
    bump(&cimd_jwks_fetch[result], 1);
}

uint64_t
metrics_get_cimd_jwks_fetch(enum metrics_cimd_fetch result)
{
    return read_counter(&cimd_jwks_fetch[result]);
}

void
metrics_inc_denied(enum metrics_denied reason)
{
    bump(&denied[reason], 1);
}

void
metrics_inc_replay(enum metrics_replay kind)
{
    bump(&replay[kind], 1);
}

void
metrics_inc_store_full(enum metrics_store_share share)
{
    bump(&store_full[share], 1);
}

void
metrics_inc_rate_limited(enum metrics_endpoint endpoint)
{
    bump(&rate_limited[endpoint], 1);
}

void
metrics_inc_rate_limit_fallback(enum metrics_endpoint endpoint)
{
    bump(&rate_fallback[endpoint], 1);
}

void
metrics_inc_seal(enum metrics_purpose purpose)
{
    bump(&seals[purpose], 1);
}

void
metrics_inc_tokens_issued(enum metrics_grant grant)
{
    bump(&issued[grant], 1);
}

void
metrics_inc_consent_decision(bool approved)
{
    bump(&decisions[approved ? 1 : 0], 1);
}

void
metrics_inc_authorize_initiated(bool consent_path)
{
    bump(&initiated[consent_path ? 1 : 0], 1);
}

void
metrics_inc_conn_refused(enum metrics_conn_refused reason)
{
    bump(&conn_refused[reason], 1);
}

void
metrics_inc_cluster_redirect(enum metrics_cluster_redirect kind)
{
    bump(&cluster_redirects[kind], 1);
}

void
metrics_inc_conn_dropped(enum metrics_conn_dropped reason)
{
    bump(&conn_dropped[reason], 1);
}

void
metrics_inc_accept_paused(enum metrics_accept_paused reason)
{
    bump(&accept_paused[reason], 1);
}

void
metrics_inc_body_refused(enum metrics_body_refused scope)
{
    bump(&body_refused[scope], 1);
}

uint64_t
metrics_get_conn_refused(enum metrics_conn_refused reason)
{
    return read_counter(&conn_refused[reason]);
}

uint64_t
metrics_get_conn_dropped(enum metrics_conn_dropped reason)
{
    return read_counter(&conn_dropped[reason]);
}

uint64_t
metrics_get_accept_paused(enum metrics_accept_paused reason)
{
    return read_counter(&accept_paused[reason]);
}

uint64_t
metrics_get_body_refused(enum metrics_body_refused scope)
{
    return read_counter(&body_refused[scope]);
}

uint64_t
metrics_get(enum metrics_counter c)
{
    return read_counter(&counters[c]);
}

uint64_t
metrics_get_denied(enum metrics_denied reason)
{
    return read_counter(&denied[reason]);
}

uint64_t
metrics_get_replay(enum metrics_replay kind)
{
    return read_counter(&replay[kind]);
}

uint64_t
metrics_get_store_full(enum metrics_store_share share)
{
    return read_counter(&store_full[share]);
}

uint64_t
metrics_get_rate_limited(enum metrics_endpoint endpoint)
{
    return read_counter(&rate_limited[endpoint]);
}

uint64_t
metrics_get_rate_limit_fallback(enum metrics_endpoint endpoint)
{
    return read_counter(&rate_fallback[endpoint]);
}

uint64_t
metrics_get_seal(enum metrics_purpose purpose)
{
    return read_counter(&seals[purpose]);
}

uint64_t
metrics_get_tokens_issued(enum metrics_grant grant)
{
    return read_counter(&issued[grant]);
}

void
metrics_inc_token_retry(enum metrics_grant grant)
{
    bump(&retries[grant], 1);
}

uint64_t
metrics_get_token_retries(enum metrics_grant grant)
{
    return read_counter(&retries[grant]);
}

uint64_t
metrics_get_consent_decision(bool approved)
{
    return read_counter(&decisions[approved ? 1 : 0]);
}

uint64_t
metrics_get_authorize_initiated(bool consent_path)
{
    return read_counter(&initiated[consent_path ? 1 : 0]);
}

/* Per-tool series. The set of names only grows (SPEC.md 7.1), bounded by the
 * cap; with cap 0 it is bounded by the sanitiser's alphabet and length only,
 * which is the operator's explicit choice. A mutex is fine: this runs once
 * per tools/call, off the byte-forwarding path. */
struct tool_series {
    char *label;
    counter_t calls;
    counter_t failed;
    counter_t request_bytes;
    counter_t response_bytes;
};

static pthread_mutex_t tools_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tool_series *tools;
static size_t tools_len;
static size_t tools_alloc;
static size_t tools_distinct; /* names counted toward the cap */
static unsigned tool_cap = 256;

void
metrics_set_tool_cardinality_cap(unsigned cap)
{
    pthread_mutex_lock(&tools_lock);
    tool_cap = cap;
    pthread_mutex_unlock(&tools_lock);
}

static struct tool_series *
find_tool(const char *label)
{
    for (size_t i = 0; i < tools_len; i++) {
        if (strcmp(tools[i].label, label) == 0) {
            return &tools[i];
        }
    }
    return NULL;
}

static struct tool_series *
add_tool(const char *label)
{
    if (tools_len == tools_alloc) {
        tools_alloc = tools_alloc ? tools_alloc * 2 : 16;
        tools = xrealloc(tools, tools_alloc * sizeof(*tools));
    }
    struct tool_series *t = &tools[tools_len++];
    memset(t, 0, sizeof(*t));
    t->label = xstrdup(label);
    return t;
}

/* Must hold tools_lock. */
static struct tool_series *
series_for(const char *tool)
{
    const char *label = tool == NULL || tool[0] == '\0' ? "_unknown" : tool;
    struct tool_series *t = find_tool(label);
    if (t != NULL) {
        return t;
    }
    if (strcmp(label, "_unknown") != 0 && strcmp(label, "_overflow") != 0) {
        if (tool_cap > 0 && tools_distinct >= tool_cap) {
            t = find_tool("_overflow");
            return t != NULL ? t : add_tool("_overflow");
        }
        tools_distinct++;
    }
    return add_tool(label);
}

void
metrics_rpc_call(const char *tool, bool failed, int64_t request_bytes, int64_t response_bytes,
                 bool count_bytes)
{
    pthread_mutex_lock(&tools_lock);
    struct tool_series *t = series_for(tool);
    bump(&t->calls, 1);
    if (failed) {
        bump(&t->failed, 1);
    }
    if (count_bytes && request_bytes > 0) {
        bump(&t->request_bytes, (uint64_t)request_bytes);
    }
    if (count_bytes && response_bytes > 0) {
        bump(&t->response_bytes, (uint64_t)response_bytes);
    }
    pthread_mutex_unlock(&tools_lock);
}

void
metrics_rpc_batch(bool failed, int64_t request_bytes, int64_t response_bytes)
{
    metrics_inc(METRICS_RPC_BATCHES);
    if (failed) {
        metrics_inc(METRICS_RPC_BATCHES_FAILED);
    }
    if (request_bytes > 0) {
        bump(&batch_bytes[0], (uint64_t)request_bytes);
    }
    if (response_bytes > 0) {
        bump(&batch_bytes[1], (uint64_t)response_bytes);
    }
}

uint64_t
metrics_get_rpc_calls(const char *label, bool failed)
{
    pthread_mutex_lock(&tools_lock);
    struct tool_series *t = find_tool(label);
    uint64_t v = t == NULL ? 0 : read_counter(failed ? &t->failed : &t->calls);
    pthread_mutex_unlock(&tools_lock);
    return v;
}

#define MAX_GAUGES 8
static struct {
    const char *name;
    const char *help;
    uint64_t (*fn)(void);
    uint64_t (*fn_arg)(const void *arg);
    const void *arg;
} gauges[MAX_GAUGES];
static _Atomic unsigned gauge_count;

/* Registered at start-up, before workers run. A name registered again
 * replaces the earlier one (a test or a restarted runtime in one process). */
static void
add_gauge(const char *name, const char *help, uint64_t (*fn)(void),
          uint64_t (*fn_arg)(const void *arg), const void *arg)
{
    unsigned n = atomic_load(&gauge_count);
    unsigned i = 0;
    while (i < n && strcmp(gauges[i].name, name) != 0) {
        i++;
    }
    if (i == MAX_GAUGES) {
        return;
    }
    gauges[i].name = name;
    gauges[i].help = help;
    gauges[i].fn = fn;
    gauges[i].fn_arg = fn_arg;
    gauges[i].arg = arg;
    if (i == n) {
        atomic_store(&gauge_count, n + 1);
    }
}

void
metrics_set_gauge_fn(const char *name, const char *help, uint64_t (*fn)(void))
{
    add_gauge(name, help, fn, NULL, NULL);
}

void
metrics_set_gauge_fn_arg(const char *name, const char *help, uint64_t (*fn)(const void *arg),
                         const void *arg)
{
    add_gauge(name, help, NULL, fn, arg);
}

static int
format_header(struct buf *b, const char *name, const char *help, const char *type)
{
    return buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Prometheus text format: label values are escaped for \ " and newline.
 * Tool labels are sanitised to [A-Za-z0-9._:/+-] upstream, so only the
 * fixed enum strings and those reach here; escaping stays for safety. */
static int
format_label_value(struct buf *b, const char *v)
{
    for (const char *p = v; *p; p++) {
        int rc = 0;
        if (*p == '\\' || *p == '"') {
            rc = buf_append_byte(b, '\\') || buf_append_byte(b, *p);
        } else if (*p == '\n') {
            rc = buf_append_str(b, "\\n");
        } else {
            rc = buf_append_byte(b, *p);
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

static int
format_tools(struct buf *b)
{
    static const struct {
        const char *name;
        const char *help;
        size_t offset;
    } fams[] = {
        {"mcp_auth_rpc_calls_total", "tools/call requests by tool.",
         offsetof(struct tool_series, calls)},
        {"mcp_auth_rpc_calls_failed_total", "tools/call requests answered >= 400, by tool.",
         offsetof(struct tool_series, failed)},
        {"mcp_auth_rpc_request_bytes_total", "Request bytes of single tools/call requests.",
         offsetof(struct tool_series, request_bytes)},
        {"mcp_auth_rpc_response_bytes_total", "Response bytes of single tools/call requests.",
         offsetof(struct tool_series, response_bytes)},
    };
    int rc = 0;
    pthread_mutex_lock(&tools_lock);
    for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]) && rc == 0; f++) {
        rc = format_header(b, fams[f].name, fams[f].help, "counter");
        for (size_t i = 0; i < tools_len && rc == 0; i++) {
            counter_t *c = (counter_t *)((char *)&tools[i] + fams[f].offset);
            uint64_t v = read_counter(c);
            if (v == 0 && f > 0) {
                continue;
            }
            rc = buf_appendf(b, "%s{tool=\"", fams[f].name) ||
                 format_label_value(b, tools[i].label) ||
                 buf_appendf(b, "\"} %llu\n", (unsigned long long)v);
        }
    }
    pthread_mutex_unlock(&tools_lock);
    return rc;
}

void
metrics_inc_policy_decision(bool allowed, enum metrics_policy_reason reason)
{
    bump(&policy_decisions[allowed][reason], 1);
}

uint64_t
metrics_get_policy_decision(bool allowed, enum metrics_policy_reason reason)
{
    return read_counter(&policy_decisions[allowed][reason]);
}

void
metrics_inc_bearer_cache(bool hit)
{
    bump(&bearer_cache[hit], 1);
}

uint64_t
metrics_get_bearer_cache(bool hit)
{
    return read_counter(&bearer_cache[hit]);
}

void
metrics_inc_policy_reload(bool ok)
{
    bump(&policy_reloads[ok], 1);
}

uint64_t
metrics_get_policy_reload(bool ok)
{
    return read_counter(&policy_reloads[ok]);
}

static int
format_policy_decisions(struct buf *b)
{
    static const char name[] = "mcp_auth_policy_decisions_total";
    if (format_header(b, name, "JSON-RPC calls decided by the policy file, by decision and reason.",
                      "counter") != 0) {
        return -1;
    }
    for (int a = 1; a >= 0; a--) {
        for (int r = 0; r < METRICS_POLICY_REASON_COUNT; r++) {
            uint64_t v = read_counter(&policy_decisions[a][r]);
            if (v != 0 && buf_appendf(b, "%s{decision=\"%s\",reason=\"%s\"} %llu\n", name,
                                      policy_decision_names[a], policy_reason_names[r],
                                      (unsigned long long)v) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* ---- request timing, sharded (metrics.h) ---- */

const double metrics_duration_bucket_s[METRICS_DURATION_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
};
/* The same bounds in nanoseconds, for the comparison on the request path. */
static const uint64_t bucket_ns[METRICS_DURATION_BUCKETS] = {
    5000000ull,     10000000ull,    25000000ull,    50000000ull,     100000000ull,
    250000000ull,   500000000ull,   1000000000ull,  2500000000ull,   5000000000ull,
    10000000000ull, 30000000000ull, 60000000000ull, 300000000000ull,
};

static const char *const route_names[METRICS_ROUTE_COUNT] = {
    [METRICS_ROUTE_OTHER] = "other",           [METRICS_ROUTE_MCP] = "mcp",
    [METRICS_ROUTE_REGISTER] = "register",     [METRICS_ROUTE_AUTHORIZE] = "authorize",
    [METRICS_ROUTE_CONSENT] = "consent",       [METRICS_ROUTE_CALLBACK] = "callback",
    [METRICS_ROUTE_TOKEN] = "token",           [METRICS_ROUTE_REVOKE] = "revoke",
    [METRICS_ROUTE_WELL_KNOWN] = "well_known", [METRICS_ROUTE_HEALTH] = "health",
};

enum code_class { CODE_2XX = 0, CODE_3XX, CODE_4XX, CODE_5XX, CODE_OTHER, CODE_COUNT };
static const char *const code_names[CODE_COUNT] = {"2xx", "3xx", "4xx", "5xx", "other"};

/* One thread writes a shard; relaxed loads and stores compile to plain
 * moves, so an observation costs no locked instruction. The scrape's
 * reads are relaxed atomic loads of the same cells (no torn values). */
typedef _Atomic uint64_t cell_t;
struct shard {
    cell_t req_buckets[METRICS_ROUTE_COUNT][METRICS_DURATION_BUCKETS + 1]; /* last: +Inf */
    cell_t req_sum_ns[METRICS_ROUTE_COUNT];
    cell_t req_codes[METRICS_ROUTE_COUNT][CODE_COUNT];
    cell_t ttfb_buckets[METRICS_DURATION_BUCKETS + 1];
    cell_t ttfb_sum_ns;
    cell_t streams_opened;
    cell_t streams_closed;
} __attribute__((aligned(64)));
static struct shard shards[BOUNDS_METRICS_SHARDS];

static void
cell_add(cell_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static uint64_t
cell_get(const cell_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

const char *
metrics_route_str(enum metrics_route route)
{
    return route < METRICS_ROUTE_COUNT ? route_names[route] : "unknown";
}

unsigned
metrics_shard_of(unsigned worker_id)
{
    return worker_id < BOUNDS_METRICS_SHARDS - 1 ? worker_id : BOUNDS_METRICS_SHARDS - 1;
}

static unsigned
bucket_of(uint64_t ns)
{
    unsigned i = 0;
    while (i < METRICS_DURATION_BUCKETS && ns > bucket_ns[i]) {
        i++;
    }
    return i;
}

static enum code_class
code_of(int status)
{
    switch (status / 100) {
    case 2:
        return CODE_2XX;
    case 3:
        return CODE_3XX;
    case 4:
        return CODE_4XX;
    case 5:
        return CODE_5XX;
    default:
        return CODE_OTHER;
    }
}

void
metrics_observe_request(unsigned shard, enum metrics_route route, int status, uint64_t duration_ns)
{
    struct shard *s = &shards[metrics_shard_of(shard)];
    if (route >= METRICS_ROUTE_COUNT) {
        route = METRICS_ROUTE_OTHER;
    }
    cell_add(&s->req_buckets[route][bucket_of(duration_ns)], 1);
    cell_add(&s->req_sum_ns[route], duration_ns);
    cell_add(&s->req_codes[route][code_of(status)], 1);
}

void
metrics_observe_upstream_ttfb(unsigned shard, uint64_t ttfb_ns)
{
    struct shard *s = &shards[metrics_shard_of(shard)];
    cell_add(&s->ttfb_buckets[bucket_of(ttfb_ns)], 1);
    cell_add(&s->ttfb_sum_ns, ttfb_ns);
}

/* Two monotonic counters rather than one gauge cell: opened minus closed
 * summed over the shards is right even when a stream's end is counted on
 * another shard than its start. */
void
metrics_stream_open(unsigned shard)
{
    cell_add(&shards[metrics_shard_of(shard)].streams_opened, 1);
}

void
metrics_stream_close(unsigned shard)
{
    cell_add(&shards[metrics_shard_of(shard)].streams_closed, 1);
}

/* A histogram summed over the shards: bucket counts (not cumulative), the
 * sum in nanoseconds. */
struct histo {
    uint64_t buckets[METRICS_DURATION_BUCKETS + 1];
    uint64_t sum_ns;
    uint64_t count;
};

static void
sum_request_histo(enum metrics_route route, struct histo *h, uint64_t codes[CODE_COUNT])
{
    memset(h, 0, sizeof(*h));
    memset(codes, 0, CODE_COUNT * sizeof(codes[0]));
    for (unsigned i = 0; i < BOUNDS_METRICS_SHARDS; i++) {
        const struct shard *s = &shards[i];
        for (unsigned k = 0; k <= METRICS_DURATION_BUCKETS; k++) {
            uint64_t v = cell_get(&s->req_buckets[route][k]);
            h->buckets[k] += v;
            h->count += v;
        }
        h->sum_ns += cell_get(&s->req_sum_ns[route]);
        for (unsigned c = 0; c < CODE_COUNT; c++) {
            codes[c] += cell_get(&s->req_codes[route][c]);
        }
    }
}

static void
sum_ttfb_histo(struct histo *h)
{
    memset(h, 0, sizeof(*h));
    for (unsigned i = 0; i < BOUNDS_METRICS_SHARDS; i++) {
        for (unsigned k = 0; k <= METRICS_DURATION_BUCKETS; k++) {
            uint64_t v = cell_get(&shards[i].ttfb_buckets[k]);
            h->buckets[k] += v;
            h->count += v;
        }
        h->sum_ns += cell_get(&shards[i].ttfb_sum_ns);
    }
}

uint64_t
metrics_get_requests(enum metrics_route route)
{
    struct histo h;
    uint64_t codes[CODE_COUNT];
    sum_request_histo(route, &h, codes);
    return h.count;
}

uint64_t
metrics_get_upstream_ttfb_count(void)
{
    struct histo h;
    sum_ttfb_histo(&h);
    return h.count;
}

int64_t
metrics_get_streams_open(void)
{
    uint64_t opened = 0;
    uint64_t closed = 0;
    for (unsigned i = 0; i < BOUNDS_METRICS_SHARDS; i++) {
        opened += cell_get(&shards[i].streams_opened);
        closed += cell_get(&shards[i].streams_closed);
    }
    return (int64_t)(opened - closed);
}

/* One histogram's series, with a route label or none (route NULL). */
static int
format_histo(struct buf *b, const char *name, const char *route, const struct histo *h)
{
    char in_le[48] = ""; /* before le="...": `route="mcp",` */
    char alone[48] = ""; /* _sum and _count: `{route="mcp"}` */
    if (route != NULL) {
        snprintf(in_le, sizeof(in_le), "route=\"%s\",", route);
        snprintf(alone, sizeof(alone), "{route=\"%s\"}", route);
    }
    uint64_t cumulative = 0;
    for (unsigned k = 0; k < METRICS_DURATION_BUCKETS; k++) {
        cumulative += h->buckets[k];
        if (buf_appendf(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, in_le,
                        metrics_duration_bucket_s[k], (unsigned long long)cumulative) != 0) {
            return -1;
        }
    }
    return buf_appendf(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, in_le,
                       (unsigned long long)h->count) ||
           buf_appendf(b, "%s_sum%s %.9f\n", name, alone, (double)h->sum_ns / 1e9) ||
           buf_appendf(b, "%s_count%s %llu\n", name, alone, (unsigned long long)h->count);
}

static int
format_timing(struct buf *b)
{
    static const char dur[] = "mcp_auth_http_request_duration_seconds";
    static const char req[] = "mcp_auth_http_requests_total";
    struct histo h[METRICS_ROUTE_COUNT];
    uint64_t codes[METRICS_ROUTE_COUNT][CODE_COUNT];
    for (unsigned r = 0; r < METRICS_ROUTE_COUNT; r++) {
        sum_request_histo((enum metrics_route)r, &h[r], codes[r]);
    }
    if (format_header(b, dur,
                      "Public requests from their first byte to their end (a stream: its end), "
                      "by route.",
                      "histogram") != 0) {
        return -1;
    }
    for (unsigned r = 0; r < METRICS_ROUTE_COUNT; r++) {
        if (h[r].count != 0 && format_histo(b, dur, route_names[r], &h[r]) != 0) {
            return -1;
        }
    }
    if (format_header(b, req, "Public requests answered, by route and status class.", "counter") !=
        0) {
        return -1;
    }
    for (unsigned r = 0; r < METRICS_ROUTE_COUNT; r++) {
        for (unsigned c = 0; c < CODE_COUNT; c++) {
            if (codes[r][c] != 0 &&
                buf_appendf(b, "%s{route=\"%s\",code=\"%s\"} %llu\n", req, route_names[r],
                            code_names[c], (unsigned long long)codes[r][c]) != 0) {
                return -1;
            }
        }
    }
    struct histo t;
    sum_ttfb_histo(&t);
    int64_t streams = metrics_get_streams_open();
    return format_header(b, "mcp_auth_upstream_ttfb_seconds",
                         "Upstream time to first byte: request written to response head.",
                         "histogram") ||
           format_histo(b, "mcp_auth_upstream_ttfb_seconds", NULL, &t) ||
           format_header(b, "mcp_auth_streams_open",
                         "Proxied responses of unknown length (SSE, chunked) being relayed.",
                         "gauge") ||
           buf_appendf(b, "mcp_auth_streams_open %lld\n", (long long)(streams > 0 ? streams : 0));
}

/* ---- process and build ---- */

static int
format_process(struct buf *b)
{
    if (format_header(b, "mcp_auth_build_info",
                      "Always 1; the version and commit of this binary as labels.", "gauge") != 0 ||
        buf_appendf(b, "mcp_auth_build_info{version=\"%s\",commit=\"%s\"} 1\n", MAP_VERSION,
                    MAP_COMMIT) != 0) {
        return -1;
    }
    struct metrics_process p;
    if (!metrics_process_read(&p)) {
        return 0;
    }
    return format_header(b, "process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.", "counter") ||
           buf_appendf(b, "process_cpu_seconds_total %.2f\n", p.cpu_seconds) ||
           format_header(b, "process_resident_memory_bytes", "Resident memory size in bytes.",
                         "gauge") ||
           buf_appendf(b, "process_resident_memory_bytes %llu\n",
                       (unsigned long long)p.resident_bytes) ||
           format_header(b, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         "gauge") ||
           buf_appendf(b, "process_virtual_memory_bytes %llu\n",
                       (unsigned long long)p.virtual_bytes) ||
           format_header(b, "process_open_fds", "Number of open file descriptors.", "gauge") ||
           buf_appendf(b, "process_open_fds %llu\n", (unsigned long long)p.open_fds) ||
           format_header(b, "process_max_fds", "Maximum number of open file descriptors.",
                         "gauge") ||
           buf_appendf(b, "process_max_fds %llu\n", (unsigned long long)p.max_fds) ||
           format_header(b, "process_start_time_seconds",
                         "Start time of the process since unix epoch in seconds.", "gauge") ||
           buf_appendf(b, "process_start_time_seconds %.2f\n", p.start_time_seconds);
}

int
metrics_format(struct buf *b)
{
    for (int i = 0; i < METRICS_COUNTER_COUNT; i++) {
        if (format_header(b, counter_names[i][0], counter_names[i][1], "counter") != 0 ||
            buf_appendf(b, "%s %llu\n", counter_names[i][0],
                        (unsigned long long)read_counter(&counters[i])) != 0) {
            return -1;
        }
    }
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
        const struct labelled *fam = &families[f];
        if (format_header(b, fam->name, fam->help, "counter") != 0) {
            return -1;
        }
        for (unsigned i = 0; i < fam->count; i++) {
            uint64_t v = read_counter(&fam->cells[i]);
            if (v == 0) {
                continue; /* labelled series appear once incremented */
            }
            if (buf_appendf(b, "%s{%s=\"%s\"} %llu\n", fam->name, fam->label, fam->values[i],
                            (unsigned long long)v) != 0) {
                return -1;
            }
        }
    }
    if (format_tools(b) != 0 || format_policy_decisions(b) != 0 || format_timing(b) != 0 ||
        format_process(b) != 0) {
        return -1;
    }
    unsigned n = atomic_load(&gauge_count);
    for (unsigned i = 0; i < n; i++) {
        uint64_t v = gauges[i].fn != NULL ? gauges[i].fn() : gauges[i].fn_arg(gauges[i].arg);
        if (format_header(b, gauges[i].name, gauges[i].help, "gauge") != 0 ||
            buf_appendf(b, "%s %llu\n", gauges[i].name, (unsigned long long)v) != 0) {
            return -1;
        }
    }
    return 0;
}

void
metrics_reset(void)
{
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
        for (unsigned i = 0; i < families[f].count; i++) {
            atomic_store(&families[f].cells[i], 0);
        }
    }
    for (int i = 0; i < METRICS_COUNTER_COUNT; i++) {
        atomic_store(&counters[i], 0);
    }
    for (int a = 0; a < 2; a++) {
        for (int r = 0; r < METRICS_POLICY_REASON_COUNT; r++) {
            atomic_store(&policy_decisions[a][r], 0);
        }
    }
    memset(shards, 0, sizeof(shards));
    pthread_mutex_lock(&tools_lock);
    for (size_t i = 0; i < tools_len; i++) {
        xfree(tools[i].label);
    }
    xfree(tools);
    tools = NULL;
    tools_len = tools_alloc = tools_distinct = 0;
    pthread_mutex_unlock(&tools_lock);
}
