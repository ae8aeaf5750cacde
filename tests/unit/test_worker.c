/* worker: the generic slots the wiring fills (set/get, closed last
 * attached first, each once) and the deferred frees (run after the
 * current callback returns to the loop, never from inside worker_defer). */
#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "worker.h"

/* What the close functions saw, in order. */
static const void *closed[WORKER_SLOT_COUNT * 2];
static size_t closed_n;

static void
record_close(void *handle)
{
    assert_true(closed_n < sizeof(closed) / sizeof(closed[0]));
    closed[closed_n++] = handle;
}

static int
reset(void **state)
{
    (void)state;
    memset(closed, 0, sizeof(closed));
    closed_n = 0;
    return 0;
}

static void
test_slots_set_get(void **state)
{
    (void)state;
    struct worker *w = worker_new(3);
    assert_non_null(w);
    assert_int_equal(w->id, 3);
    for (int s = 0; s < WORKER_SLOT_COUNT; s++) {
        assert_null(worker_slot_get(w, (enum worker_slot)s));
    }
    int store = 0;
    worker_slot_set(w, WORKER_SLOT_STORE, &store, record_close);
    assert_ptr_equal(worker_slot_get(w, WORKER_SLOT_STORE), &store);
    assert_null(worker_slot_get(w, WORKER_SLOT_FETCH));
    assert_null(worker_slot_get(w, WORKER_SLOT_UPSTREAM_POOL));
    worker_free(w);
    assert_int_equal(closed_n, 1); /* worker_free closes what is still attached */
    assert_ptr_equal(closed[0], &store);
}

/* Last attached first, whatever the slot numbers (neither index order nor
 * its reverse): a later handle may use an earlier one. Each is closed
 * once; the slots are empty afterwards, and a slot without a close
 * function is just emptied. */
static void
test_slots_close_order(void **state)
{
    (void)state;
    struct worker *w = worker_new(0);
    assert_non_null(w);
    int pool = 0, fetch = 0, store = 0;
    worker_slot_set(w, WORKER_SLOT_STORE, &store, record_close);
    worker_slot_set(w, WORKER_SLOT_UPSTREAM_POOL, &pool, record_close);
    worker_slot_set(w, WORKER_SLOT_FETCH, &fetch, record_close);
    worker_slots_close(w);
    assert_int_equal(closed_n, 3);
    assert_ptr_equal(closed[0], &fetch);
    assert_ptr_equal(closed[1], &pool);
    assert_ptr_equal(closed[2], &store);
    for (int s = 0; s < WORKER_SLOT_COUNT; s++) {
        assert_null(worker_slot_get(w, (enum worker_slot)s));
    }
    worker_slots_close(w); /* nothing left: closes nothing again */
    assert_int_equal(closed_n, 3);
    /* An emptied slot can be filled again; no close function: emptied only. */
    worker_slot_set(w, WORKER_SLOT_STORE, &store, NULL);
    worker_slot_set(w, WORKER_SLOT_FETCH, &fetch, record_close);
    worker_free(w);
    assert_int_equal(closed_n, 4);
    assert_ptr_equal(closed[3], &fetch);
}

/* ---- deferred frees ---- */

struct defer_log {
    struct worker *w;
    int order[8];
    size_t n;
    bool in_callback;
};

static struct defer_log dl;

static void
deferred_a(void *arg)
{
    assert_false(dl.in_callback); /* never from inside worker_defer's caller */
    dl.order[dl.n++] = (int)(intptr_t)arg;
    if ((intptr_t)arg == 1) {
        /* A deferred call may defer more; it runs in the same pass. */
        worker_defer(dl.w, deferred_a, (void *)(intptr_t)3);
    }
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    dl.in_callback = true;
    worker_defer(dl.w, deferred_a, (void *)(intptr_t)1);
    worker_defer(dl.w, deferred_a, (void *)(intptr_t)2);
    assert_int_equal(dl.n, 0);
    dl.in_callback = false;
}

static void
test_defer_after_callback(void **state)
{
    (void)state;
    memset(&dl, 0, sizeof(dl));
    dl.w = worker_new(1);
    assert_non_null(dl.w);
    struct timeval tv = {0, 0};
    assert_int_equal(event_base_once(dl.w->base, -1, EV_TIMEOUT, on_timer, NULL, &tv), 0);
    /* Runs until nothing is pending: the timer, then the deferred pass. */
    assert_true(event_base_dispatch(dl.w->base) >= 0);
    assert_int_equal(dl.n, 3);
    assert_int_equal(dl.order[0], 1);
    assert_int_equal(dl.order[1], 2);
    assert_int_equal(dl.order[2], 3);
    worker_free(dl.w);
}

/* At teardown the loop no longer runs: worker_free runs what is pending. */
static void
test_defer_run_at_free(void **state)
{
    (void)state;
    memset(&dl, 0, sizeof(dl));
    dl.w = worker_new(2);
    assert_non_null(dl.w);
    worker_defer(dl.w, deferred_a, (void *)(intptr_t)2);
    assert_int_equal(dl.n, 0);
    worker_free(dl.w);
    assert_int_equal(dl.n, 1);
    assert_int_equal(dl.order[0], 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_slots_set_get, reset),
        cmocka_unit_test_setup(test_slots_close_order, reset),
        cmocka_unit_test(test_defer_after_callback),
        cmocka_unit_test(test_defer_run_at_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
