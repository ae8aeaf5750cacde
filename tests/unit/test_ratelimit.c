/* ratelimit: SPEC.md 3.0.3 budgets and httprate's sliding estimate to the
 * millisecond, UTC-minute windows, refused requests not counted, buckets and
 * keys independent, bounded memory (reclaiming and the fail-open cap), and
 * exact counts under concurrency. Times come from the pinned wall clock. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "fixtures.h"
#include "log.h"
#include "ratelimit.h"

#define MINUTE 60000

/* The start of the UTC minute holding the pinned clock, plus offset_ms. */
static int64_t
at(int64_t offset_ms)
{
    int64_t now = clock_unix_ms();
    return now - now % MINUTE + offset_ms;
}

static int
pin(void **state)
{
    (void)state;
    fixture_pin_clock(0);
    return 0;
}

static int
unpin(void **state)
{
    (void)state;
    fixture_unpin_clock();
    return 0;
}

/* Calls allow until the first refusal (at most `max` times); returns how
 * many were allowed. */
static unsigned
allowed_run(struct ratelimit *rl, enum metrics_endpoint b, const char *key, int64_t now,
            unsigned max)
{
    unsigned n = 0;
    while (n < max && ratelimit_allow(rl, b, key, now)) {
        n++;
    }
    return n;
}

static void
test_budgets_match_spec(void **state)
{
    (void)state;
    static const struct {
        enum metrics_endpoint bucket;
        unsigned limit;
    } rows[] = {
        {METRICS_ENDPOINT_REGISTER, 10}, {METRICS_ENDPOINT_AUTHORIZE, 30},
        {METRICS_ENDPOINT_CONSENT, 30},  {METRICS_ENDPOINT_CALLBACK, 30},
        {METRICS_ENDPOINT_TOKEN, 60},    {METRICS_ENDPOINT_DISCOVERY, 60},
        {METRICS_ENDPOINT_MCP, 600},     {METRICS_ENDPOINT_REVOKE, 30},
    };
    assert_int_equal(sizeof(rows) / sizeof(rows[0]), METRICS_ENDPOINT_COUNT);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(ratelimit_limit(rows[i].bucket), rows[i].limit);
        struct ratelimit *rl = ratelimit_new(true);
        /* Exactly the budget passes in one window, then every request is
         * refused for the rest of it. */
        assert_int_equal(allowed_run(rl, rows[i].bucket, "203.0.113.7", at(1000), 10000),
                         rows[i].limit);
        assert_false(ratelimit_allow(rl, rows[i].bucket, "203.0.113.7", at(59999)));
        ratelimit_free(rl);
    }
    assert_int_equal(ratelimit_limit(METRICS_ENDPOINT_COUNT), 0);
}

/* Fills the previous window with `prev` requests of key, then returns how
 * many pass at `elapsed` ms into the next window. */
static unsigned
allowed_after(enum metrics_endpoint b, unsigned prev, int64_t elapsed)
{
    struct ratelimit *rl = ratelimit_new(true);
    for (unsigned i = 0; i < prev; i++) {
        assert_true(ratelimit_allow(rl, b, "k", at(MINUTE - 1)));
    }
    unsigned n = allowed_run(rl, b, "k", at(MINUTE + elapsed), 10000);
    ratelimit_free(rl);
    return n;
}

static void
test_sliding_estimate_to_the_millisecond(void **state)
{
    (void)state;
    /* register, limit 10, 10 counted in the previous window:
     * allowed = 10 - round(10 * (60000 - elapsed) / 60000). */
    static const struct {
        int64_t elapsed;
        unsigned allowed;
    } rows[] = {
        {0, 0},      /* weight 1: 10 */
        {5999, 1},   /* 9.0002 -> 9 */
        {6000, 1},   /* 9 */
        {27000, 4},  /* 5.5 rounds up to 6 */
        {27001, 5},  /* 5.4998 rounds to 5 */
        {30000, 5},  /* 5 */
        {56999, 9},  /* 0.5002 -> 1 */
        {57000, 9},  /* 0.5 rounds up to 1 */
        {57001, 10}, /* 0.4998 -> 0 */
        {59999, 10},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        unsigned got = allowed_after(METRICS_ENDPOINT_REGISTER, 10, rows[i].elapsed);
        if (got != rows[i].allowed) {
            fail_msg("elapsed %lld: %u allowed, want %u", (long long)rows[i].elapsed, got,
                     rows[i].allowed);
        }
    }
    /* mcp, limit 600, 600 before: at 15 s, 450 weigh and 150 pass. */
    assert_int_equal(allowed_after(METRICS_ENDPOINT_MCP, 600, 15000), 150);
    /* A partly used previous window: 3 of 10 at 40 s weigh 1. */
    assert_int_equal(allowed_after(METRICS_ENDPOINT_REGISTER, 3, 40000), 9);
}

