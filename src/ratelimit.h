/* The per-IP rate limiter (SPEC.md 3.0.3): one counter space per bucket
 * (enum metrics_endpoint), one counter per (bucket, key) and window.
 *
 * Default budgets per key per minute: register 10, authorize 30, consent
 * 30, callback 30, token 60, discovery 60 (all seven discovery routes pass
 * the one DISCOVERY bucket, so they share it), mcp 600, revoke 30. The
 * operator's budgets (RATE_LIMIT_<ENDPOINT>_PER_MIN, the named client and
 * CIDR budgets) are chosen by ratelimit_budget.h and passed in with
 * ratelimit_allow_budget().
 *
 * Algorithm (httprate's, which the Go service used): fixed windows aligned
 * to UTC minute boundaries; a request at `elapsed` ms into the current
 * window sees
 *     estimate = round(prev_count * (60000 - elapsed) / 60000) + cur_count
 * (rounded to nearest, halves up) and is refused when estimate + 1 > limit.
 * Refused requests are not counted. Counts from two or more windows back
 * weigh nothing.
 *
 * One limiter serves the whole process: a hash table split into
 * RATELIMIT_STRIPES stripes, each with its own mutex, keyed with a secret
 * SipHash key so clients cannot aim their keys at one stripe. Memory is
 * bounded: entries whose newest count is two or more windows old are
 * dropped (lazily, when their stripe is first used in a new window, or by
 * ratelimit_sweep), and at most BOUNDS_RATELIMIT_ENTRIES_MAX entries live
 * at once (the cap is split evenly over the stripes).
 *
 * At the cap the limiter FAILS OPEN for new keys: a key with no counter in
 * a full stripe is allowed and not counted, keys already counted stay
 * limited, and a warning (rate_limit_table_full) is logged at most once per
 * window. Why open: failing closed would let whoever fills the table (one
 * IPv6 /48 is 65 536 /64 keys) answer 429 to every new client on every
 * route, /token and the MCP mount included, for as long as they keep it
 * full -- a lockout bought cheaply. Failing open only waives the budget for
 * keys that arrive while the table is full; each request is still
 * authenticated as usual, and an attacker with ~200 000 keys live within
 * two minutes already has 200 000 budgets. Evicting live entries to make
 * room is no better: cycling keys would reset counters, the attacker's and
 * everyone else's.
 *
 * Times are wall-clock Unix milliseconds from the caller (clock_unix_ms()
 * in production, a pinned clock in tests). If the wall clock steps back
 * behind a key's newest window, that key is judged as if at the start of
 * its newest window (its counts are kept, never forgotten early). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

#define RATELIMIT_STRIPES 64

struct ratelimit;

/* A limiter with the table cap of bounds.h. enabled = false gives a
 * limiter that allows everything and holds no table (RATE_LIMIT_ENABLED).
 * Never NULL. */
struct ratelimit *ratelimit_new(bool enabled);
/* Same with another cap (tests): max_entries is rounded up to a multiple
 * of RATELIMIT_STRIPES, at least one entry per stripe. */
struct ratelimit *ratelimit_new_capped(bool enabled, size_t max_entries);
/* NULL is a no-op. No other thread may be using rl. */
void ratelimit_free(struct ratelimit *rl);

/* Counts one request of key (a NUL-terminated rate-limit key, see
 * http/client_ip.h; any length) against bucket at now_ms. true: allowed
 * (and counted); false: refused with 429 (not counted). A bucket outside
 * the enum is not limited. Thread-safe. */
bool ratelimit_allow(struct ratelimit *rl, enum metrics_endpoint bucket, const char *key,
                     int64_t now_ms);

/* The same against an explicit budget (requests per window; 0 refuses
 * everything). Keys of one bucket judged with different budgets share
 * their counters. */
bool ratelimit_allow_budget(struct ratelimit *rl, enum metrics_endpoint bucket, const char *key,
                            unsigned limit, int64_t now_ms);

/* The sliding-window estimate of SPEC.md 3.0.3 for `prev` requests in the
 * previous window and `cur` in this one, elapsed_ms (0..59999) into it:
 * round(prev * (W - elapsed) / W) + cur, halves up. Pure; the Redis script
 * (store/redis_proto.c) computes the same. */
uint64_t ratelimit_estimate(uint32_t prev, uint32_t cur, int64_t elapsed_ms);

/* The default budget of a bucket per window (bounds.h); 0 outside the enum. */
unsigned ratelimit_limit(enum metrics_endpoint bucket);

/* Drops every entry that no longer counts at now_ms and returns how many
 * remain. Optional (a periodic timer may call it to give memory back after
 * a burst of keys); ratelimit_allow sweeps each stripe by itself. */
size_t ratelimit_sweep(struct ratelimit *rl, int64_t now_ms);
/* Live entries right now (tests, a gauge). */
size_t ratelimit_entries(struct ratelimit *rl);
