/* proxy/subject_limit: per-subject concurrency (SPEC.md 4.6;
 * internal/subjectlimiter/limiter_test.go in SPEC.md 9). Times are fixed
 * monotonic milliseconds passed in; nothing sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "bounds.h"
#include "proxy/subject_limit.h"

#define T0 ((uint64_t)1000000)
#define MIN_MS ((uint64_t)60000)

static enum proxy_subject_limit_rc
acquire(struct proxy_subject_limit *l, const char *sub, uint64_t now,
        struct proxy_subject_slot *slot)
{
    return proxy_subject_limit_acquire(l, slice_from_cstr(sub), now, slot);
}

/* Middleware_CapEnforced: cap 2, the third concurrent request is refused;
 * a release frees a slot; subjects are independent. */
static void
test_cap(void **state)
{
    (void)state;
    struct proxy_subject_limit *l = proxy_subject_limit_new(2);
    struct proxy_subject_slot a1, a2, a3, b1;
    assert_int_equal(acquire(l, "alice", T0, &a1), PROXY_SUBJECT_LIMIT_OK);
    assert_non_null(a1.entry);
    assert_int_equal(acquire(l, "alice", T0, &a2), PROXY_SUBJECT_LIMIT_OK);
    assert_int_equal(acquire(l, "alice", T0, &a3), PROXY_SUBJECT_LIMIT_BUSY);
    assert_null(a3.entry);
    assert_int_equal(acquire(l, "bob", T0, &b1), PROXY_SUBJECT_LIMIT_OK);
    assert_int_equal(proxy_subject_limit_in_flight(l, SLICE_LIT("alice")), 2);
    assert_int_equal(proxy_subject_limit_in_flight(l, SLICE_LIT("bob")), 1);
    /* Prefixes and case are other subjects. */
    struct proxy_subject_slot x;
    assert_int_equal(acquire(l, "alic", T0, &x), PROXY_SUBJECT_LIMIT_OK);
    proxy_subject_limit_release(l, &x, T0);
    assert_int_equal(acquire(l, "Alice", T0, &x), PROXY_SUBJECT_LIMIT_OK);
    proxy_subject_limit_release(l, &x, T0);

    proxy_subject_limit_release(l, &a1, T0 + 1);
    assert_null(a1.entry);
    proxy_subject_limit_release(l, &a1, T0 + 1); /* a second release is a no-op */
    assert_int_equal(proxy_subject_limit_in_flight(l, SLICE_LIT("alice")), 1);
    assert_int_equal(acquire(l, "alice", T0 + 2, &a3), PROXY_SUBJECT_LIMIT_OK);
    assert_int_equal(acquire(l, "alice", T0 + 2, &a1), PROXY_SUBJECT_LIMIT_BUSY);
    proxy_subject_limit_release(l, &a2, T0 + 3);
    proxy_subject_limit_release(l, &a3, T0 + 3);
    proxy_subject_limit_release(l, &b1, T0 + 3);
    assert_int_equal(proxy_subject_limit_in_flight(l, SLICE_LIT("alice")), 0);
    proxy_subject_limit_free(l);
}

/* A slot is held until released however long that takes (streams). */
static void
test_long_hold(void **state)
{
    (void)state;
    struct proxy_subject_limit *l = proxy_subject_limit_new(1);
    struct proxy_subject_slot s, t;
    assert_int_equal(acquire(l, "streamer", T0, &s), PROXY_SUBJECT_LIMIT_OK);
    assert_int_equal(proxy_subject_limit_prune(l, T0 + 60 * MIN_MS), 0);
    assert_int_equal(acquire(l, "streamer", T0 + 60 * MIN_MS, &t), PROXY_SUBJECT_LIMIT_BUSY);
    proxy_subject_limit_release(l, &s, T0 + 60 * MIN_MS);
    assert_int_equal(acquire(l, "streamer", T0 + 60 * MIN_MS, &t), PROXY_SUBJECT_LIMIT_OK);
    proxy_subject_limit_release(l, &t, T0 + 60 * MIN_MS);
    proxy_subject_limit_free(l);
}

/* MCP_PER_SUBJECT_CONCURRENCY=0 and Middleware_Passthrough_NoSubject. */
static void
test_disabled_and_no_subject(void **state)
{
    (void)state;
    struct proxy_subject_limit *off = proxy_subject_limit_new(0);
    struct proxy_subject_slot s;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(acquire(off, "alice", T0, &s), PROXY_SUBJECT_LIMIT_OK);
        assert_null(s.entry);
    }
    assert_int_equal(proxy_subject_limit_entries(off), 0);
    proxy_subject_limit_release(off, &s, T0);
    proxy_subject_limit_free(off);

    struct proxy_subject_limit *l = proxy_subject_limit_new(1);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(proxy_subject_limit_acquire(l, SLICE_NULL, T0, &s),
                         PROXY_SUBJECT_LIMIT_OK);
        assert_null(s.entry);
    }
    assert_int_equal(proxy_subject_limit_entries(l), 0);
    proxy_subject_limit_free(l);
    proxy_subject_limit_free(NULL);
}

