#include "worker.h"

#include <event2/event.h>
#include <stdlib.h>

#include "base/xalloc.h"
#include "fetch.h"
#include "proxy/pool.h"
#include "store/store.h"
#include "wiring/app.h"

struct worker_deferred {
    struct worker_deferred *next;
    worker_defer_fn fn;
    void *arg;
};

static void
on_deferred(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    worker_run_deferred(arg);
}

struct worker *
worker_new(unsigned id, const struct app *app)
{
    struct worker *w = xcalloc(1, sizeof(*w));
    w->id = id;
    w->app = app;
    w->base = event_base_new();
    if (w->base == NULL) {
        /* Only fails when the kernel refuses an epoll or a socketpair:
         * the process cannot run at all. */
        xfree(w);
        return NULL;
    }
    w->deferred_tail = &w->deferred;
    w->deferred_ev = event_new(w->base, -1, 0, on_deferred, w);
    if (w->deferred_ev == NULL) {
        event_base_free(w->base);
        xfree(w);
        return NULL;
    }
    return w;
}

void
worker_run_deferred(struct worker *w)
{
    /* A deferred call may defer more; those run in this same pass. */
    while (w->deferred != NULL) {
        struct worker_deferred *d = w->deferred;
        w->deferred = d->next;
        if (w->deferred == NULL) {
            w->deferred_tail = &w->deferred;
        }
        d->fn(d->arg);
        xfree(d);
    }
}

void
worker_defer(struct worker *w, worker_defer_fn fn, void *arg)
{
    struct worker_deferred *d = xmalloc(sizeof(*d));
    d->next = NULL;
    d->fn = fn;
    d->arg = arg;
    *w->deferred_tail = d;
    w->deferred_tail = &d->next;
    event_active(w->deferred_ev, EV_TIMEOUT, 0);
}

void
worker_attach_services(struct worker *w)
{
    w->fetch = fetch_new(w->base);
    if (w->app->store_backend != NULL) {
        w->store = store_new(w->app->store_backend, w->base);
    }
    if (w->id != WORKER_CONTROL_ID) {
        /* The public workers forward to the upstream MCP server. */
        w->upstream_pool = proxy_pool_new(w);
    }
}

void
worker_detach_services(struct worker *w)
{
    proxy_pool_free(w->upstream_pool); /* idle connections close; their frees are deferred */
    w->upstream_pool = NULL;
    store_free(w->store);
    w->store = NULL;
    fetch_free(w->fetch);
    w->fetch = NULL;
}

void
worker_free(struct worker *w)
{
    if (w == NULL) {
        return;
    }
    worker_run_deferred(w);
    if (w->deferred_ev != NULL) {
        event_free(w->deferred_ev);
    }
    if (w->base != NULL) {
        event_base_free(w->base);
    }
    xfree(w);
}
