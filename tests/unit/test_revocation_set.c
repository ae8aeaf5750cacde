/* revocation/set: families and subjects, the subject's iat boundary,
 * merging, expiry and the sweep, the cap's fail-closed behaviour and the
 * resync that lifts it, growth past many entries, and concurrent readers
 * with a writer (run under ASan/TSan builds by the ordinary suite). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bounds.h"
#include "revocation/set.h"

#define NOW 1700000000000LL
#define DAY (24LL * 3600 * 1000)

static struct revocation_entry
family(const char *id, int64_t expires_ms)
{
    return (struct revocation_entry){
        .kind = REVOCATION_KIND_FAMILY, .id = slice_from_cstr(id), .expires_ms = expires_ms};
}

static struct revocation_entry
subject(const char *id, int64_t at_ms, int64_t expires_ms)
{
    return (struct revocation_entry){.kind = REVOCATION_KIND_SUBJECT,
                                     .id = slice_from_cstr(id),
                                     .at_ms = at_ms,
                                     .expires_ms = expires_ms};
}

static enum revocation_verdict
check(struct revocation_set *s, const char *fam, const char *sub, int64_t iat_s)
{
    return revocation_set_check(s, slice_from_cstr(fam), slice_from_cstr(sub), iat_s);
}

static void
test_family_and_subject(void **state)
{
    (void)state;
    struct revocation_set *s = revocation_set_new(100);
    assert_int_equal(check(s, "fam1", "alice", NOW / 1000), REVOCATION_CLEAR);
    struct revocation_entry f = family("fam1", NOW + DAY);
    assert_int_equal(revocation_set_add(s, &f, NOW), REVOCATION_SET_ADDED);
    assert_int_equal(check(s, "fam1", "alice", NOW / 1000), REVOCATION_FAMILY);
    assert_int_equal(check(s, "fam2", "alice", NOW / 1000), REVOCATION_CLEAR);
    /* A legacy token (no fam) is checked by subject only. */
    assert_int_equal(check(s, "", "alice", NOW / 1000), REVOCATION_CLEAR);
    /* The same text as a subject is another entry. */
    assert_int_equal(check(s, "", "fam1", 0), REVOCATION_CLEAR);

    struct revocation_entry a = subject("alice", NOW + 500, NOW + DAY);
    assert_int_equal(revocation_set_add(s, &a, NOW), REVOCATION_SET_ADDED);
    /* iat at or before the revocation (whole seconds: the revocation's own
     * second counts as before) is refused; a later second is not. */
    assert_int_equal(check(s, "", "alice", NOW / 1000 - 3600), REVOCATION_SUBJECT);
    assert_int_equal(check(s, "", "alice", NOW / 1000), REVOCATION_SUBJECT);
    assert_int_equal(check(s, "", "alice", NOW / 1000 + 1), REVOCATION_CLEAR);
    assert_int_equal(check(s, "", "bob", 0), REVOCATION_CLEAR);
    assert_int_equal(revocation_set_count(s), 2);
    revocation_set_free(s);
}

static void
test_merge_keeps_the_later(void **state)
{
    (void)state;
    struct revocation_set *s = revocation_set_new(100);
    struct revocation_entry late = subject("alice", NOW + 10000, NOW + 2 * DAY);
    struct revocation_entry early = subject("alice", NOW, NOW + DAY);
    assert_int_equal(revocation_set_add(s, &late, NOW), REVOCATION_SET_ADDED);
    assert_int_equal(revocation_set_add(s, &early, NOW), REVOCATION_SET_UPDATED);
    /* An earlier revocation never un-revokes tokens the later one covers. */
    assert_int_equal(check(s, "", "alice", (NOW + 10000) / 1000), REVOCATION_SUBJECT);
    assert_int_equal(revocation_set_count(s), 1);
    /* ...nor shortens its life: a sweep past the early expiry keeps it. */
    revocation_set_sweep(s, NOW + DAY + 1);
    assert_int_equal(revocation_set_count(s), 1);
    revocation_set_sweep(s, NOW + 2 * DAY);
    assert_int_equal(revocation_set_count(s), 0);
    assert_int_equal(check(s, "", "alice", 0), REVOCATION_CLEAR);
    revocation_set_free(s);
}