/* Limiter_EvictsIdle / KeepsInFlight / FreshEntryNotEvicted, to the
 * millisecond. */
static void
test_prune(void **state)
{
    (void)state;
    struct proxy_subject_limit *l = proxy_subject_limit_new(4);
    struct proxy_subject_slot idle, busy, fresh;
    assert_int_equal(acquire(l, "idle", T0, &idle), PROXY_SUBJECT_LIMIT_OK);
    proxy_subject_limit_release(l, &idle, T0);
    assert_int_equal(acquire(l, "busy", T0, &busy), PROXY_SUBJECT_LIMIT_OK);
    assert_int_equal(acquire(l, "fresh", T0, &fresh), PROXY_SUBJECT_LIMIT_OK);
    proxy_subject_limit_release(l, &fresh, T0 + 4 * MIN_MS);
    assert_int_equal(proxy_subject_limit_entries(l), 3);

    assert_int_equal(proxy_subject_limit_prune(l, T0 + BOUNDS_SUBJECT_IDLE_MS - 1), 0);
    assert_int_equal(proxy_subject_limit_entries(l), 3);
    assert_int_equal(proxy_subject_limit_prune(l, T0 + BOUNDS_SUBJECT_IDLE_MS), 1);
    assert_int_equal(proxy_subject_limit_entries(l), 2);
    assert_int_equal(proxy_subject_limit_in_flight(l, SLICE_LIT("busy")), 1);
    /* "fresh" was last used at T0 + 4 min (its release). */
    assert_int_equal(proxy_subject_limit_prune(l, T0 + 4 * MIN_MS + BOUNDS_SUBJECT_IDLE_MS - 1), 0);
    assert_int_equal(proxy_subject_limit_prune(l, T0 + 4 * MIN_MS + BOUNDS_SUBJECT_IDLE_MS), 1);
    /* In flight: kept however old. */
    assert_int_equal(proxy_subject_limit_prune(l, T0 + 1000 * MIN_MS), 0);
    assert_int_equal(proxy_subject_limit_entries(l), 1);
    proxy_subject_limit_release(l, &busy, T0 + 1000 * MIN_MS);
    assert_int_equal(proxy_subject_limit_prune(l, T0 + 1005 * MIN_MS), 1);
    assert_int_equal(proxy_subject_limit_entries(l), 0);
    /* A reclaimed subject starts again with every slot free. */
    struct proxy_subject_slot s[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(acquire(l, "idle", T0 + 1006 * MIN_MS, &s[i]), PROXY_SUBJECT_LIMIT_OK);
    }
    for (int i = 0; i < 4; i++) {
        proxy_subject_limit_release(l, &s[i], T0 + 1006 * MIN_MS);
    }
    proxy_subject_limit_free(l);
}

/* Two subjects that hash to the same stripe of l. */
static void
same_stripe_pair(const struct proxy_subject_limit *l, char a[16], char b[16])
{
    snprintf(a, 16, "s0");
    unsigned want = proxy_subject_limit_stripe_of(l, slice_from_cstr(a));
    for (int i = 1; i < 100000; i++) {
        snprintf(b, 16, "s%d", i);
        if (proxy_subject_limit_stripe_of(l, slice_from_cstr(b)) == want) {
            return;
        }
    }
    fail_msg("no two subjects share a stripe");
}

/* Memory follows active subjects without the pruner: an acquire in a
 * stripe reclaims that stripe's expired idle entries. */
static void
test_opportunistic_reclaim(void **state)
{
    (void)state;
    struct proxy_subject_limit *l = proxy_subject_limit_new(2);
    char a[16], b[16];
    same_stripe_pair(l, a, b);
    struct proxy_subject_slot sa, sb;
    assert_int_equal(acquire(l, a, T0, &sa), PROXY_SUBJECT_LIMIT_OK);
    proxy_subject_limit_release(l, &sa, T0);
    assert_int_equal(acquire(l, b, T0 + BOUNDS_SUBJECT_IDLE_MS - 1, &sb), PROXY_SUBJECT_LIMIT_OK);
    assert_int_equal(proxy_subject_limit_entries(l), 2);
    proxy_subject_limit_release(l, &sb, T0 + BOUNDS_SUBJECT_IDLE_MS);
    assert_int_equal(proxy_subject_limit_entries(l), 1); /* a went on b's release */
    assert_int_equal(acquire(l, b, T0 + 2 * BOUNDS_SUBJECT_IDLE_MS, &sb), PROXY_SUBJECT_LIMIT_OK);
    assert_int_equal(proxy_subject_limit_entries(l), 1); /* b's own old entry was replaced */
    proxy_subject_limit_release(l, &sb, T0 + 2 * BOUNDS_SUBJECT_IDLE_MS);
    proxy_subject_limit_free(l);
}

