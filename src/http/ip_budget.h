/* http/ip_budget: a process-wide budget with a share per client address,
 * for resources a single client could otherwise take all of. Two users:
 * open client connections (units of 1; MAX_CLIENT_CONNECTIONS and
 * MAX_CLIENT_CONNECTIONS_PER_IP) and buffered request bodies (bytes;
 * REQUEST_BODY_BUFFER_MAX and REQUEST_BODY_BUFFER_PER_IP_MAX).
 *
 * A taker holds what it took in a struct http_ip_budget_hold and gives it
 * all back at once with http_ip_budget_put. A key is a short byte string
 * (an address reduced to its /64 for IPv6, or the client-IP key of a
 * request); an empty key counts toward the total only (a trusted load
 * balancer, a Unix socket in tests).
 *
 * One table for all workers, split into stripes with a mutex each; keys
 * hash with a secret SipHash key so clients cannot aim theirs at one
 * stripe. An entry lives exactly while something is held under its key, so
 * the table never holds more entries than there are holders (connections,
 * requests), and a hold's entry pointer stays valid without a lookup. The
 * total is an atomic: takes are checked against it with a compare-and-swap,
 * so the cap is never exceeded, even by racing workers.
 *
 * No I/O, no logging. Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

#define HTTP_IP_BUDGET_STRIPES 64
/* Key bytes kept and compared (longer keys are cut). */
#define HTTP_IP_BUDGET_KEY_MAX 128

struct http_ip_budget;
struct http_ip_budget_entry;

/* What one holder took. Zero-initialise; reuse after a put. */
struct http_ip_budget_hold {
    struct http_ip_budget *budget; /* NULL: nothing held */
    struct http_ip_budget_entry *entry;
    uint64_t amount;
};

enum http_ip_budget_rc {
    HTTP_IP_BUDGET_OK = 0,
    HTTP_IP_BUDGET_OVER_TOTAL, /* the process-wide cap would be passed */
    HTTP_IP_BUDGET_OVER_KEY,   /* this key's share would be passed */
    HTTP_IP_BUDGET_RC_COUNT,
};

/* "ok", "over_total", "over_key". */
const char *http_ip_budget_rc_str(enum http_ip_budget_rc rc);

/* A budget of total units for the process and per_key units for each key;
 * 0 means no cap of that kind. Never NULL. */
struct http_ip_budget *http_ip_budget_new(uint64_t total, uint64_t per_key);
/* NULL is a no-op. Nothing may still be held. */
void http_ip_budget_free(struct http_ip_budget *b);

/* Takes n more units for key into hold (borrowed; it keeps the key of its
 * first take: later takes into the same hold ignore key). On a refusal
 * nothing is taken and hold is unchanged. n == 0 always succeeds. */
enum http_ip_budget_rc http_ip_budget_take(struct http_ip_budget *b, struct slice key, uint64_t n,
                                           struct http_ip_budget_hold *hold)
    __attribute__((warn_unused_result));
/* True when n more units for key would fit right now (a hint: another
 * thread may take them first). */
bool http_ip_budget_fits(struct http_ip_budget *b, struct slice key, uint64_t n);
/* Gives everything in hold back and clears it. An empty hold is a no-op. */
void http_ip_budget_put(struct http_ip_budget_hold *hold);

/* Units held right now, in total and under one key (gauges, tests). */
uint64_t http_ip_budget_in_use(const struct http_ip_budget *b);
uint64_t http_ip_budget_key_in_use(struct http_ip_budget *b, struct slice key);
/* The highest total seen since the previous call (the current total to
 * begin with); each call starts a new period at the current total. */
uint64_t http_ip_budget_take_peak(struct http_ip_budget *b);
/* Keys with something held (tests). */
size_t http_ip_budget_keys(struct http_ip_budget *b);
/* The caps it was made with. */
uint64_t http_ip_budget_total_cap(const struct http_ip_budget *b);
uint64_t http_ip_budget_key_cap(const struct http_ip_budget *b);
