#include "wiring/runtime.h"

#include <assert.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <string.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "config.h"
#include "fetch.h"
#include "config_report.h"
#include "http/health.h"
#include "http/ip_budget.h"
#include "http/request.h"
#include "http/router.h"
#include "http/server.h"
#include "log.h"
#include "revocation/subscriber.h"
#include "proxy/bearer_cache.h"
#include "proxy/pool.h"
#include "log_skip.h"
#include "proxy/subject_limit.h"
#include "ratelimit.h"
#include "store/store.h"
#include "version.h"
#include "wiring/app.h"
#include "wiring/policy_reload.h"
#include "wiring/rate_limit_site.h"
#include "wiring/routes.h"
#include "worker.h"

/* A public worker thread and the two cross-thread doorbells the control
 * loop rings on it (event_active is thread-safe once libevent's pthread
 * locking is on). */
struct worker_thread {
    struct runtime *rt;
    struct worker *w;
    struct http_server *server; /* public listener and its connections */
    /* FORWARD_AUTH_ADDR's listener on this worker; NULL when off. */
    struct http_server *forward_auth;
    unsigned draining; /* servers still draining (this worker's thread only) */
    pthread_t thread;
    bool started;
    struct event *drain_ev; /* start the graceful drain */
    struct event *abort_ev; /* the deadline passed: close everything */
};

struct runtime {
    const struct config *cfg;
    struct app *app;
    struct rate_limit_site rate_limit;
    struct http_router *public_router;
    struct http_router *metrics_router;
    struct http_router *forward_auth_router; /* FORWARD_AUTH_ADDR; NULL when off */
    struct http_health health;
    atomic_bool draining;

    struct worker *control;
    struct revocation_subscriber *revocations; /* Redis only: on the control loop */
    struct http_server *metrics;
    struct worker_thread *threads;
    unsigned nthreads;
    atomic_uint threads_done;

    struct event *sigterm_ev;
    struct event *sigint_ev;
    struct event *deadline_ev;
    struct event *thread_done_ev;
    struct event *prune_ev;
    struct event *trim_ev;
    struct policy_reload *policy_reload; /* MCP_POLICY_FILE only */
    unsigned signals;
    uint64_t shutdown_started_ms; /* monotonic, at the first signal */

    /* The connection layer's process-wide caps (http/ip_budget.h), shared
     * by every worker's public server. */
    struct http_ip_budget *conn_budget;
    struct http_ip_budget *body_budget;
    uint64_t body_peak; /* highest buffered-body total since the last trim */
    uint64_t conn_peak; /* highest connection count since the last trim */
};

/* Set by SIGTERM/SIGINT during the blocking start-up steps (OIDC discovery,
 * JWKS, the Redis check), before the control loop owns the signals. */
static atomic_bool startup_stop;

static void
on_startup_signal(int sig)
{
    (void)sig;
    atomic_store(&startup_stop, true);
}

static void
log_fatal_start(const char *msg, const char *var, const char *addr, const char *error)
{
    struct log_line l;
    log_begin(&l, LOG_ERROR, msg);
    log_str(&l, "addr", addr);
    log_str(&l, "error", error);
    log_end(&l);
    fprintf(stderr, "fatal: cannot listen on %s=%s: %s\n", var, addr, error);
}

/* ---- worker threads ---- */

/* One of the worker's servers has no connection left; the loop ends
 * with the last. */
static void
on_worker_empty(void *arg)
{
    struct worker_thread *t = arg;
    if (t->draining > 0 && --t->draining == 0) {
        event_base_loopexit(t->w->base, NULL);
    }
}

static void
on_worker_drain(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker_thread *t = arg;
    if (t->draining > 0) {
        return; /* already draining */
    }
    /* Both counted before either drain starts: on_empty runs deferred,
     * never from inside http_server_drain. */
    t->draining = t->forward_auth != NULL ? 2 : 1;
    http_server_drain(t->server, on_worker_empty, t);
    if (t->forward_auth != NULL) {
        http_server_drain(t->forward_auth, on_worker_empty, t);
    }
}

static void
on_worker_abort(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker_thread *t = arg;
    http_server_abort_all(t->server);
    if (t->forward_auth != NULL) {
        http_server_abort_all(t->forward_auth);
    }
}

