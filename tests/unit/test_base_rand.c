/* base/rand and base/hex: UUID v4 text (version and variant bits, lowercase
 * 8-4-4-4-12), 32-char hex tokens, and that values actually vary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/hex.h"
#include "base/rand.h"

static bool
is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void
test_uuid_format(void **state)
{
    (void)state;
    unsigned variants[4] = {0};
    for (int n = 0; n < 2000; n++) {
        char u[RAND_UUID_LEN + 1 + 4];
        memset(u, 'X', sizeof(u));
        rand_uuid(u);
        assert_int_equal(strlen(u), RAND_UUID_LEN);
        assert_int_equal(u[RAND_UUID_LEN + 1], 'X');
        for (int i = 0; i < RAND_UUID_LEN; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                assert_int_equal(u[i], '-');
            } else if (!is_lower_hex(u[i])) {
                fail_msg("%s: not lowercase hex at %d", u, i);
            }
        }
        /* RFC 4122 4.1.3: version 4; 4.1.1: variant 10xx. */
        assert_int_equal(u[14], '4');
        const char *v = strchr("89ab", u[19]);
        if (v == NULL) {
            fail_msg("%s: variant nibble %c", u, u[19]);
        }
        variants[v - "89ab"]++;
    }
    /* All four variant nibbles occur: the two low bits stay random. */
    for (int i = 0; i < 4; i++) {
        assert_true(variants[i] > 0);
    }
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void
test_values_differ(void **state)
{
    (void)state;
    enum { N = 4096 };
    static char uuids[N][RAND_UUID_LEN + 1];
    static char hexes[N][RAND_HEX32_LEN + 1];
    for (int i = 0; i < N; i++) {
        rand_uuid(uuids[i]);
        rand_hex32(hexes[i]);
    }
    qsort(uuids, N, sizeof(uuids[0]), cmp_str);
    qsort(hexes, N, sizeof(hexes[0]), cmp_str);
    for (int i = 1; i < N; i++) {
        assert_string_not_equal(uuids[i - 1], uuids[i]);
        assert_string_not_equal(hexes[i - 1], hexes[i]);
    }
}

static void
test_hex32_format(void **state)
{
    (void)state;
    /* Every position takes every nibble value over enough samples. */
    unsigned seen[RAND_HEX32_LEN] = {0};
    for (int n = 0; n < 1000; n++) {
        char h[RAND_HEX32_LEN + 1 + 4];
        memset(h, 'X', sizeof(h));
        rand_hex32(h);
        assert_int_equal(strlen(h), RAND_HEX32_LEN);
        assert_int_equal(h[RAND_HEX32_LEN + 1], 'X');
        for (int i = 0; i < RAND_HEX32_LEN; i++) {
            assert_true(is_lower_hex(h[i]));
            int d = h[i] <= '9' ? h[i] - '0' : h[i] - 'a' + 10;
            seen[i] |= 1u << d;
        }
    }
    for (int i = 0; i < RAND_HEX32_LEN; i++) {
        assert_int_equal(seen[i], 0xffff);
    }
}

static void
test_rand_bytes_fills_everything(void **state)
{
    (void)state;
    /* Larger than the 1 MiB chunk, so the loop runs more than once; the last
     * bytes must be written too. */
    size_t n = (1u << 20) + 4096;
    uint8_t *buf = calloc(1, n);
    assert_non_null(buf);
    rand_bytes(buf, n);
    size_t zero_tail = 0;
    for (size_t i = n - 4096; i < n; i++) {
        zero_tail += buf[i] == 0;
    }
    assert_true(zero_tail < 100); /* ~16 expected */
    free(buf);
    rand_bytes(NULL, 0);
}

static void
test_hex_encode(void **state)
{
    (void)state;
    char out[2 * 5 + 1];
    hex_encode((const uint8_t *)"\x00\x01\xab\xff\x10", 5, out);
    assert_string_equal(out, "0001abff10");
    hex_encode(NULL, 0, out);
    assert_string_equal(out, "");
}

/* The pool hands each byte out once: draws across several refills never
 * repeat a 16-byte value, and are not all zero. */
static void
test_pool_never_repeats(void **state)
{
    (void)state;
    enum { DRAWS = 3 * RAND_POOL_BYTES / 16 + 7 };
    static uint8_t seen[DRAWS][16];
    for (size_t i = 0; i < DRAWS; i++) {
        rand_pool_bytes(seen[i], i % 3 == 0 ? 16 : 9);
        if (i % 3 != 0) {
            rand_pool_bytes(seen[i] + 9, 7);
        }
        static const uint8_t zero[16];
        assert_memory_not_equal(seen[i], zero, 16);
        for (size_t j = 0; j < i; j++) {
            assert_memory_not_equal(seen[i], seen[j], 16);
        }
    }
    /* Larger than the pool in one call. */
    static uint8_t big[RAND_POOL_BYTES * 2 + 3];
    rand_pool_bytes(big, sizeof(big));
    assert_memory_not_equal(big, big + RAND_POOL_BYTES, 64);
}

/* A forked child does not hand out the bytes its parent's pool still
 * holds: parent and child draw right after the fork and differ (without
 * the fork check both would read the same copy of the pool). */
static void
test_pool_fork_does_not_repeat(void **state)
{
    (void)state;
    uint8_t warm[8];
    rand_pool_bytes(warm, sizeof(warm)); /* the pool is full now */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t child[32];
        rand_pool_bytes(child, sizeof(child));
        _exit(write(fds[1], child, sizeof(child)) == (ssize_t)sizeof(child) ? 0 : 1);
    }
    uint8_t parent[32];
    rand_pool_bytes(parent, sizeof(parent));
    uint8_t child[32];
    assert_int_equal(read(fds[0], child, sizeof(child)), (ssize_t)sizeof(child));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_memory_not_equal(parent, child, sizeof(child));
    close(fds[0]);
    close(fds[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_format),
        cmocka_unit_test(test_values_differ),
        cmocka_unit_test(test_hex32_format),
        cmocka_unit_test(test_rand_bytes_fills_everything),
        cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_pool_never_repeats),
        cmocka_unit_test(test_pool_fork_does_not_repeat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
