/* struct worker: one event-loop thread and everything bound to its loop.
 *
 * Nothing loop-bound is global (STYLE.md 3.5): a worker owns its
 * event_base, its public listener and connections, and (as the other
 * subsystems land) its curl multi handle, upstream pool and replay-store
 * connection. Code running on a worker reaches them through the struct
 * worker * it was handed (or the request that holds it), and only on that
 * worker's thread. The control loop of the main thread (signals, the
 * metrics listener) is a worker too, with no public listener. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct app;
struct event;
struct event_base;
struct http_server;

/* Per-worker services of other subsystems. Each subsystem creates its slot
 * when its worker starts and frees it in worker_free(); until a subsystem
 * lands its slot stays NULL and nothing reads it. */
struct fetch;      /* fetch.c: libcurl multi driven by this loop */
struct store;      /* store/: this worker's replay-store connection */
struct proxy_pool; /* proxy/pool.c: keep-alive upstream connections */

struct worker_deferred;

struct worker {
    unsigned id; /* 0..WORKERS-1; the control loop is WORKER_CONTROL_ID */
    struct event_base *base;
    const struct app *app;      /* process-wide, read-only */
    struct http_server *server; /* public listener and its connections; NULL on control */

    /* Counters read by other threads (shutdown, tests): relaxed atomics. */
    _Atomic uint64_t requests_inflight; /* dispatched, not yet finished */
    _Atomic uint64_t requests_total;
    _Atomic uint64_t connections; /* open client connections */

    /* Slots other subsystems fill (see the forward declarations above). */
    struct fetch *fetch;
    struct store *store; /* NULL when no replay store is configured */
    struct proxy_pool *upstream_pool;

    /* Deferred frees (tmux's idea): run once the current callback has
     * returned to the loop. */
    struct worker_deferred *deferred;
    struct worker_deferred **deferred_tail;
    struct event *deferred_ev;
};

#define WORKER_CONTROL_ID 0xffffffffu

typedef void (*worker_defer_fn)(void *arg);

/* A worker with a fresh event_base (libevent's pthread locking must already
 * be enabled, see runtime.c). app is borrowed and outlives the worker. */
struct worker *worker_new(unsigned id, const struct app *app);
/* Opens this worker's own handles on the process-wide services: the curl
 * multi (fetch), the replay-store connection and, on public workers, the
 * upstream pool (proxy/pool.h). Call on any thread before the loop runs. */
void worker_attach_services(struct worker *w);
/* Closes them; call on the worker's own thread after its loop stopped and
 * its connections are gone (in-flight operations are cancelled). */
void worker_detach_services(struct worker *w);

/* Runs pending deferred frees, then frees the base. The server (and any
 * slot) must have been freed by its owner first. NULL is a no-op. */
void worker_free(struct worker *w);

/* Calls fn(arg) on this worker's thread after the current libevent callback
 * has returned to the loop: the "free later" half of destroy-now-free-later
 * (STYLE.md 3.5). Never calls fn from inside this call. */
void worker_defer(struct worker *w, worker_defer_fn fn, void *arg);
/* Runs every deferred call now (the loop has stopped; used at teardown). */
void worker_run_deferred(struct worker *w);