static void *
worker_main(void *arg)
{
    struct worker_thread *t = arg;
    log_thread_attach(); /* this loop's lines never wait for stdout */
    event_base_loop(t->w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    /* Deferred frees queued by the last connections run here, on the
     * worker's own thread, before the control loop is told; then the
     * worker's pool, store and curl handles close on the thread that used
     * them. */
    worker_run_deferred(t->w);
    worker_slots_close(t->w);
    log_thread_detach();
    atomic_fetch_add(&t->rt->threads_done, 1);
    event_active(t->rt->thread_done_ev, EV_TIMEOUT, 0);
    return NULL;
}

/* A worker and its per-loop handles (worker.h slots): the curl multi, the
 * replay-store connection (when there is a store) and, on the public
 * workers, the upstream pool and the cache of opened bearer tokens. The
 * control loop answers /readyz, so it has a store handle too. NULL when
 * the kernel refuses an event loop. */
static struct worker *
new_worker(struct runtime *rt, unsigned id)
{
    struct worker *w = worker_new(id);
    if (w == NULL) {
        return NULL;
    }
    fetch_attach_worker(w);
    if (rt->app->store_backend != NULL) {
        store_attach_worker(w, rt->app->store_backend);
    }
    if (id != WORKER_CONTROL_ID) {
        proxy_pool_attach_worker(w, &rt->app->upstream);
        proxy_bearer_cache_attach_worker(w);
    }
    return w;
}

/* ---- control loop ---- */

static void
on_thread_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    if (atomic_load(&rt->threads_done) == rt->nthreads) {
        event_base_loopexit(rt->control->base, NULL);
    }
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    uint64_t left = 0;
    for (unsigned i = 0; i < rt->nthreads; i++) {
        left += atomic_load_explicit(&rt->threads[i].w->connections, memory_order_relaxed);
    }
    struct log_line l;
    log_begin(&l, LOG_ERROR, "shutdown_error");
    log_str(&l, "error", "SHUTDOWN_TIMEOUT reached; closing the remaining connections");
    log_uint(&l, "connections", left);
    log_end(&l);
    for (unsigned i = 0; i < rt->nthreads; i++) {
        event_active(rt->threads[i].abort_ev, EV_TIMEOUT, 0);
    }
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct runtime *rt = arg;
    if (rt->signals++ > 0) {
        struct log_line l;
        log_begin(&l, LOG_WARN, "shutdown_forced_second_signal");
        log_str(&l, "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
        log_end(&l);
        /* Buffered lines (this one too) get a short, bounded chance. */
        (void)log_flush(BOUNDS_LOG_EXIT_FLUSH_MIN_MS);
        _exit(2); /* at once: no drain, no destructors racing the workers */
    }
    struct log_line l;
    log_begin(&l, LOG_INFO, "shutting_down");
    log_str(&l, "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
    log_double(&l, "timeout", (double)rt->cfg->shutdown_timeout_ms / 1000.0);
    log_end(&l);
    rt->shutdown_started_ms = clock_mono_ms();
    atomic_store(&rt->draining, true); /* /readyz says 503 from now on */
    for (unsigned i = 0; i < rt->nthreads; i++) {
        event_active(rt->threads[i].drain_ev, EV_TIMEOUT, 0);
    }
    uint64_t ms = rt->cfg->shutdown_timeout_ms;
    struct timeval tv = clock_timeval_from_ms(ms);
    event_add(rt->deadline_ev, &tv);
}

/* ---- process-wide timers and hooks ---- */

/* The public server's access-log predicate: ACCESS_LOG_SKIP_RE, through
 * the matcher app_new() built (log_skip.h; NULL matches nothing). */
static bool
access_log_skips(const void *arg, const char *path, size_t len)
{
    return log_skip_match(arg, path, len);
}

/* SPEC.md 4.6: idle subjects are reclaimed every two minutes. */
static void
on_prune(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    proxy_subject_limit_prune(rt->app->subject_limit, clock_mono_ms());
    ratelimit_sweep(rt->app->ratelimit, clock_unix_ms());
}

/* Gives memory back after a burst. glibc keeps freed heap memory for
 * reuse, and the request bodies and connection buffers of a burst are
 * thousands of small chunks spread over every worker's arena, so RSS stays
 * at the burst's height after the clients leave. Once buffered bodies have
 * fallen BOUNDS_MEMORY_TRIM_BODY_BYTES below their peak, or that many
 * connections closed, malloc_trim(0) returns the free pages of every arena
 * (MADV_DONTNEED). It runs on the control thread; a worker that allocates
 * meanwhile waits for its arena's lock for a moment. */
static void
on_trim(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runtime *rt = arg;
    uint64_t body_now = http_ip_budget_in_use(rt->body_budget);
    uint64_t conn_now = http_ip_budget_in_use(rt->conn_budget);
    uint64_t body_peak = http_ip_budget_take_peak(rt->body_budget);
    uint64_t conn_peak = http_ip_budget_take_peak(rt->conn_budget);
    rt->body_peak = body_peak > rt->body_peak ? body_peak : rt->body_peak;
    rt->conn_peak = conn_peak > rt->conn_peak ? conn_peak : rt->conn_peak;
    if (rt->body_peak - body_now < BOUNDS_MEMORY_TRIM_BODY_BYTES &&
        rt->conn_peak - conn_now < BOUNDS_MEMORY_TRIM_CONNECTIONS) {
        return;
    }
    uint64_t from_body = rt->body_peak;
    rt->body_peak = body_now;
    rt->conn_peak = conn_now;
    int released = malloc_trim(0);
    if (log_enabled(LOG_DEBUG)) {
        struct log_line l;
        log_begin(&l, LOG_DEBUG, "memory_trimmed");
        log_uint(&l, "body_peak", from_body);
        log_uint(&l, "body_now", body_now);
        log_bool(&l, "released", released != 0);
        log_end(&l);
    }
}

/* ---- client connection caps ---- */

/* Go programs raise their soft RLIMIT_NOFILE to the hard limit at start;
 * so do we, so the connection cap below has room. Returns the soft limit
 * in force afterwards (0 when it cannot be read). */
static uint64_t
raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return 0;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
            rl.rlim_cur = rl.rlim_max;
        }
    }
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

