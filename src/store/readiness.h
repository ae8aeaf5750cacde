/* /readyz's view of the replay store (SPEC.md 5.5 steps 3-4): one cached
 * answer per process, refreshed by at most one probe at a time.
 *
 * A good answer is reused for BOUNDS_READYZ_CACHE_OK_MS (250 ms), a bad one
 * for BOUNDS_READYZ_CACHE_FAIL_MS (1 s). On a miss, the first caller starts
 * a probe (store_ping: EXISTS <prefix>__readyz_probe__ on Redis) on its own
 * worker's store, and every caller that arrives meanwhile -- on any worker
 * -- waits for that probe instead of starting another (single flight).
 * Each waiter is answered on its own store's loop, never inside the call;
 * one that no probe answers within BOUNDS_READYZ_PROBE_TIMEOUT_MS (1 s)
 * gets STORE_ERR_UNAVAILABLE. The shutting-down flag and the "no store
 * configured" answer of SPEC.md 5.5 belong to the /readyz handler.
 *
 * Thread-safe: one struct store_readiness serves every worker. Waking a
 * waiter on another worker's loop uses event_active(), so the process must
 * call evthread_use_pthreads() before creating its event bases. */
#pragma once

#include <stdint.h>

#include "store/store.h"

struct store_readiness;
struct store_readiness_wait;

/* Monotonic milliseconds; tests pass a fake one. */
typedef uint64_t (*store_readiness_clock_fn)(void);

/* clock NULL means base/clock's clock_mono_ms. Never NULL. */
struct store_readiness *store_readiness_new(store_readiness_clock_fn clock);
/* Free it after every store used with it is freed (freeing a store cancels
 * its probe) and with no waiter left. NULL is a no-op. */
void store_readiness_free(struct store_readiness *r);

/* Is the store ready? Answers through cb on s's loop, with STORE_OK or
 * STORE_ERR_UNAVAILABLE and, then, the reason. s is the caller's worker
 * store (borrowed; it must outlive the wait). The handle is valid until
 * the callback starts or store_readiness_cancel(). Never NULL. */
struct store_readiness_wait *store_readiness_check(struct store_readiness *r, struct store *s,
                                                   store_done_fn cb, void *arg);
/* After this the callback never runs. Call it on the waiter's own loop
 * thread. NULL is a no-op. */
void store_readiness_cancel(struct store_readiness_wait *w);

/* Probes started so far (tests, diagnostics). */
uint64_t store_readiness_probes(struct store_readiness *r);
