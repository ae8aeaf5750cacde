/* The outbound IdP exchange throttle (SPEC.md 6.7): one token bucket per
 * process, shared by every worker, guarding the code exchange /callback
 * makes with the IdP's token endpoint.
 *
 * The bucket holds at most `burst` tokens, starts full and refills at
 * `rate_per_sec` tokens per second (fractions accumulate, so 0.5/s is one
 * exchange every two seconds). Taking never waits: an empty bucket answers
 * "no" at once and the handler replies 503 (SPEC.md 3.7 step 7). A rate of
 * 0 (IDP_EXCHANGE_RATE_PER_SEC's default) switches the throttle off.
 *
 * Thread-safe: the bucket is behind a mutex that only this module touches.
 * Time is base/clock's monotonic milliseconds, so wall-clock steps neither
 * refill nor drain it. Nothing here logs or counts. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct oidc_throttle;

/* A full bucket of `burst` tokens (0 is taken as 1) refilling at
 * rate_per_sec; rate_per_sec <= 0 (or NaN) makes every take succeed.
 * Never NULL; free with oidc_throttle_free. */
struct oidc_throttle *oidc_throttle_new(double rate_per_sec, unsigned burst);
/* NULL is a no-op. */
void oidc_throttle_free(struct oidc_throttle *t);

/* Takes one token now: true when one was available (the exchange may go),
 * false when the bucket is empty. NULL (no throttle) is always true. */
bool oidc_throttle_take(struct oidc_throttle *t);
/* The same at a given monotonic time in milliseconds (tests drive the
 * clock through it). A time earlier than the last one seen refills
 * nothing. */
bool oidc_throttle_take_at(struct oidc_throttle *t, uint64_t now_ms);