static void
test_windows_are_utc_minutes(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(true);
    /* Ten requests in the last millisecond of a minute... */
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, "k", at(59999), 100), 10);
    /* ...weigh fully one millisecond later, in the next minute: a window
     * starting at the first request would not roll over here. */
    assert_false(ratelimit_allow(rl, METRICS_ENDPOINT_REGISTER, "k", at(60000)));
    /* Half a minute on, half of them weigh. */
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, "k", at(90000), 100), 5);
    /* The next minute sees those 5 as its previous window. */
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, "k", at(120000), 100), 5);
    /* Two minutes of silence: nothing weighs any more. */
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, "k", at(240000), 100), 10);
    ratelimit_free(rl);

    /* The same holds for the real clock's minutes, not just the fixture. */
    fixture_unpin_clock();
    int64_t now = clock_unix_ms();
    int64_t minute = now - now % MINUTE;
    rl = ratelimit_new(true);
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, "k", minute + 59999, 100), 10);
    assert_false(ratelimit_allow(rl, METRICS_ENDPOINT_REGISTER, "k", minute + 60000));
    ratelimit_free(rl);
    fixture_pin_clock(0);
}

static void
test_refused_requests_are_not_counted(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(true);
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, "k", at(1000), 100), 10);
    for (int i = 0; i < 500; i++) {
        assert_false(ratelimit_allow(rl, METRICS_ENDPOINT_REGISTER, "k", at(2000 + i)));
    }
    /* Had the refusals counted, 510 would weigh 255 here and nothing pass. */
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, "k", at(MINUTE + 30000), 100), 5);
    ratelimit_free(rl);
}

static void
test_buckets_and_keys_are_independent(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(true);
    int64_t t = at(1000);
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_AUTHORIZE, "1.2.3.4", t, 100), 30);
    /* Consent does not share authorize's counter (SPEC.md 3.0.3 [tested]). */
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_CONSENT, "1.2.3.4", t, 100), 30);
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_CALLBACK, "1.2.3.4", t, 100), 30);
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_TOKEN, "1.2.3.4", t, 100), 60);
    /* Another key has its own budget in the exhausted bucket. */
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_AUTHORIZE, "1.2.3.5", t, 100), 30);
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_AUTHORIZE, "2001:db8:1:2::", t, 100), 30);
    /* Keys are compared whole: a prefix is another key. */
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_AUTHORIZE, "1.2.3.", t, 100), 30);
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_AUTHORIZE, "", t, 100), 30);
    assert_false(ratelimit_allow(rl, METRICS_ENDPOINT_AUTHORIZE, "1.2.3.4", t));
    assert_false(ratelimit_allow(rl, METRICS_ENDPOINT_AUTHORIZE, NULL, t)); /* NULL is "" */
    ratelimit_free(rl);
}

static void
test_discovery_routes_share_one_budget(void **state)
{
    (void)state;
    /* The seven discovery routes all pass the DISCOVERY bucket: 60 requests
     * spread over them exhaust it for all of them. */
    struct ratelimit *rl = ratelimit_new(true);
    for (int i = 0; i < 60; i++) {
        assert_true(ratelimit_allow(rl, METRICS_ENDPOINT_DISCOVERY, "9.9.9.9", at(i * 100)));
    }
    assert_false(ratelimit_allow(rl, METRICS_ENDPOINT_DISCOVERY, "9.9.9.9", at(6000)));
    assert_true(ratelimit_allow(rl, METRICS_ENDPOINT_MCP, "9.9.9.9", at(6000)));
    ratelimit_free(rl);
}

