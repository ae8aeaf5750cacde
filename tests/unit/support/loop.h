/* The one event-loop driver of the unit tests: run a base until the
 * callback under test has answered, or a generous real-time limit passes
 * (the test's assertion then says what did not happen). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct event_base;

/* Runs base until *done is true or limit_ms of monotonic time pass; done
 * NULL runs for the whole limit. Returns *done (false for NULL). Callbacks
 * run as they become active, and the condition is checked after each
 * round; a LOOP_TICK_MS timer bounds every wait, so the deadline and work
 * finished on other threads are noticed. */
bool loop_run_until(struct event_base *base, const bool *done, uint64_t limit_ms);
/* The same, until *calls is non-zero (a callback's call counter). */
bool loop_run_until_called(struct event_base *base, const int *calls, uint64_t limit_ms);
/* Runs base for ms: timers and stragglers of the test run out. */
void loop_run_for(struct event_base *base, uint64_t ms);
