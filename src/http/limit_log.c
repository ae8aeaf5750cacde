#include "http/limit_log.h"

#include <stdatomic.h>
#include <stdint.h>

#include "base/clock.h"
#include "bounds.h"

/* When each limit event was last logged (process-wide: the caps are). */
static _Atomic uint64_t logged_at[HTTP_LIMIT_LOG_COUNT];

bool
http_limit_log_due(enum http_limit_log which)
{
    _Atomic uint64_t *last_ms = &logged_at[which];
    uint64_t now = clock_mono_ms();
    uint64_t last = atomic_load_explicit(last_ms, memory_order_relaxed);
    if (last != 0 && now - last < BOUNDS_LIMIT_LOG_INTERVAL_MS) {
        return false;
    }
    return atomic_compare_exchange_strong_explicit(last_ms, &last, now, memory_order_relaxed,
                                                   memory_order_relaxed);
}