static void
test_long_keys(void **state)
{
    (void)state;
    char a[300];
    char b[300];
    memset(a, 'x', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(a));
    b[sizeof(b) - 2] = 'y'; /* differs only in the last byte */
    struct ratelimit *rl = ratelimit_new(true);
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, a, at(0), 100), 10);
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, b, at(0), 100), 10);
    /* Same first 40+ bytes, other length. */
    a[100] = '\0';
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, a, at(0), 100), 10);
    a[100] = 'x';
    assert_false(ratelimit_allow(rl, METRICS_ENDPOINT_REGISTER, a, at(0)));
    assert_int_equal(ratelimit_entries(rl), 3);
    ratelimit_free(rl);
}

static void
test_wall_clock_stepping_back(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(true);
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, "k", at(5 * MINUTE + 1000), 100),
                     10);
    /* The clock jumps back three minutes: the counts are not forgotten. */
    assert_false(ratelimit_allow(rl, METRICS_ENDPOINT_REGISTER, "k", at(2 * MINUTE + 30000)));
    /* And forward again, as if nothing happened. */
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, "k", at(6 * MINUTE + 30000), 100),
                     5);
    ratelimit_free(rl);
}

static void
test_disabled_allows_everything(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(false);
    for (int i = 0; i < 10000; i++) {
        assert_true(ratelimit_allow(rl, METRICS_ENDPOINT_REGISTER, "k", at(0)));
    }
    assert_int_equal(ratelimit_entries(rl), 0);
    assert_int_equal(ratelimit_sweep(rl, at(0)), 0);
    ratelimit_free(rl);
    ratelimit_free(NULL);
    /* An out-of-range bucket is not limited either. */
    rl = ratelimit_new(true);
    for (int i = 0; i < 100; i++) {
        assert_true(ratelimit_allow(rl, METRICS_ENDPOINT_COUNT, "k", at(0)));
    }
    assert_int_equal(ratelimit_entries(rl), 0);
    ratelimit_free(rl);
}

static void
test_stale_entries_are_reclaimed(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(true);
    char key[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        assert_true(ratelimit_allow(rl, METRICS_ENDPOINT_MCP, key, at(1000)));
    }
    assert_int_equal(ratelimit_entries(rl), 20000);
    /* One window on, the counts still weigh (as the previous window). */
    assert_int_equal(ratelimit_sweep(rl, at(MINUTE + 59999)), 20000);
    /* Two windows on they weigh nothing and are gone. */
    assert_int_equal(ratelimit_sweep(rl, at(2 * MINUTE)), 0);
    assert_int_equal(ratelimit_entries(rl), 0);

    /* Without an explicit sweep, using a stripe in a new window drops its
     * stale entries: touch many new keys two windows later. */
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "a%d", i);
        assert_true(ratelimit_allow(rl, METRICS_ENDPOINT_MCP, key, at(3 * MINUTE)));
    }
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "b%d", i);
        assert_true(ratelimit_allow(rl, METRICS_ENDPOINT_MCP, key, at(5 * MINUTE)));
    }
    assert_int_equal(ratelimit_entries(rl), 2000);
    ratelimit_free(rl);
}

static void
test_default_cap_holds_many_keys(void **state)
{
    (void)state;
    /* Well below BOUNDS_RATELIMIT_ENTRIES_MAX, every key gets a counter even
     * though each stripe holds only its share of the cap. */
    struct ratelimit *rl = ratelimit_new(true);
    char key[32];
    const int n = BOUNDS_RATELIMIT_ENTRIES_MAX / 2;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "2001:db8:%x:%x::", i >> 16, i & 0xffff);
        assert_true(ratelimit_allow(rl, METRICS_ENDPOINT_TOKEN, key, at(0)));
    }
    assert_int_equal(ratelimit_entries(rl), n);
    ratelimit_free(rl);
}

