/* log_skip: the ACCESS_LOG_SKIP_RE matcher, built from the pattern text
 * struct config keeps. test_config.c checks the same matches through
 * config_load; this file pins the module's own edges: the compiler's
 * message, the NULL matcher, and the match limits on a pattern that
 * backtracks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "log_skip.h"

static void
test_matches_unanchored_by_length(void **state)
{
    (void)state;
    struct log_skip *s = log_skip_new("^/healthz$|probe", NULL);
    assert_non_null(s);
    assert_true(log_skip_match(s, "/healthz", 8));
    assert_false(log_skip_match(s, "/healthz/x", 10));
    assert_true(log_skip_match(s, "/x/probe/y", 10));
    assert_false(log_skip_match(s, "/x/prob", 7));
    /* The length counts, not the NUL. */
    assert_true(log_skip_match(s, "/healthzXYZ", 8));
    assert_false(log_skip_match(s, "/x/probe", 7));
    assert_false(log_skip_match(s, NULL, 0));
    log_skip_free(s);
}

static void
test_null_matcher_matches_nothing(void **state)
{
    (void)state;
    assert_false(log_skip_match(NULL, "/healthz", 8));
    assert_false(log_skip_match(NULL, NULL, 0));
    log_skip_free(NULL);
}

static void
test_bad_pattern_says_why_and_where(void **state)
{
    (void)state;
    struct buf err;
    buf_init(&err, 256);
    assert_null(log_skip_new("^/(healthz", &err));
    assert_non_null(strstr(buf_cstr(&err), " at offset 10"));
    assert_true(err.len > strlen(" at offset 10"));
    buf_cleanup(&err);
    /* err may be NULL. */
    assert_null(log_skip_new("a{2,1}", NULL));
}

static void
test_bad_pattern_message_is_cut_to_the_buffer(void **state)
{
    (void)state;
    struct buf err;
    buf_init(&err, 8);
    assert_null(log_skip_new("(", &err));
    assert_true(err.len <= 8);
    buf_cleanup(&err);
}

static void
test_backtracking_is_bounded_and_logged(void **state)
{
    (void)state;
    struct log_skip *s = log_skip_new("^(a+)+$", NULL);
    assert_non_null(s);
    /* 40 a's then '!': unbounded backtracking would take ~2^40 steps. The
     * limit turns it into "no match", so the line is logged. */
    char path[41];
    memset(path, 'a', sizeof(path));
    path[sizeof(path) - 1] = '!';
    assert_false(log_skip_match(s, path, sizeof(path)));
    /* Without the '!' it matches quickly. */
    assert_true(log_skip_match(s, path, sizeof(path) - 1));
    log_skip_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_unanchored_by_length),
        cmocka_unit_test(test_null_matcher_matches_nothing),
        cmocka_unit_test(test_bad_pattern_says_why_and_where),
        cmocka_unit_test(test_bad_pattern_message_is_cut_to_the_buffer),
        cmocka_unit_test(test_backtracking_is_bounded_and_logged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