/* MAX_CLIENT_CONNECTIONS, or (0) what the descriptor limit allows: the
 * fixed descriptors (listeners, Redis, curl, each worker's idle upstream
 * pool) first, then half of the rest, so every client connection can have
 * its upstream connection. */
static uint64_t
client_connection_cap(const struct config *c, unsigned workers, uint64_t nofile)
{
    if (c->max_client_connections != 0) {
        return c->max_client_connections;
    }
    if (nofile == 0) {
        nofile = 1024; /* unreadable: assume the usual soft default */
    }
    uint64_t reserve = BOUNDS_FD_RESERVE_FIXED + (uint64_t)workers * BOUNDS_FD_RESERVE_PER_WORKER;
    uint64_t cap = nofile > reserve ? (nofile - reserve) / 2 : 0;
    if (cap < BOUNDS_CLIENT_CONNECTIONS_AUTO_MIN) {
        cap = BOUNDS_CLIENT_CONNECTIONS_AUTO_MIN;
    }
    return cap < BOUNDS_CLIENT_CONNECTIONS_AUTO_MAX ? cap : BOUNDS_CLIENT_CONNECTIONS_AUTO_MAX;
}

static uint64_t
gauge_in_use(const void *arg)
{
    return http_ip_budget_in_use(arg);
}

static void
start_limits(struct runtime *rt)
{
    const struct config *c = rt->cfg;
    uint64_t nofile = raise_nofile();
    uint64_t cap = client_connection_cap(c, rt->nthreads, nofile);
    rt->conn_budget = http_ip_budget_new(cap, c->max_client_connections_per_ip);
    rt->body_budget =
        http_ip_budget_new(c->request_body_buffer_max, c->request_body_buffer_per_ip_max);
    metrics_set_gauge_fn_arg("mcp_auth_client_connections", "Open client connections.",
                             gauge_in_use, rt->conn_budget);
    metrics_set_gauge_fn_arg("mcp_auth_request_body_buffered_bytes",
                             "Bytes of request bodies buffered right now.", gauge_in_use,
                             rt->body_budget);
    struct log_line l;
    log_begin(&l, LOG_INFO, "client_limits");
    log_uint(&l, "max_connections", cap);
    log_uint(&l, "max_connections_per_ip", c->max_client_connections_per_ip);
    log_uint(&l, "nofile", nofile == UINT64_MAX ? 0 : nofile);
    log_uint(&l, "body_buffer_max", c->request_body_buffer_max);
    log_uint(&l, "body_buffer_per_ip_max", c->request_body_buffer_per_ip_max);
    log_end(&l);
}

