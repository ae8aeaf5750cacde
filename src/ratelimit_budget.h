/* ratelimit_budget: which budget and which key judge one request (issue
 * 14). Pure: no I/O, no clock, no locks; built once at start-up from the
 * configuration and read by every worker.
 *
 * Budgets (requests per key per minute):
 *   - every bucket has its own, RATE_LIMIT_<ENDPOINT>_PER_MIN (defaults in
 *     bounds.h, SPEC.md 3.0.3's values);
 *   - /token and /authorize only: RATE_LIMIT_CLIENT_BUDGETS names
 *     client_ids, RATE_LIMIT_CIDR_BUDGETS names address ranges.
 * Which applies, first match wins:
 *   1. the request names a client_id listed in RATE_LIMIT_CLIENT_BUDGETS
 *      (byte-for-byte, after the list's percent-decoding) -> its budget;
 *   2. the client address lies in ranges of RATE_LIMIT_CIDR_BUDGETS -> the
 *      budget of the longest prefix among them (equal prefixes: the one
 *      listed first);
 *   3. else the bucket's RATE_LIMIT_<ENDPOINT>_PER_MIN.
 * A named budget is the budget of each key it matches; it never pools
 * several keys into one counter.
 *
 * Keys: the client address key of SPEC.md 3.0.4 (http/client_ip.h). On
 * /token and /authorize with a client_id, the key is the address AND the
 * client: "<address> <32 hex digits>", the hex the first 128 bits of the
 * client_id's SHA-256, so users of two clients behind one vendor egress
 * address do not share a budget, and no client_id is kept or sent in
 * clear. The same key text is the local limiter's key and, escaped
 * (ratelimit_budget_store_key), the Redis key. A client_id is the caller's
 * to invent, so each address also has a ceiling over all its client_ids
 * (ratelimit_budget_ceiling), checked per replica at the head. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/slice.h"
#include "bounds.h"
#include "metrics.h"

struct ipaddr;

/* Key text cap: an address key (BOUNDS_CLIENT_IP_KEY_MAX) + ' ' + 32 hex. */
#define RATELIMIT_BUDGET_KEY_SIZE (BOUNDS_CLIENT_IP_KEY_MAX + 34)

/* Where the chosen budget came from (logs, tests). */
enum ratelimit_budget_source {
    RATELIMIT_BUDGET_ENDPOINT = 0, /* RATE_LIMIT_<ENDPOINT>_PER_MIN */
    RATELIMIT_BUDGET_CLIENT,       /* RATE_LIMIT_CLIENT_BUDGETS */
    RATELIMIT_BUDGET_CIDR,         /* RATE_LIMIT_CIDR_BUDGETS */
};

struct ratelimit_budgets;

/* Configuration validators (config.c's table): NULL, or a static reason.
 * Client list: comma-separated "<client_id>=<n>", split at each entry's
 * LAST '='; in a client_id '%' starts a %XX escape, so a ',' is written
 * %2C and a '%' %25 (a client_id URL with a query keeps its '='s as they
 * are). CIDR list: comma-separated "<address>/<prefix>=<n>". n: 1 to
 * BOUNDS_RATE_PER_WINDOW_MAX; at most BOUNDS_RATE_NAMED_BUDGETS_MAX entries
 * each; a client_id or range listed twice is an error. Empty: no entries. */
const char *ratelimit_budget_check_clients(struct slice text);
const char *ratelimit_budget_check_cidrs(struct slice text);

/* per_min: each bucket's budget, indexed by enum metrics_endpoint. clients
 * and cidrs: the two lists (already validated; NULL counts as empty).
 * Never NULL. */
struct ratelimit_budgets *ratelimit_budgets_new(const unsigned per_min[METRICS_ENDPOINT_COUNT],
                                                const char *clients, const char *cidrs);
void ratelimit_budgets_free(struct ratelimit_budgets *b);

/* Is bucket keyed by client as well as address (/token, /authorize)? */
bool ratelimit_budget_client_aware(enum metrics_endpoint bucket);

/* The budget for a request of bucket from addr (NULL: the key is not an
 * address) naming client_id (empty: none; ignored outside the
 * client-aware buckets). *source (may be NULL) says which rule chose it. */
unsigned ratelimit_budget_select(const struct ratelimit_budgets *b, enum metrics_endpoint bucket,
                                 struct slice client_id, const struct ipaddr *addr,
                                 enum ratelimit_budget_source *source);

/* The ceiling of one address over all its client_ids at a client-aware
 * bucket: BOUNDS_RATE_CLIENTS_PER_ADDRESS_FACTOR times the largest budget
 * that can apply to the address (the endpoint's, the largest named
 * client's, the address's CIDR budget). 0 for other buckets (no ceiling).
 * Counted under ratelimit_budget_ceiling_key, at the head, per replica. */
unsigned ratelimit_budget_ceiling(const struct ratelimit_budgets *b, enum metrics_endpoint bucket,
                                  const struct ipaddr *addr);
/* "<ip_key> *": a key text no client key can equal. */
void ratelimit_budget_ceiling_key(const char *ip_key, char out[RATELIMIT_BUDGET_KEY_SIZE]);

/* The key text into out (NUL-terminated): ip_key alone, or "<ip_key>
 * <hex>" with a client_id on a client-aware bucket. */
void ratelimit_budget_key(enum metrics_endpoint bucket, const char *ip_key, struct slice client_id,
                          char out[RATELIMIT_BUDGET_KEY_SIZE]);

/* The Redis key (without REDIS_KEY_PREFIX) of a key text:
 * "ratelimit:<bucket>:<key>", every byte outside [0-9A-Za-z.:/_-] of the
 * key written %XX (so a raw peer text cannot add braces, spaces or control
 * bytes; the client hex's separating ' ' becomes %20). */
int ratelimit_budget_store_key(enum metrics_endpoint bucket, const char *key,
                               struct buf *out) BUF_WUR;
