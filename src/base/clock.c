#include "base/clock.h"

#include <stdatomic.h>
#include <time.h>

static _Atomic int64_t fixed_unix_s;

uint64_t
clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
clock_mono_ms(void)
{
    return clock_mono_ns() / 1000000u;
}

void
clock_unix_now(int64_t *out_s, int32_t *out_ns)
{
    int64_t fixed = atomic_load_explicit(&fixed_unix_s, memory_order_relaxed);
    if (fixed != 0) {
        *out_s = fixed;
        *out_ns = 0;
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *out_s = (int64_t)ts.tv_sec;
    *out_ns = (int32_t)ts.tv_nsec;
}

int64_t
clock_unix_s(void)
{
    int64_t s;
    int32_t ns;
    clock_unix_now(&s, &ns);
    return s;
}

int64_t
clock_unix_ms(void)
{
    int64_t s;
    int32_t ns;
    clock_unix_now(&s, &ns);
    return s * 1000 + ns / 1000000;
}

void
clock_set_fixed_unix(int64_t unix_s)
{
    atomic_store(&fixed_unix_s, unix_s);
}

struct timeval
clock_timeval_from_ms(uint64_t ms)
{
    return (struct timeval){.tv_sec = (time_t)(ms / 1000),
                            .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}
