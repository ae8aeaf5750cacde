/* http/ip_budget: the total and per-key caps, holds that grow and are
 * given back at once, entries that exist only while something is held, the
 * peak used for malloc_trim, and racing threads that never pass the total. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/ip_budget.h"

#define K(s) slice_from_cstr(s)

static void
test_caps(void **state)
{
    (void)state;
    struct http_ip_budget *b = http_ip_budget_new(10, 4);
    struct http_ip_budget_hold a = {0};
    struct http_ip_budget_hold a2 = {0};
    struct http_ip_budget_hold c = {0};
    assert_int_equal(http_ip_budget_take(b, K("10.0.0.1"), 3, &a), HTTP_IP_BUDGET_OK);
    assert_int_equal(http_ip_budget_take(b, K("10.0.0.1"), 1, &a2), HTTP_IP_BUDGET_OK);
    /* The key's share is 4: one more unit under it is refused, and the
     * refusal takes nothing (the total is unchanged). */
    assert_int_equal(http_ip_budget_take(b, K("10.0.0.1"), 1, &c), HTTP_IP_BUDGET_OVER_KEY);
    assert_null(c.budget);
    assert_int_equal(http_ip_budget_in_use(b), 4);
    assert_false(http_ip_budget_fits(b, K("10.0.0.1"), 1));
    assert_true(http_ip_budget_fits(b, K("10.0.0.2"), 4));
    /* Other keys fill the total. */
    struct http_ip_budget_hold o1 = {0};
    struct http_ip_budget_hold o2 = {0};
    assert_int_equal(http_ip_budget_take(b, K("10.0.0.2"), 4, &o1), HTTP_IP_BUDGET_OK);
    assert_int_equal(http_ip_budget_take(b, K("10.0.0.3"), 3, &o2), HTTP_IP_BUDGET_OVER_TOTAL);
    assert_int_equal(http_ip_budget_take(b, K("10.0.0.3"), 2, &o2), HTTP_IP_BUDGET_OK);
    assert_int_equal(http_ip_budget_in_use(b), 10);
    assert_int_equal(http_ip_budget_take(b, K(""), 1, &c), HTTP_IP_BUDGET_OVER_TOTAL);
    assert_int_equal(http_ip_budget_keys(b), 3);
    /* Giving back frees the share and the entry with it. */
    http_ip_budget_put(&a);
    assert_null(a.budget);
    assert_int_equal(http_ip_budget_key_in_use(b, K("10.0.0.1")), 1);
    http_ip_budget_put(&a2);
    assert_int_equal(http_ip_budget_key_in_use(b, K("10.0.0.1")), 0);
    assert_int_equal(http_ip_budget_keys(b), 2);
    http_ip_budget_put(&a2); /* empty: no-op */
    http_ip_budget_put(&o1);
    http_ip_budget_put(&o2);
    assert_int_equal(http_ip_budget_in_use(b), 0);
    assert_int_equal(http_ip_budget_keys(b), 0);
    http_ip_budget_free(b);
}

/* A hold grows piece by piece (a body arriving) under the key of its first
 * take, and is refused at the share without losing what it holds. */
static void
test_growing_hold(void **state)
{
    (void)state;
    struct http_ip_budget *b = http_ip_budget_new(0, 100);
    struct http_ip_budget_hold h = {0};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(http_ip_budget_take(b, K("2001:db8::"), 10, &h), HTTP_IP_BUDGET_OK);
    }
    assert_int_equal(h.amount, 100);
    assert_int_equal(http_ip_budget_take(b, K("ignored"), 1, &h), HTTP_IP_BUDGET_OVER_KEY);
    assert_int_equal(h.amount, 100);
    assert_int_equal(http_ip_budget_key_in_use(b, K("2001:db8::")), 100);
    assert_int_equal(http_ip_budget_take(b, K("x"), 0, &h), HTTP_IP_BUDGET_OK);
    http_ip_budget_put(&h);
    assert_int_equal(http_ip_budget_in_use(b), 0);
    assert_int_equal(http_ip_budget_keys(b), 0);
    http_ip_budget_free(b);
}

