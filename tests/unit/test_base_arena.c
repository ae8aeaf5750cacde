/* base/arena: the byte cap, alignment for any type, cleanups newest first,
 * large allocations in blocks of their own without disturbing small ones. */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"

static void
test_cap_is_enforced(void **state)
{
    (void)state;
    const size_t align = alignof(max_align_t);
    struct arena *a = arena_new(4 * align);
    void *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = arena_alloc(a, align);
        assert_non_null(p[i]);
    }
    assert_int_equal(arena_used(a), 4 * align);
    /* Even one byte more is refused, and a refusal costs nothing. */
    assert_null(arena_alloc(a, 1));
    assert_null(arena_zalloc(a, 1));
    assert_null(arena_strdup(a, ""));
    assert_null(arena_printf(a, "%d", 1));
    assert_int_equal(arena_used(a), 4 * align);
    /* A zero-byte request still fits at the cap. */
    assert_non_null(arena_alloc(a, 0));
    arena_free(a);
}

static void
test_used_counts_rounded_sizes(void **state)
{
    (void)state;
    const size_t align = alignof(max_align_t);
    struct arena *a = arena_new(1 << 20);
    assert_non_null(arena_alloc(a, 1));
    assert_int_equal(arena_used(a), align);
    assert_non_null(arena_alloc(a, align + 1));
    assert_int_equal(arena_used(a), 3 * align);
    arena_free(a);

    /* The rounded size is what counts against the cap: a 1-byte request
     * costs `align` bytes, more than a cap of align - 1. */
    a = arena_new(align - 1);
    assert_null(arena_alloc(a, 1));
    arena_free(a);
}

static void
test_huge_sizes_do_not_wrap(void **state)
{
    (void)state;
    struct arena *a = arena_new(SIZE_MAX);
    assert_null(arena_alloc(a, SIZE_MAX));
    assert_null(arena_alloc(a, SIZE_MAX - 1));
    assert_null(arena_alloc(a, SIZE_MAX - alignof(max_align_t) + 2));
    assert_null(arena_strndup(a, "x", SIZE_MAX));
    assert_int_equal(arena_used(a), 0);
    arena_free(a);
}

static void
test_alignment(void **state)
{
    (void)state;
    struct arena *a = arena_new(1 << 20);
    size_t sizes[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 100, 2047, 2049, 5000, 1, 2};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *p = arena_alloc(a, sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
        /* The memory is usable as the widest types. */
        if (sizes[i] >= sizeof(long double)) {
            *(long double *)p = 1.5L;
        }
        if (sizes[i] >= sizeof(uint64_t)) {
            *(uint64_t *)p = UINT64_MAX;
        }
    }
    arena_free(a);
}

static void
test_allocations_do_not_overlap(void **state)
{
    (void)state;
    struct arena *a = arena_new(1 << 22);
    enum { N = 300 };
    unsigned char *ptrs[N];
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        /* Mix small, block-sized and large requests. */
        lens[i] = (size_t)(i % 7 == 0 ? 3000 + i * 11 : i % 5 == 0 ? 2048 : 1 + i % 97);
        ptrs[i] = arena_alloc(a, lens[i]);
        assert_non_null(ptrs[i]);
        memset(ptrs[i], i & 0xff, lens[i]);
    }
    for (int i = 0; i < N; i++) {
        for (size_t j = 0; j < lens[i]; j++) {
            if (ptrs[i][j] != (unsigned char)(i & 0xff)) {
                fail_msg("allocation %d byte %zu was overwritten", i, j);
            }
        }
    }
    arena_free(a);
}

