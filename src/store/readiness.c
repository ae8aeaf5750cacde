/* The cached, single-flight readiness answer (see readiness.h).
 *
 * Everything shared sits behind one mutex: the cached answer, the probe in
 * flight and the list of waiters. A waiter is an event on its own loop; it
 * is armed with the probe timeout and, when a probe answers, activated
 * from the prober's thread while the mutex is held. The waiter's state
 * (waiting / answered / done), read and written only under the mutex,
 * decides who delivers: whoever moves it out of "waiting" owns the answer,
 * and the waiter's own thread frees the event (which also discards an
 * activation that raced with its timeout). */
#include "store/readiness.h"

#include <assert.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/queue.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "store/store_int.h"

enum wait_state {
    WAIT_WAITING = 0, /* in the waiter list */
    WAIT_ANSWERED,    /* answer set, event activated */
    WAIT_DONE,        /* delivered or cancelled */
};

struct store_readiness_wait {
    TAILQ_ENTRY(store_readiness_wait) link;
    struct store_readiness *r;
    struct event *ev;
    enum wait_state state; /* guarded by r->lock */
    enum store_rc rc;      /* guarded by r->lock until DONE */
    char error[STORE_ERROR_MAX];
    store_done_fn cb;
    void *arg;
};

/* One probe in flight; outlives nothing but the readiness object. */
struct probe {
    TAILQ_ENTRY(probe) link;
    struct store_readiness *r;
    uint64_t gen;
};

struct store_readiness {
    pthread_mutex_t lock;
    store_readiness_clock_fn clock;
    bool have_answer; /* everything below: guarded by lock */
    enum store_rc rc;
    char error[STORE_ERROR_MAX];
    uint64_t answered_ms;
    bool probing;
    uint64_t probe_gen;
    uint64_t probe_started_ms;
    uint64_t probes;
    TAILQ_HEAD(wait_list, store_readiness_wait) waiters;
    TAILQ_HEAD(probe_list, probe) in_flight;
};