static int
start_app(struct runtime *rt)
{
    /* Until the control loop takes the signals over, a SIGTERM/SIGINT only
     * raises a flag that the blocking start-up steps poll. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_startup_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (rt->cfg->policy_file != NULL) {
        /* A reload asked for before the loop runs is moot (the file is
         * read below), and must not kill the process. */
        signal(SIGHUP, SIG_IGN);
    }

    struct buf err;
    buf_init(&err, 1024);
    const char *event = "startup_failed";
    int rc = app_start(rt->app, &startup_stop, &event, &err);
    if (rc == 0 && atomic_load(&startup_stop)) {
        event = "startup_interrupted";
    }
    if (rc != 0 || atomic_load(&startup_stop)) {
        const char *why = rc != 0 ? buf_cstr(&err) : "interrupted by a signal during start-up";
        struct log_line l;
        log_begin(&l, LOG_ERROR, event);
        log_str(&l, "error", why);
        log_end(&l);
        fprintf(stderr, "fatal: %s: %s\n", event, why);
        rc = -1;
    }
    buf_cleanup(&err);
    return rc;
}

/* ---- start-up ---- */

/* The control loop: signals, the drain deadline, the workers' doorbell,
 * the periodic sweeps and the revocation subscriber. */
static int
start_control(struct runtime *rt)
{
    rt->control = new_worker(rt, WORKER_CONTROL_ID);
    if (rt->control == NULL) {
        fprintf(stderr, "fatal: event loop setup failed\n");
        return -1;
    }
    struct event_base *base = rt->control->base;
    rt->sigterm_ev = evsignal_new(base, SIGTERM, on_signal, rt);
    rt->sigint_ev = evsignal_new(base, SIGINT, on_signal, rt);
    rt->deadline_ev = evtimer_new(base, on_deadline, rt);
    rt->thread_done_ev = event_new(base, -1, 0, on_thread_done, rt);
    rt->prune_ev = event_new(base, -1, EV_PERSIST, on_prune, rt);
    struct timeval prune_tv = clock_timeval_from_ms(BOUNDS_SUBJECT_PRUNE_INTERVAL_MS);
    event_add(rt->prune_ev, &prune_tv);
    /* One subscriber per process keeps the revoked set current (the
     * start-up fill in app_start already read it once). */
    rt->revocations = revocation_subscriber_new(rt->app->store_backend, base);
    rt->trim_ev = event_new(base, -1, EV_PERSIST, on_trim, rt);
    struct timeval trim_tv = clock_timeval_from_ms(BOUNDS_MEMORY_TRIM_CHECK_MS);
    event_add(rt->trim_ev, &trim_tv);
    return 0;
}

static int
start_metrics(struct runtime *rt)
{
    const struct config_listen *addr = &rt->cfg->metrics_listen;
    struct buf err;
    buf_init(&err, 512);
    int fd = http_server_bind(addr->host, addr->port, false, &err);
    if (fd < 0) {
        /* SPEC preface fix 8: fatal, where Go only logged and ran on. */
        log_fatal_start("metrics_listen_error", "METRICS_ADDR", addr->text, buf_cstr(&err));
        buf_cleanup(&err);
        return -1;
    }
    buf_cleanup(&err);
    const struct http_server_opts opts = {
        .router = rt->metrics_router,
        .is_public = false,
        .head_timeout_ms = BOUNDS_METRICS_READ_TIMEOUT_MS,
        .body_timeout_ms = BOUNDS_METRICS_READ_TIMEOUT_MS,
        .idle_timeout_ms = BOUNDS_IDLE_TIMEOUT_MS,
        .write_timeout_ms = BOUNDS_METRICS_WRITE_TIMEOUT_MS,
        .keepalive = rt->app->keepalive,
    };
    rt->metrics = http_server_new(rt->control, &opts);
    if (http_server_listen_fd(rt->metrics, fd) != 0) {
        log_fatal_start("metrics_listen_error", "METRICS_ADDR", addr->text,
                        "listener setup failed");
        return -1;
    }
    struct log_line l;
    log_begin(&l, LOG_INFO, "metrics_listening");
    log_str(&l, "addr", addr->text);
    log_uint(&l, "port", http_server_port(rt->metrics));
    log_end(&l);
    return 0;
}