static void
test_large_allocation_then_small_ones(void **state)
{
    (void)state;
    struct arena *a = arena_new(1 << 24);
    char *small1 = arena_strdup(a, "before");
    unsigned char *big = arena_alloc(a, 1 << 20);
    assert_non_null(big);
    memset(big, 0x5a, 1 << 20);
    char *small2 = arena_strdup(a, "after");
    unsigned char *big2 = arena_zalloc(a, 100000);
    assert_non_null(big2);
    for (size_t i = 0; i < 100000; i++) {
        assert_int_equal(big2[i], 0);
    }
    assert_string_equal(small1, "before");
    assert_string_equal(small2, "after");
    assert_int_equal(big[0], 0x5a);
    assert_int_equal(big[(1 << 20) - 1], 0x5a);
    /* A large allocation first, on an empty arena. */
    struct arena *b = arena_new(1 << 24);
    assert_non_null(arena_alloc(b, 10000));
    assert_non_null(arena_strdup(b, "x"));
    arena_free(b);
    arena_free(a);
}

static void
test_strings(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096);
    char *s = arena_strdup(a, "hello");
    assert_string_equal(s, "hello");
    char *n = arena_strndup(a, "abcdef", 3);
    assert_string_equal(n, "abc");
    char *z = arena_strndup(a, "", 0);
    assert_string_equal(z, "");
    char *sl = arena_slicedup(a, slice_make("xyz!!", 3));
    assert_string_equal(sl, "xyz");
    char *p = arena_printf(a, "%s-%05d", "id", 42);
    assert_string_equal(p, "id-00042");
    /* strndup copies embedded NULs verbatim and terminates after len. */
    char *e = arena_strndup(a, "a\0b", 3);
    assert_memory_equal(e, "a\0b\0", 4);
    arena_free(a);
}

static void
test_zalloc_zeroes(void **state)
{
    (void)state;
    struct arena *a = arena_new(8192);
    unsigned char *p = arena_alloc(a, 64);
    memset(p, 0xff, 64);
    unsigned char *z = arena_zalloc(a, 64);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(z[i], 0);
    }
    arena_free(a);
}

static int order[8];
static int order_len;

static void
record(void *ptr)
{
    order[order_len++] = *(int *)ptr;
}

static void
test_cleanups_run_newest_first(void **state)
{
    (void)state;
    static int ids[4] = {1, 2, 3, 4};
    order_len = 0;
    struct arena *a = arena_new(16);
    for (int i = 0; i < 4; i++) {
        arena_on_free(a, record, &ids[i]);
    }
    /* Cleanups are registered even when the arena is full. */
    assert_non_null(arena_alloc(a, 16));
    assert_null(arena_alloc(a, 1));
    assert_int_equal(order_len, 0);
    arena_free(a);
    assert_int_equal(order_len, 4);
    assert_int_equal(order[0], 4);
    assert_int_equal(order[1], 3);
    assert_int_equal(order[2], 2);
    assert_int_equal(order[3], 1);
}

static void *released_ptr;
static int released_count;

/* Frees through cmocka's allocator, which fails the test on any block
 * test_malloc() handed out and nobody freed; counts what it was given. */
static void
free_ptr(void *ptr)
{
    released_ptr = ptr;
    released_count++;
    test_free(ptr);
}

static void
test_cleanup_can_release_heap_memory(void **state)
{
    (void)state;
    released_ptr = NULL;
    released_count = 0;
    void *block = test_malloc(100);
    struct arena *a = arena_new(0);
    arena_on_free(a, free_ptr, block);
    assert_int_equal(released_count, 0);
    arena_free(a);
    /* The cleanup ran exactly once, with the block it was given; without
     * it cmocka would also report the block as leaked. */
    assert_int_equal(released_count, 1);
    assert_ptr_equal(released_ptr, block);
    arena_free(NULL);
    assert_int_equal(released_count, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_is_enforced),
        cmocka_unit_test(test_used_counts_rounded_sizes),
        cmocka_unit_test(test_huge_sizes_do_not_wrap),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_allocations_do_not_overlap),
        cmocka_unit_test(test_large_allocation_then_small_ones),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_zalloc_zeroes),
        cmocka_unit_test(test_cleanups_run_newest_first),
        cmocka_unit_test(test_cleanup_can_release_heap_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