static void
test_full_table_fails_open_for_new_keys(void **state)
{
    (void)state;
    int fd = memfd_create("ratelimit-log", 0);
    assert_true(fd >= 0);
    log_set_fd(fd);
    log_set_level(LOG_INFO);

    /* One entry per stripe: 64 in all. */
    struct ratelimit *rl = ratelimit_new_capped(true, 1);
    char key[32];
    int untracked = -1;
    size_t before = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_true(ratelimit_allow(rl, METRICS_ENDPOINT_REGISTER, key, at(1000)));
        size_t after = ratelimit_entries(rl);
        if (after == before && untracked < 0) {
            untracked = i;
        }
        before = after;
    }
    assert_int_equal(ratelimit_entries(rl), RATELIMIT_STRIPES);
    assert_true(untracked > 0);

    /* A key that found no room passes, uncounted, however often it comes. */
    snprintf(key, sizeof(key), "k%d", untracked);
    for (int i = 0; i < 1000; i++) {
        assert_true(ratelimit_allow(rl, METRICS_ENDPOINT_REGISTER, key, at(2000)));
    }
    assert_int_equal(ratelimit_entries(rl), RATELIMIT_STRIPES);
    /* A key that has a counter (the very first) stays limited. */
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, "k0", at(2000), 100), 9);

    /* One warning per window, however many keys found no room. */
    off_t size = lseek(fd, 0, SEEK_END);
    char *text = xmalloc((size_t)size + 1);
    assert_int_equal(pread(fd, text, (size_t)size, 0), size);
    text[size] = '\0';
    int warnings = 0;
    for (const char *p = text; (p = strstr(p, "\"rate_limit_table_full\"")) != NULL; p++) {
        warnings++;
    }
    assert_int_equal(warnings, 1);
    assert_non_null(strstr(text, "\"endpoint\":\"register\""));
    xfree(text);

    /* Two windows later the old entries are reclaimed and the formerly
     * untracked key gets a counter, so it is limited again. */
    assert_int_equal(ratelimit_sweep(rl, at(2 * MINUTE)), 0);
    assert_int_equal(allowed_run(rl, METRICS_ENDPOINT_REGISTER, key, at(2 * MINUTE), 100), 10);
    ratelimit_free(rl);

    log_set_fd(STDOUT_FILENO);
    close(fd);
}

enum { THREADS = 8, KEYS = 500, ATTEMPTS = 3 };

struct hammer_arg {
    struct ratelimit *rl;
    int64_t now;
    _Atomic unsigned *shared_allowed;
    _Atomic unsigned *per_key_allowed;
};

static void *
hammer(void *p)
{
    struct hammer_arg *a = p;
    char key[32];
    for (int round = 0; round < ATTEMPTS; round++) {
        for (int k = 0; k < KEYS; k++) {
            snprintf(key, sizeof(key), "192.0.2.%d/%d", k % 256, k);
            if (ratelimit_allow(a->rl, METRICS_ENDPOINT_REGISTER, key, a->now)) {
                atomic_fetch_add(&a->per_key_allowed[k], 1);
            }
            if (ratelimit_allow(a->rl, METRICS_ENDPOINT_MCP, "shared", a->now)) {
                atomic_fetch_add(a->shared_allowed, 1);
            }
        }
    }
    return NULL;
}

static void
test_concurrent_counts_are_exact(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(true);
    static _Atomic unsigned per_key[KEYS];
    _Atomic unsigned shared = 0;
    for (int k = 0; k < KEYS; k++) {
        atomic_init(&per_key[k], 0);
    }
    struct hammer_arg arg = {rl, at(30000), &shared, per_key};
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &arg), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    /* 8 threads x 3 attempts = 24 per key, limit 10; 12 000 on one mcp key,
     * limit 600. */
    for (int k = 0; k < KEYS; k++) {
        assert_int_equal(atomic_load(&per_key[k]), 10);
    }
    assert_int_equal(atomic_load(&shared), 600);
    assert_int_equal(ratelimit_entries(rl), KEYS + 1);
    ratelimit_free(rl);
}

#define T(f) cmocka_unit_test_setup_teardown(f, pin, unpin)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_budgets_match_spec),
        T(test_sliding_estimate_to_the_millisecond),
        T(test_windows_are_utc_minutes),
        T(test_refused_requests_are_not_counted),
        T(test_buckets_and_keys_are_independent),
        T(test_discovery_routes_share_one_budget),
        T(test_long_keys),
        T(test_wall_clock_stepping_back),
        T(test_disabled_allows_everything),
        T(test_stale_entries_are_reclaimed),
        T(test_default_cap_holds_many_keys),
        T(test_full_table_fails_open_for_new_keys),
        T(test_concurrent_counts_are_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