static void
test_invalid_and_expired(void **state)
{
    (void)state;
    struct revocation_set *s = revocation_set_new(100);
    struct revocation_entry e = family("", NOW + DAY);
    assert_int_equal(revocation_set_add(s, &e, NOW), REVOCATION_SET_INVALID);
    char big[BOUNDS_REVOCATION_ID_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    e = family(big, NOW + DAY);
    assert_int_equal(revocation_set_add(s, &e, NOW), REVOCATION_SET_INVALID);
    big[BOUNDS_REVOCATION_ID_MAX] = '\0';
    e = family(big, NOW + DAY);
    assert_int_equal(revocation_set_add(s, &e, NOW), REVOCATION_SET_ADDED);
    e = family("old", NOW);
    assert_int_equal(revocation_set_add(s, &e, NOW), REVOCATION_SET_EXPIRED);
    assert_int_equal(revocation_set_count(s), 1);
    revocation_set_free(s);
}

/* At the cap nothing is evicted: the set fails closed until a complete
 * resync fits; expired entries make room first. */
static void
test_cap_fails_closed(void **state)
{
    (void)state;
    struct revocation_set *s = revocation_set_new(3);
    char id[16];
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "f%d", i);
        struct revocation_entry e = family(id, i == 0 ? NOW + 1000 : NOW + DAY);
        assert_int_equal(revocation_set_add(s, &e, NOW), REVOCATION_SET_ADDED);
    }
    struct revocation_entry extra = family("f3", NOW + DAY);
    assert_int_equal(revocation_set_add(s, &extra, NOW), REVOCATION_SET_FULL);
    assert_true(revocation_set_overflowed(s));
    /* Every check now refuses, revoked or not. */
    assert_int_equal(check(s, "unrelated", "nobody", NOW / 1000), REVOCATION_OVERFLOW);
    /* A resync that itself overflows does not lift it. */
    uint64_t t = revocation_set_resync_begin(s);
    assert_int_equal(revocation_set_add(s, &extra, NOW), REVOCATION_SET_FULL);
    revocation_set_resync_end(s, t, true);
    assert_true(revocation_set_overflowed(s));
    /* Later, f0 expired: the resync's add sweeps it and fits; an
     * incomplete resync still does not lift the overflow, a complete one
     * does. */
    t = revocation_set_resync_begin(s);
    assert_int_equal(revocation_set_add(s, &extra, NOW + 2000), REVOCATION_SET_ADDED);
    revocation_set_resync_end(s, t, false);
    assert_true(revocation_set_overflowed(s));
    t = revocation_set_resync_begin(s);
    assert_int_equal(revocation_set_add(s, &extra, NOW + 2000), REVOCATION_SET_UPDATED);
    revocation_set_resync_end(s, t, true);
    assert_false(revocation_set_overflowed(s));
    assert_int_equal(check(s, "f3", "", 0), REVOCATION_FAMILY);
    assert_int_equal(check(s, "f0", "", 0), REVOCATION_CLEAR);
    revocation_set_free(s);
}

static void
test_many_entries(void **state)
{
    (void)state;
    struct revocation_set *s = revocation_set_new(100000);
    char id[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "family-%d", i);
        struct revocation_entry e = family(id, NOW + DAY);
        assert_int_equal(revocation_set_add(s, &e, NOW), REVOCATION_SET_ADDED);
    }
    for (int i = 0; i < 20000; i += 97) {
        snprintf(id, sizeof(id), "family-%d", i);
        assert_int_equal(check(s, id, "", 0), REVOCATION_FAMILY);
        snprintf(id, sizeof(id), "family-%d", i + 20000);
        assert_int_equal(check(s, id, "", 0), REVOCATION_CLEAR);
    }
    assert_int_equal(revocation_set_count(s), 20000);
    revocation_set_free(s);
}

/* Readers on several threads while a writer adds and sweeps: every
 * reader sees each entry revoked once its add returned, and never a torn
 * table (ASan/TSan would say so). */
struct race {
    struct revocation_set *s;
    _Atomic int added; /* entries 0..added-1 are in */
    _Atomic bool stop;
    _Atomic int errors;
};

static void *
reader(void *arg)
{
    struct race *r = arg;
    char id[32];
    unsigned n = 0;
    while (!atomic_load(&r->stop)) {
        int added = atomic_load(&r->added);
        if (added > 0) {
            int i = (int)(n++ % (unsigned)added);
            snprintf(id, sizeof(id), "fam-%d", i);
            if (check(r->s, id, "someone", 0) != REVOCATION_FAMILY) {
                atomic_fetch_add(&r->errors, 1);
            }
        }
        if (check(r->s, "never-revoked", "someone", 0) != REVOCATION_CLEAR) {
            atomic_fetch_add(&r->errors, 1);
        }
    }
    return NULL;
}

static void
test_concurrent_readers(void **state)
{
    (void)state;
    struct race r = {.s = revocation_set_new(100000)};
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, reader, &r), 0);
    }
    char id[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "fam-%d", i);
        struct revocation_entry e = family(id, NOW + DAY);
        assert_int_equal(revocation_set_add(r.s, &e, NOW + i), REVOCATION_SET_ADDED);
        atomic_store(&r.added, i + 1);
        if (i % 1000 == 0) {
            revocation_set_sweep(r.s, NOW); /* drops nothing, walks everything */
        }
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(atomic_load(&r.errors), 0);
    revocation_set_free(r.s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family_and_subject),  cmocka_unit_test(test_merge_keeps_the_later),
        cmocka_unit_test(test_invalid_and_expired), cmocka_unit_test(test_cap_fails_closed),
        cmocka_unit_test(test_many_entries),        cmocka_unit_test(test_concurrent_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
