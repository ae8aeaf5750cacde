#include "loop.h"

#include <event2/event.h>
#include <stddef.h>

#include "base/clock.h"

/* The longest one round of the loop blocks. */
#define LOOP_TICK_MS 10

/* What the loop waits for: a flag, a counter, or nothing (run out the
 * limit). */
struct loop_goal {
    const bool *flag;
    const int *calls;
};

static bool
reached(const struct loop_goal *g)
{
    if (g->flag != NULL) {
        return *g->flag;
    }
    if (g->calls != NULL) {
        return *g->calls != 0;
    }
    return false;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static bool
run(struct event_base *base, const struct loop_goal *g, uint64_t limit_ms)
{
    uint64_t end = clock_mono_ms() + limit_ms;
    struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = clock_timeval_from_ms(LOOP_TICK_MS);
    event_add(tick, &tv);
    while (!reached(g) && clock_mono_ms() < end) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    event_free(tick);
    return reached(g);
}

bool
loop_run_until(struct event_base *base, const bool *done, uint64_t limit_ms)
{
    const struct loop_goal g = {.flag = done};
    return run(base, &g, limit_ms);
}

bool
loop_run_until_called(struct event_base *base, const int *calls, uint64_t limit_ms)
{
    const struct loop_goal g = {.calls = calls};
    return run(base, &g, limit_ms);
}

void
loop_run_for(struct event_base *base, uint64_t ms)
{
    const struct loop_goal g = {0};
    (void)run(base, &g, ms);
}
