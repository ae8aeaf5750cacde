#include "oidc/throttle.h"

#include <math.h>
#include <pthread.h>

#include "base/clock.h"
#include "base/xalloc.h"

struct oidc_throttle {
    pthread_mutex_t lock;
    bool off;           /* rate <= 0: no throttling */
    double rate_per_ms; /* tokens added per millisecond */
    double capacity;    /* burst */
    double tokens;      /* available now, 0..capacity */
    uint64_t last_ms;   /* monotonic time of the last refill */
};

struct oidc_throttle *
oidc_throttle_new(double rate_per_sec, unsigned burst)
{
    struct oidc_throttle *t = xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    /* !(x > 0) also catches NaN. An infinite rate is "no limit" too. */
    t->off = !(rate_per_sec > 0) || isinf(rate_per_sec);
    t->rate_per_ms = t->off ? 0 : rate_per_sec / 1000.0;
    t->capacity = burst == 0 ? 1.0 : (double)burst;
    t->tokens = t->capacity; /* SPEC.md 6.7: starts full */
    t->last_ms = clock_mono_ms();
    return t;
}

void
oidc_throttle_free(struct oidc_throttle *t)
{
    if (t == NULL) {
        return;
    }
    pthread_mutex_destroy(&t->lock);
    xfree(t);
}

bool
oidc_throttle_take_at(struct oidc_throttle *t, uint64_t now_ms)
{
    if (t == NULL || t->off) {
        return true;
    }
    pthread_mutex_lock(&t->lock);
    if (now_ms > t->last_ms) {
        double refill = (double)(now_ms - t->last_ms) * t->rate_per_ms;
        t->tokens = fmin(t->capacity, t->tokens + refill);
        t->last_ms = now_ms;
    }
    /* Refills are summed in floating point, so a full token may read as
     * 0.9999999999; the epsilon keeps "exactly one interval later" exact. */
    bool ok = t->tokens >= 1.0 - 1e-9;
    if (ok) {
        t->tokens = fmax(0.0, t->tokens - 1.0);
    }
    pthread_mutex_unlock(&t->lock);
    return ok;
}

bool
oidc_throttle_take(struct oidc_throttle *t)
{
    if (t == NULL || t->off) {
        return true;
    }
    return oidc_throttle_take_at(t, clock_mono_ms());
}