static int
start_public(struct runtime *rt)
{
    const struct config *c = rt->cfg;
    const struct config_listen *addr = &c->listen;
    const struct http_server_opts opts = {
        .router = rt->public_router,
        .is_public = true,
        .access_log_skip = access_log_skips,
        .access_log_skip_arg = rt->app->log_skip,
        .head_timeout_ms = BOUNDS_HEAD_TIMEOUT_MS,
        .body_timeout_ms = BOUNDS_BODY_TIMEOUT_MS,
        .idle_timeout_ms = BOUNDS_IDLE_TIMEOUT_MS,
        /* SPEC.md 8.2 has no write timeout (streams live on); ours runs only
         * while output waits and nothing drains, so a quiet stream lives on
         * and a client that stopped reading does not. */
        .write_timeout_ms = c->client_write_stall_timeout_ms,
        .keepalive = rt->app->keepalive,
        .conn_budget = rt->conn_budget,
        .trusted_peers = c->trusted_proxy_cidrs,
        .trusted_peer_count = c->trusted_proxy_cidr_count,
        .body_budget = rt->body_budget,
        .client_key = rate_limit_site_client_key,
        .client_key_arg = &rt->rate_limit,
    };
    uint16_t port = addr->port;
    for (unsigned i = 0; i < rt->nthreads; i++) {
        struct worker_thread *t = &rt->threads[i];
        t->rt = rt;
        t->w = new_worker(rt, i);
        if (t->w == NULL) {
            log_fatal_start("listen_error", "LISTEN_ADDR", addr->text, "event loop setup failed");
            return -1;
        }
        t->drain_ev = event_new(t->w->base, -1, 0, on_worker_drain, t);
        t->abort_ev = event_new(t->w->base, -1, 0, on_worker_abort, t);
        t->server = http_server_new(t->w, &opts);
        struct buf err;
        buf_init(&err, 512);
        /* Port 0 (tests): the first socket picks one, the others join it. */
        int fd = http_server_bind(addr->host, port, true, &err);
        if (fd < 0 || http_server_listen_fd(t->server, fd) != 0) {
            log_fatal_start("listen_error", "LISTEN_ADDR", addr->text,
                            fd < 0 ? buf_cstr(&err) : "listener setup failed");
            buf_cleanup(&err);
            return -1;
        }
        buf_cleanup(&err);
        port = http_server_port(t->server);
    }
    struct log_line l;
    log_begin(&l, LOG_INFO, "listening");
    log_str(&l, "addr", addr->text);
    log_uint(&l, "port", port);
    log_uint(&l, "workers", rt->nthreads);
    log_end(&l);
    return 0;
}

/* FORWARD_AUTH_ADDR: one more server per worker, as the public one
 * (SO_REUSEPORT), so decisions scale with WORKERS and use each worker's
 * cache of opened tokens. No rate limiter or connection caps: its only
 * client is the gateway, which limits its own clients. */
static int
start_forward_auth(struct runtime *rt)
{
    const struct config_listen *addr = &rt->cfg->forward_auth_listen;
    if (addr->text == NULL) {
        return 0;
    }
    const struct http_server_opts opts = {
        .router = rt->forward_auth_router,
        .is_public = false,
        .head_timeout_ms = BOUNDS_HEAD_TIMEOUT_MS,
        .body_timeout_ms = BOUNDS_BODY_TIMEOUT_MS,
        .idle_timeout_ms = BOUNDS_IDLE_TIMEOUT_MS,
        .write_timeout_ms = BOUNDS_METRICS_WRITE_TIMEOUT_MS,
        .keepalive = rt->app->keepalive,
    };
    uint16_t port = addr->port;
    for (unsigned i = 0; i < rt->nthreads; i++) {
        struct worker_thread *t = &rt->threads[i];
        t->forward_auth = http_server_new(t->w, &opts);
        struct buf err;
        buf_init(&err, 512);
        int fd = http_server_bind(addr->host, port, true, &err);
        if (fd < 0 || http_server_listen_fd(t->forward_auth, fd) != 0) {
            log_fatal_start("forward_auth_listen_error", "FORWARD_AUTH_ADDR", addr->text,
                            fd < 0 ? buf_cstr(&err) : "listener setup failed");
            buf_cleanup(&err);
            return -1;
        }
        buf_cleanup(&err);
        port = http_server_port(t->forward_auth);
    }
    struct log_line l;
    log_begin(&l, LOG_INFO, "forward_auth_listening");
    log_str(&l, "addr", addr->text);
    log_uint(&l, "port", port);
    log_end(&l);
    return 0;
}