/* A full stripe reclaims its least recently used idle entry early, and
 * admits a newcomer without a slot only when every entry is in flight. */
static void
test_table_full(void **state)
{
    (void)state;
    /* One entry per stripe. */
    struct proxy_subject_limit *l = proxy_subject_limit_new_capped(1, 1);
    char a[16], b[16];
    same_stripe_pair(l, a, b);
    struct proxy_subject_slot sa, sb, sa2;
    assert_int_equal(acquire(l, a, T0, &sa), PROXY_SUBJECT_LIMIT_OK);
    assert_int_equal(acquire(l, b, T0, &sb), PROXY_SUBJECT_LIMIT_UNTRACKED);
    assert_null(sb.entry);
    proxy_subject_limit_release(l, &sb, T0); /* nothing held: no-op */
    /* Tracked subjects stay limited while the stripe is full. */
    assert_int_equal(acquire(l, a, T0, &sa2), PROXY_SUBJECT_LIMIT_BUSY);
    proxy_subject_limit_release(l, &sa, T0 + 1);
    /* a is idle (1 ms old): b takes its place at once. */
    assert_int_equal(acquire(l, b, T0 + 2, &sb), PROXY_SUBJECT_LIMIT_OK);
    assert_non_null(sb.entry);
    assert_int_equal(proxy_subject_limit_entries(l), 1);
    assert_int_equal(proxy_subject_limit_in_flight(l, slice_from_cstr(a)), 0);
    proxy_subject_limit_release(l, &sb, T0 + 3);
    proxy_subject_limit_free(l);

    /* The cap is rounded up to one per stripe and spread over all of them. */
    l = proxy_subject_limit_new_capped(1, 0);
    struct proxy_subject_slot s[3 * PROXY_SUBJECT_LIMIT_STRIPES];
    size_t tracked = 0;
    for (size_t i = 0; i < 3 * PROXY_SUBJECT_LIMIT_STRIPES; i++) {
        char name[16];
        snprintf(name, sizeof(name), "u%zu", i);
        enum proxy_subject_limit_rc rc = acquire(l, name, T0, &s[i]);
        assert_true(rc == PROXY_SUBJECT_LIMIT_OK || rc == PROXY_SUBJECT_LIMIT_UNTRACKED);
        tracked += rc == PROXY_SUBJECT_LIMIT_OK;
    }
    assert_int_equal(proxy_subject_limit_entries(l), tracked);
    assert_true(tracked <= PROXY_SUBJECT_LIMIT_STRIPES);
    for (size_t i = 0; i < 3 * PROXY_SUBJECT_LIMIT_STRIPES; i++) {
        proxy_subject_limit_release(l, &s[i], T0);
    }
    proxy_subject_limit_free(l);
}

/* Subjects longer than the stored key still match exactly. */
static void
test_long_subjects(void **state)
{
    (void)state;
    char a[BOUNDS_SUBJECT_KEY_BYTES + 50], b[BOUNDS_SUBJECT_KEY_BYTES + 50];
    memset(a, 'x', sizeof(a));
    memcpy(b, a, sizeof(b));
    b[sizeof(b) - 1] = 'y'; /* differs past the stored bytes */
    struct proxy_subject_limit *l = proxy_subject_limit_new(1);
    struct proxy_subject_slot sa, sb, sa2;
    assert_int_equal(proxy_subject_limit_acquire(l, slice_make(a, sizeof(a)), T0, &sa),
                     PROXY_SUBJECT_LIMIT_OK);
    assert_int_equal(proxy_subject_limit_acquire(l, slice_make(b, sizeof(b)), T0, &sb),
                     PROXY_SUBJECT_LIMIT_OK);
    assert_int_equal(proxy_subject_limit_acquire(l, slice_make(a, sizeof(a)), T0, &sa2),
                     PROXY_SUBJECT_LIMIT_BUSY);
    assert_int_equal(proxy_subject_limit_acquire(l, slice_make(a, sizeof(a) - 1), T0, &sa2),
                     PROXY_SUBJECT_LIMIT_OK);
    proxy_subject_limit_release(l, &sa2, T0);
    proxy_subject_limit_release(l, &sa, T0);
    proxy_subject_limit_release(l, &sb, T0);
    proxy_subject_limit_free(l);
}