/* An empty key (a trusted load balancer) counts toward the total only. */
static void
test_empty_key_total_only(void **state)
{
    (void)state;
    struct http_ip_budget *b = http_ip_budget_new(5, 1);
    struct http_ip_budget_hold h = {0};
    assert_int_equal(http_ip_budget_take(b, K(""), 3, &h), HTTP_IP_BUDGET_OK);
    assert_int_equal(http_ip_budget_take(b, K(""), 2, &h), HTTP_IP_BUDGET_OK);
    assert_int_equal(http_ip_budget_keys(b), 0);
    assert_int_equal(http_ip_budget_take(b, K(""), 1, &h), HTTP_IP_BUDGET_OVER_TOTAL);
    http_ip_budget_put(&h);
    assert_int_equal(http_ip_budget_in_use(b), 0);
    http_ip_budget_free(b);
}

static void
test_peak(void **state)
{
    (void)state;
    struct http_ip_budget *b = http_ip_budget_new(0, 0);
    struct http_ip_budget_hold h = {0};
    assert_int_equal(http_ip_budget_take(b, K("a"), 50, &h), HTTP_IP_BUDGET_OK);
    http_ip_budget_put(&h);
    assert_int_equal(http_ip_budget_take(b, K("a"), 7, &h), HTTP_IP_BUDGET_OK);
    assert_int_equal(http_ip_budget_take_peak(b), 50);
    assert_int_equal(http_ip_budget_take_peak(b), 7); /* a new period starts at the current */
    http_ip_budget_put(&h);
    assert_int_equal(http_ip_budget_take_peak(b), 7);
    assert_int_equal(http_ip_budget_take_peak(b), 0);
    http_ip_budget_free(b);
}

/* Many keys: the stripes grow and shrink their tables. */
static void
test_many_keys(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct http_ip_budget *b = http_ip_budget_new(0, 2);
    static struct http_ip_budget_hold holds[N];
    char key[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "10.%d.%d.1", i / 256, i % 256);
        holds[i] = (struct http_ip_budget_hold){0};
        assert_int_equal(http_ip_budget_take(b, K(key), 2, &holds[i]), HTTP_IP_BUDGET_OK);
    }
    assert_int_equal(http_ip_budget_keys(b), N);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "10.%d.%d.1", i / 256, i % 256);
        assert_int_equal(http_ip_budget_key_in_use(b, K(key)), 2);
        http_ip_budget_put(&holds[i]);
    }
    assert_int_equal(http_ip_budget_keys(b), 0);
    http_ip_budget_free(b);
}

struct race {
    struct http_ip_budget *b;
    int ok;
};

static void *
racer(void *arg)
{
    struct race *r = arg;
    struct http_ip_budget_hold holds[200];
    for (int round = 0; round < 50; round++) {
        int got = 0;
        for (int i = 0; i < 200; i++) {
            holds[i] = (struct http_ip_budget_hold){0};
            char key[8];
            snprintf(key, sizeof(key), "k%d", i % 7);
            if (http_ip_budget_take(r->b, K(key), 1, &holds[i]) == HTTP_IP_BUDGET_OK) {
                got++;
            }
            if (http_ip_budget_in_use(r->b) > 300) {
                r->ok = 0; /* the total passed its cap */
            }
        }
        for (int i = 0; i < 200; i++) {
            http_ip_budget_put(&holds[i]);
        }
        (void)got;
    }
    return NULL;
}

static void
test_threads_never_pass_the_total(void **state)
{
    (void)state;
    struct http_ip_budget *b = http_ip_budget_new(300, 60);
    pthread_t t[4];
    struct race r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (struct race){b, 1};
        pthread_create(&t[i], NULL, racer, &r[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].ok, 1);
    }
    assert_int_equal(http_ip_budget_in_use(b), 0);
    assert_int_equal(http_ip_budget_keys(b), 0);
    assert_true(http_ip_budget_take_peak(b) <= 300);
    http_ip_budget_free(b);
}

static void
test_rc_names(void **state)
{
    (void)state;
    assert_string_equal(http_ip_budget_rc_str(HTTP_IP_BUDGET_OVER_KEY), "over_key");
    assert_string_equal(http_ip_budget_rc_str(HTTP_IP_BUDGET_RC_COUNT), "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_growing_hold),
        cmocka_unit_test(test_empty_key_total_only),
        cmocka_unit_test(test_peak),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_threads_never_pass_the_total),
        cmocka_unit_test(test_rc_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
