/* struct worker: one event-loop thread: its event_base, its deferred frees
 * and its slots.
 *
 * Nothing loop-bound is global (STYLE.md 3.5): whatever is bound to a loop
 * hangs off its worker and is used only on that worker's thread. The
 * worker is on floor 1 (docs/architecture.md) and knows nothing above it:
 * the per-loop handles of the floors above (the curl multi, the
 * replay-store connection, the upstream pool) live in generic slots that
 * the wiring fills when the worker starts, each with the function that
 * closes it. The worker knows the slots' names, never their types; each
 * owner reads its slot through a typed accessor of its own
 * (fetch_of_worker, store_of_worker, proxy_pool_of_worker). The control
 * loop of the main thread (signals, the metrics listener) is a worker too. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct event;
struct event_base;

/* The per-loop handles a worker can carry. */
enum worker_slot {
    WORKER_SLOT_FETCH,         /* struct fetch: libcurl multi driven by this loop */
    WORKER_SLOT_STORE,         /* struct store: the replay-store connection; empty without one */
    WORKER_SLOT_UPSTREAM_POOL, /* struct proxy_pool: keep-alive upstream connections */
    WORKER_SLOT_BEARER_CACHE,  /* struct proxy_bearer_cache: access tokens already opened */
    WORKER_SLOT_COUNT,
};

/* Closes a slot's handle (on the worker's thread, its loop stopped). */
typedef void (*worker_slot_close_fn)(void *handle);

struct worker_deferred;

struct worker {
    unsigned id; /* 0..WORKERS-1; the control loop is WORKER_CONTROL_ID */
    struct event_base *base;
    /* Counters read by other threads (shutdown, tests): relaxed atomics. */
    _Atomic uint64_t requests_inflight; /* dispatched, not yet finished */
    _Atomic uint64_t requests_total;
    _Atomic uint64_t connections; /* open client connections */

    /* Use worker_slot_set/_get/worker_slots_close, not these. */
    struct {
        void *handle;
        worker_slot_close_fn close;
        unsigned seq; /* attach order: the last attached closes first */
    } slots[WORKER_SLOT_COUNT];
    unsigned slot_seq;

    /* Deferred frees (tmux's idea): run once the current callback has
     * returned to the loop. */
    struct worker_deferred *deferred;
    struct worker_deferred **deferred_tail;
    struct event *deferred_ev;
};

#define WORKER_CONTROL_ID 0xffffffffu

typedef void (*worker_defer_fn)(void *arg);

/* A worker with a fresh event_base and empty slots (libevent's pthread
 * locking must already be enabled, see wiring/runtime.c). NULL only when
 * the kernel refuses an event base. */
struct worker *worker_new(unsigned id);

/* Puts handle (owned by the worker from now on) in slot, with the function
 * that closes it (NULL: nothing to close). The slot must be empty. Call
 * before the loop runs, on any thread. */
void worker_slot_set(struct worker *w, enum worker_slot slot, void *handle,
                     worker_slot_close_fn close);
/* The handle in slot (borrowed, valid while attached); NULL when empty. */
void *worker_slot_get(const struct worker *w, enum worker_slot slot);
/* Closes every slot, the last attached first, and leaves them empty. Call
 * on the worker's own thread after its loop stopped and its connections
 * are gone (in-flight operations are cancelled); runs the deferred frees
 * the closing queued. */
void worker_slots_close(struct worker *w);

/* Runs pending deferred frees, closes the slots still attached (the loop
 * must have stopped), then frees the base. The caller's objects on the
 * loop (a server, timers) must be gone first. NULL is a no-op. */
void worker_free(struct worker *w);

/* Calls fn(arg) on this worker's thread after the current libevent callback
 * has returned to the loop: the "free later" half of destroy-now-free-later
 * (STYLE.md 3.5). Never calls fn from inside this call. */
void worker_defer(struct worker *w, worker_defer_fn fn, void *arg);
/* Runs every deferred call now (the loop has stopped; used at teardown). */
void worker_run_deferred(struct worker *w);
