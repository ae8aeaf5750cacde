/* http/status: one reason phrase per code for the status line and the
 * text error bodies; codes without one give "", never NULL or garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/status.h"

static void
test_reasons(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *reason;
    } rows[] = {
        {100, "Continue"},
        {200, "OK"},
        {204, "No Content"},
        {302, "Found"},
        {304, "Not Modified"},
        {307, "Temporary Redirect"},
        {400, "Bad Request"},
        {404, "Not Found"},
        {413, "Content Too Large"},
        {414, "URI Too Long"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
        /* No phrase: empty (RFC 9112 4). */
        {299, ""},
        {418, ""},
        {599, ""},
        {0, ""},
        {-1, ""},
        {600, ""},
        {1000, ""},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *got = http_status_reason(rows[i].status);
        assert_non_null(got);
        if (strcmp(got, rows[i].reason) != 0) {
            fail_msg("%d: \"%s\", want \"%s\"", rows[i].status, got, rows[i].reason);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