static int
start_threads(struct runtime *rt)
{
    /* Signals belong to the control loop: workers start with them blocked. */
    sigset_t block;
    sigset_t old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = 0;
    for (unsigned i = 0; i < rt->nthreads && rc == 0; i++) {
        struct worker_thread *t = &rt->threads[i];
        if (pthread_create(&t->thread, NULL, worker_main, t) != 0) {
            rc = -1;
            break;
        }
        t->started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static void
log_starting(void)
{
    struct log_line l;
    log_begin(&l, LOG_INFO, "starting");
    log_str(&l, "version", MAP_VERSION);
    log_str(&l, "commit", MAP_COMMIT);
    log_str(&l, "built_at", MAP_BUILD_TIME);
    log_end(&l);
}

static void
teardown(struct runtime *rt)
{
    for (unsigned i = 0; i < rt->nthreads; i++) {
        struct worker_thread *t = &rt->threads[i];
        if (t->started) {
            /* A worker that never drained (start-up failed elsewhere). */
            event_base_loopexit(t->w->base, NULL);
            pthread_join(t->thread, NULL);
        }
    }
    for (unsigned i = 0; i < rt->nthreads; i++) {
        struct worker_thread *t = &rt->threads[i];
        if (t->w == NULL) {
            continue;
        }
        http_server_free(t->server);
        http_server_free(t->forward_auth);
        if (t->drain_ev != NULL) {
            event_free(t->drain_ev);
        }
        if (t->abort_ev != NULL) {
            event_free(t->abort_ev);
        }
        /* A thread that ran closed its worker's slots itself; one that
         * never started (start-up failed) never used them, so worker_free
         * closes them here. */
        worker_free(t->w);
    }
    xfree(rt->threads);
    http_server_free(rt->metrics);
    if (rt->control != NULL) {
        if (rt->sigterm_ev != NULL) {
            event_free(rt->sigterm_ev);
        }
        if (rt->sigint_ev != NULL) {
            event_free(rt->sigint_ev);
        }
        if (rt->deadline_ev != NULL) {
            event_free(rt->deadline_ev);
        }
        if (rt->thread_done_ev != NULL) {
            event_free(rt->thread_done_ev);
        }
        if (rt->prune_ev != NULL) {
            event_free(rt->prune_ev);
        }
        policy_reload_free(rt->policy_reload);
        if (rt->trim_ev != NULL) {
            event_free(rt->trim_ev);
        }
        revocation_subscriber_free(rt->revocations);
        worker_run_deferred(rt->control);
        worker_slots_close(rt->control);
        worker_free(rt->control);
    }
    http_router_free(rt->public_router);
    rate_limit_site_cleanup(&rt->rate_limit);
    http_router_free(rt->metrics_router);
    http_router_free(rt->forward_auth_router);
    app_free(rt->app);
    /* Every connection and request is gone: nothing is held any more. The
     * gauges keep pointing here only until the process exits. */
    http_ip_budget_free(rt->conn_budget);
    http_ip_budget_free(rt->body_budget);
}

/* How long the buffered log lines may take to reach stdout at exit: what
 * is left of SHUTDOWN_TIMEOUT, within the bounds.h limits. */
static uint64_t
log_flush_budget_ms(const struct runtime *rt)
{
    uint64_t left = BOUNDS_LOG_EXIT_FLUSH_MAX_MS;
    if (rt->signals > 0) {
        uint64_t end = rt->shutdown_started_ms + rt->cfg->shutdown_timeout_ms;
        uint64_t now = clock_mono_ms();
        left = end > now ? end - now : 0;
    }
    if (left < BOUNDS_LOG_EXIT_FLUSH_MIN_MS) {
        return BOUNDS_LOG_EXIT_FLUSH_MIN_MS;
    }
    return left > BOUNDS_LOG_EXIT_FLUSH_MAX_MS ? BOUNDS_LOG_EXIT_FLUSH_MAX_MS : left;
}

/* LOG_FORMAT, or by default console on a terminal and JSON otherwise. */
static enum log_format
log_format_of(const struct config *cfg)
{
    if (cfg->log_format != NULL) {
        return strcmp(cfg->log_format, "console") == 0 ? LOG_FORMAT_CONSOLE : LOG_FORMAT_JSON;
    }
    return isatty(STDOUT_FILENO) ? LOG_FORMAT_CONSOLE : LOG_FORMAT_JSON;
}

/* After the drain. Removing the signal events in teardown restores the
 * default actions, so a late SIGTERM would kill us mid-teardown: block
 * them; nothing is left for a signal to change. */
static void
block_late_signals(void)
{
    sigset_t late;
    sigemptyset(&late);
    sigaddset(&late, SIGTERM);
    sigaddset(&late, SIGINT);
    sigaddset(&late, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &late, NULL);
}

int
runtime_run(const struct config *cfg)
{
    log_set_level((enum log_level)cfg->log_level);
    log_set_format(log_format_of(cfg));
    log_starting();
    /* startup_config and the configuration warnings (SPEC.md 1.7) */
    config_report_log_startup(cfg);
    /* A client that vanishes mid-write must cost an EPIPE, not the process. */
    signal(SIGPIPE, SIG_IGN);
    /* A fixed mmap threshold: glibc otherwise raises it after the first
     * large free, and from then on large buffers come from the heap, where
     * a burst's memory stays after it is freed (see on_trim). */
    (void)mallopt(M_MMAP_THRESHOLD, BOUNDS_MALLOC_MMAP_THRESHOLD);
    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "fatal: libevent thread support unavailable\n");
        return 1;
    }

    struct runtime rt = {.cfg = cfg};
    atomic_init(&rt.draining, false);
    atomic_init(&rt.threads_done, 0);
    rt.app = app_new(cfg);
    rt.public_router = http_router_new();
    rt.metrics_router = http_router_new();
    rt.nthreads = cfg->workers > 0 ? cfg->workers : 1;
    rt.threads = xcalloc(rt.nthreads, sizeof(rt.threads[0]));
    start_limits(&rt);
    int rc = 1;
    if (start_app(&rt) != 0) {
        goto out;
    }
    rate_limit_site_init(&rt.rate_limit, cfg, rt.app->ratelimit);
    routes_build(rt.public_router, rt.app);
    rate_limit_site_install(&rt.rate_limit, cfg, rt.public_router);
    rt.health = (struct http_health){
        .ready = rt.app->ready_probe,
        .ready_arg = rt.app->ready_probe_arg,
        .draining = &rt.draining,
    };
    http_health_add_metrics_routes(rt.metrics_router, &rt.health);
    if (cfg->forward_auth_listen.text != NULL) {
        rt.forward_auth_router = http_router_new();
        routes_build_forward_auth(rt.forward_auth_router, rt.app);
    }

    if (start_control(&rt) != 0) {
        goto out;
    }
    if (start_metrics(&rt) != 0 || start_public(&rt) != 0 || start_forward_auth(&rt) != 0) {
        goto out;
    }
    event_add(rt.sigterm_ev, NULL);
    event_add(rt.sigint_ev, NULL);
    rt.policy_reload = policy_reload_start(rt.control->base, rt.app, cfg->policy_file);
    if (atomic_load(&startup_stop)) {
        /* A signal that came between the start-up steps and the events
         * above only raised the flag: honour it as the first signal. */
        on_signal(SIGTERM, EV_SIGNAL, &rt);
    }
    /* Start-up lines so far were written directly; from here on lines are
     * buffered and a writer thread waits for stdout (log.h). */
    if (!log_writer_start()) {
        fprintf(stderr, "warning: log writer thread unavailable; logging directly\n");
    }
    if (start_threads(&rt) != 0) {
        fprintf(stderr, "fatal: cannot start worker threads\n");
        goto out;
    }
    event_base_loop(rt.control->base, EVLOOP_NO_EXIT_ON_EMPTY);
    block_late_signals();
    rc = 0;
out:
    teardown(&rt);
    /* A stalled stdout cannot hold the exit: the flush is bounded. */
    (void)log_writer_stop(log_flush_budget_ms(&rt));
    return rc;
}