static void
test_strings(void **state)
{
    (void)state;
    assert_string_equal(PROXY_SUBJECT_LIMIT_BODY,
                        "{\"error\":\"temporarily_unavailable\",\"error_description\":"
                        "\"per-subject concurrency limit reached\"}");
    assert_string_equal(PROXY_SUBJECT_LIMIT_RETRY_AFTER, "1");
    assert_string_equal(proxy_subject_limit_rc_str(PROXY_SUBJECT_LIMIT_OK), "ok");
    assert_string_equal(proxy_subject_limit_rc_str(PROXY_SUBJECT_LIMIT_BUSY), "busy");
    assert_string_equal(proxy_subject_limit_rc_str(PROXY_SUBJECT_LIMIT_UNTRACKED), "untracked");
    assert_string_equal(proxy_subject_limit_rc_str(PROXY_SUBJECT_LIMIT_RC_COUNT), "unknown");
}

/* ---- threads ----------------------------------------------------------------- */

#define THREADS 8
#define ROUNDS 20000
#define CAP 2
#define SUBJECTS 3

struct shared {
    struct proxy_subject_limit *l;
    atomic_int holding[SUBJECTS]; /* slots held right now, per subject */
    atomic_int peak[SUBJECTS];
    atomic_long busy;
    atomic_long ok;
    atomic_int over_cap;
};

static void *
worker(void *arg)
{
    struct shared *sh = arg;
    static const char *const subs[SUBJECTS] = {"alice", "bob", "carol"};
    unsigned seed = (unsigned)(uintptr_t)&seed;
    for (int i = 0; i < ROUNDS; i++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 16) % SUBJECTS);
        uint64_t now = T0 + (uint64_t)i;
        struct proxy_subject_slot s;
        enum proxy_subject_limit_rc rc =
            proxy_subject_limit_acquire(sh->l, slice_from_cstr(subs[k]), now, &s);
        if (rc == PROXY_SUBJECT_LIMIT_BUSY) {
            atomic_fetch_add(&sh->busy, 1);
            continue;
        }
        atomic_fetch_add(&sh->ok, 1);
        int held = atomic_fetch_add(&sh->holding[k], 1) + 1;
        if (held > CAP) {
            atomic_store(&sh->over_cap, 1);
        }
        int peak = atomic_load(&sh->peak[k]);
        while (held > peak && !atomic_compare_exchange_weak(&sh->peak[k], &peak, held)) {
        }
        atomic_fetch_sub(&sh->holding[k], 1);
        proxy_subject_limit_release(sh->l, &s, now);
        if (i % 1000 == 0) {
            (void)proxy_subject_limit_prune(sh->l, now);
        }
    }
    return NULL;
}

/* 8 threads hammer 3 subjects with cap 2: never more than 2 held at once
 * per subject, every slot returned. */
static void
test_threads(void **state)
{
    (void)state;
    static struct shared sh;
    memset(&sh, 0, sizeof(sh));
    sh.l = proxy_subject_limit_new(CAP);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, worker, &sh), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(atomic_load(&sh.over_cap), 0);
    assert_int_equal(atomic_load(&sh.ok) + atomic_load(&sh.busy), (long)THREADS * ROUNDS);
    for (int k = 0; k < SUBJECTS; k++) {
        assert_true(atomic_load(&sh.peak[k]) <= CAP);
    }
    assert_int_equal(proxy_subject_limit_in_flight(sh.l, SLICE_LIT("alice")), 0);
    assert_int_equal(proxy_subject_limit_in_flight(sh.l, SLICE_LIT("bob")), 0);
    assert_int_equal(proxy_subject_limit_in_flight(sh.l, SLICE_LIT("carol")), 0);
    /* Every subject was seen; the in-loop prunes (20 s of clock) reclaimed
     * nothing, and 5 min later everything goes. */
    size_t before = proxy_subject_limit_entries(sh.l);
    assert_int_equal(before, SUBJECTS);
    assert_int_equal(proxy_subject_limit_prune(sh.l, T0 + ROUNDS + BOUNDS_SUBJECT_IDLE_MS), before);
    assert_int_equal(proxy_subject_limit_entries(sh.l), 0);
    proxy_subject_limit_free(sh.l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_long_hold),
        cmocka_unit_test(test_disabled_and_no_subject),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_opportunistic_reclaim),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_long_subjects),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
