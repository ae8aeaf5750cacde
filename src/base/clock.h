/* The only source of time in the project.
 *
 * Two time types, one per use (STYLE.md 3.3): monotonic milliseconds for
 * timers and durations, Unix seconds for token times. Tests pin the wall
 * clock with clock_set_fixed_unix() so expiry is tested without sleeping. */
#pragma once

#include <stdint.h>
#include <sys/time.h>

/* Monotonic milliseconds since an arbitrary point; never goes back. */
uint64_t clock_mono_ms(void);
/* Monotonic nanoseconds, for request durations. */
uint64_t clock_mono_ns(void);
/* Wall-clock Unix seconds (or the fixed test value). */
int64_t clock_unix_s(void);
/* Wall-clock Unix milliseconds (or the fixed test value * 1000). */
int64_t clock_unix_ms(void);
/* Wall-clock Unix time split into seconds and nanoseconds. */
void clock_unix_now(int64_t *out_s, int32_t *out_ns);

/* A duration in milliseconds as the struct timeval libevent timers take
 * (1500 -> {1, 500000}). Pure arithmetic: it reads no clock. */
struct timeval clock_timeval_from_ms(uint64_t ms);

/* Tests only: pin the wall clock to `unix_s` (0 restores the real clock).
 * Affects clock_unix_* only; monotonic time stays real. */
void clock_set_fixed_unix(int64_t unix_s);