struct store_readiness *
store_readiness_new(store_readiness_clock_fn clock)
{
    struct store_readiness *r = xcalloc(1, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    r->clock = clock != NULL ? clock : clock_mono_ms;
    TAILQ_INIT(&r->waiters);
    TAILQ_INIT(&r->in_flight);
    return r;
}

void
store_readiness_free(struct store_readiness *r)
{
    if (r == NULL) {
        return;
    }
    assert(TAILQ_EMPTY(&r->waiters));
    struct probe *p;
    while ((p = TAILQ_FIRST(&r->in_flight)) != NULL) {
        TAILQ_REMOVE(&r->in_flight, p, link);
        xfree(p);
    }
    pthread_mutex_destroy(&r->lock);
    xfree(r);
}

uint64_t
store_readiness_probes(struct store_readiness *r)
{
    pthread_mutex_lock(&r->lock);
    uint64_t n = r->probes;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static void
set_answer(struct store_readiness_wait *w, enum store_rc rc, const char *error)
{
    w->rc = rc;
    snprintf(w->error, sizeof(w->error), "%s", error != NULL ? error : "");
    w->state = WAIT_ANSWERED;
}

/* The probe's answer, on the prober's loop: cache it and wake every waiter
 * on whatever loop it lives. A stale probe (one a later probe replaced)
 * is ignored. */
static void
on_probe_done(enum store_rc rc, const char *error, void *arg)
{
    struct probe *p = arg;
    struct store_readiness *r = p->r;
    pthread_mutex_lock(&r->lock);
    TAILQ_REMOVE(&r->in_flight, p, link);
    if (p->gen == r->probe_gen && r->probing) {
        r->probing = false;
        r->have_answer = true;
        r->rc = rc;
        snprintf(r->error, sizeof(r->error), "%s", error != NULL ? error : "");
        r->answered_ms = r->clock();
        struct store_readiness_wait *w;
        while ((w = TAILQ_FIRST(&r->waiters)) != NULL) {
            TAILQ_REMOVE(&r->waiters, w, link);
            set_answer(w, rc, error);
            event_active(w->ev, EV_TIMEOUT, 0);
        }
    }
    pthread_mutex_unlock(&r->lock);
    xfree(p);
}

/* The waiter's event, on its own loop: an answer arrived or the probe
 * timeout passed, whichever moved it out of "waiting" first. */
static void
on_wait(evutil_socket_t fd, short what, void *arg)
{
    struct store_readiness_wait *w = arg;
    struct store_readiness *r = w->r;
    char error[STORE_ERROR_MAX];
    (void)fd;
    (void)what;
    pthread_mutex_lock(&r->lock);
    if (w->state == WAIT_WAITING) {
        TAILQ_REMOVE(&r->waiters, w, link);
        set_answer(w, STORE_ERR_UNAVAILABLE, "readiness probe timed out");
    }
    w->state = WAIT_DONE;
    enum store_rc rc = w->rc;
    snprintf(error, sizeof(error), "%s", w->error);
    pthread_mutex_unlock(&r->lock);
    store_done_fn cb = w->cb;
    void *cb_arg = w->arg;
    event_free(w->ev);
    xfree(w);
    cb(rc, rc == STORE_OK ? NULL : error, cb_arg);
}

static bool
cache_is_fresh(const struct store_readiness *r, uint64_t now)
{
    if (!r->have_answer) {
        return false;
    }
    uint64_t ttl = r->rc == STORE_OK ? BOUNDS_READYZ_CACHE_OK_MS : BOUNDS_READYZ_CACHE_FAIL_MS;
    return now >= r->answered_ms && now - r->answered_ms < ttl;
}

struct store_readiness_wait *
store_readiness_check(struct store_readiness *r, struct store *s, store_done_fn cb, void *arg)
{
    struct store_readiness_wait *w = xcalloc(1, sizeof(*w));
    struct probe *p = NULL;
    w->r = r;
    w->cb = cb;
    w->arg = arg;
    w->ev = store_must(event_new(s->base, -1, 0, on_wait, w), "event_new");

    pthread_mutex_lock(&r->lock);
    uint64_t now = r->clock();
    if (cache_is_fresh(r, now)) {
        set_answer(w, r->rc, r->error);
        event_active(w->ev, EV_TIMEOUT, 0);
        pthread_mutex_unlock(&r->lock);
        return w;
    }
    w->state = WAIT_WAITING;
    TAILQ_INSERT_TAIL(&r->waiters, w, link);
    struct timeval tv = clock_timeval_from_ms(BOUNDS_READYZ_PROBE_TIMEOUT_MS);
    event_add(w->ev, &tv);
    /* A probe older than its timeout has been lost (its store was freed):
     * replace it rather than let every later caller time out. */
    if (!r->probing || now - r->probe_started_ms > BOUNDS_READYZ_PROBE_TIMEOUT_MS) {
        r->probing = true;
        r->probe_gen++;
        r->probe_started_ms = now;
        r->probes++;
        p = xcalloc(1, sizeof(*p));
        p->r = r;
        p->gen = r->probe_gen;
        TAILQ_INSERT_TAIL(&r->in_flight, p, link);
    }
    pthread_mutex_unlock(&r->lock);
    if (p != NULL) {
        /* Answers on a later turn of this loop: never under our lock. */
        (void)store_ping(s, on_probe_done, p);
    }
    return w;
}

void
store_readiness_cancel(struct store_readiness_wait *w)
{
    if (w == NULL) {
        return;
    }
    struct store_readiness *r = w->r;
    pthread_mutex_lock(&r->lock);
    if (w->state == WAIT_WAITING) {
        TAILQ_REMOVE(&r->waiters, w, link);
    }
    w->state = WAIT_DONE;
    pthread_mutex_unlock(&r->lock);
    event_free(w->ev);
    xfree(w);
}
