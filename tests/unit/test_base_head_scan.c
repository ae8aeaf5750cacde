/* base/head_scan: obs-fold and bare LF are found wherever the network
 * splits the head, and a clean head passes in any number of pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/head_scan.h"

/* The result of scanning text whole, and split at every position: all
 * must agree, or the check would depend on how the bytes arrived. */
static enum head_scan_rc
scan_every_split(const char *text)
{
    size_t n = strlen(text);
    unsigned char prev = 0;
    enum head_scan_rc whole = head_scan_feed(&prev, text, n);
    for (size_t cut = 0; cut <= n; cut++) {
        prev = 0;
        enum head_scan_rc rc = head_scan_feed(&prev, text, cut);
        if (rc == HEAD_SCAN_OK) {
            rc = head_scan_feed(&prev, text + cut, n - cut);
        }
        if (rc != whole) {
            fail_msg("split at %zu of \"%s\": %d, whole: %d", cut, text, rc, whole);
        }
    }
    return whole;
}

static void
test_rows(void **state)
{
    (void)state;
    static const struct {
        const char *head;
        enum head_scan_rc rc;
    } rows[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", HEAD_SCAN_OK},
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HEAD_SCAN_OK},
        {"", HEAD_SCAN_OK},
        {"GET / HTTP/1.1\r\nHost: a\r\n X-Folded: b\r\n\r\n", HEAD_SCAN_OBS_FOLD},
        {"GET / HTTP/1.1\r\nHost: a\r\n\tX-Folded: b\r\n\r\n", HEAD_SCAN_OBS_FOLD},
        {"GET / HTTP/1.1\nHost: a\r\n\r\n", HEAD_SCAN_BARE_LF},
        {"GET / HTTP/1.1\r\nHost: a\n\r\n", HEAD_SCAN_BARE_LF},
        {"\n", HEAD_SCAN_BARE_LF},
        {"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", HEAD_SCAN_OK}, /* a bare CR is llhttp's to refuse */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (scan_every_split(rows[i].head) != rows[i].rc) {
            fail_msg("row %zu: expected %d", i, rows[i].rc);
        }
    }
}

static void
test_prev_carries_the_last_byte(void **state)
{
    (void)state;
    unsigned char prev = 0;
    assert_int_equal(head_scan_feed(&prev, "Host: a\r", 8), HEAD_SCAN_OK);
    assert_int_equal(prev, '\r');
    assert_int_equal(head_scan_feed(&prev, "\n", 1), HEAD_SCAN_OK);
    assert_int_equal(prev, '\n');
    assert_int_equal(head_scan_feed(&prev, "", 0), HEAD_SCAN_OK);
    assert_int_equal(prev, '\n');
    assert_int_equal(head_scan_feed(&prev, " folded", 7), HEAD_SCAN_OBS_FOLD);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_prev_carries_the_last_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
