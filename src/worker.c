#include "worker.h"

#include <assert.h>
#include <event2/event.h>
#include <stdlib.h>

#include "base/xalloc.h"

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
worker_new(unsigned id)
{
    struct worker *w = xcalloc(1, sizeof(*w));
    w->id = id;
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
worker_slot_set(struct worker *w, enum worker_slot slot, void *handle, worker_slot_close_fn close)
{
    assert(slot < WORKER_SLOT_COUNT && w->slots[slot].handle == NULL);
    w->slots[slot].handle = handle;
    w->slots[slot].close = close;
    w->slots[slot].seq = ++w->slot_seq;
}

void *
worker_slot_get(const struct worker *w, enum worker_slot slot)
{
    assert(slot < WORKER_SLOT_COUNT);
    return w->slots[slot].handle;
}

void
worker_slots_close(struct worker *w)
{
    /* Last attached first: a later handle may use an earlier one. */
    for (;;) {
        int last = -1;
        for (int i = 0; i < WORKER_SLOT_COUNT; i++) {
            if (w->slots[i].handle != NULL && (last < 0 || w->slots[i].seq > w->slots[last].seq)) {
                last = i;
            }
        }
        if (last < 0) {
            break;
        }
        void *handle = w->slots[last].handle;
        worker_slot_close_fn close = w->slots[last].close;
        w->slots[last].handle = NULL;
        w->slots[last].close = NULL;
        if (close != NULL) {
            close(handle);
        }
    }
    worker_run_deferred(w); /* what the closing queued (idle upstream connections) */
}

void
worker_free(struct worker *w)
{
    if (w == NULL) {
        return;
    }
    worker_run_deferred(w);
    worker_slots_close(w);
    if (w->deferred_ev != NULL) {
        event_free(w->deferred_ev);
    }
    if (w->base != NULL) {
        event_base_free(w->base);
    }
    xfree(w);
}
