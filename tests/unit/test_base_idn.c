/* base/idn: IDNA2008 validity, the A-label and U-label forms, and the
 * mixed-script rule (TS #39 "highly restrictive"), one table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/idn.h"
#include "base/xalloc.h"

struct row {
    const char *host;
    enum idn_rc rc;
    const char *ascii;   /* expected A-label form (OK and MIXED_SCRIPT) */
    const char *unicode; /* expected U-label form */
};

static const struct row rows[] = {
    /* Plain ASCII: nothing to do. */
    {"good.example.com", IDN_ASCII, NULL, NULL},
    {"127.0.0.1", IDN_ASCII, NULL, NULL},
    {"localhost", IDN_ASCII, NULL, NULL},
    {"xn-x.com", IDN_ASCII, NULL, NULL},
    /* Whole-script Cyrillic (a confusable of apple.com, but one script):
     * allowed, and always shown as its xn-- form first. */
    {"\xd0\xb0\xd1\x80\xd1\x80\xd3\x8f\xd0\xb5.com", IDN_OK, "xn--80ak6aa92e.com",
     "\xd0\xb0\xd1\x80\xd1\x80\xd3\x8f\xd0\xb5.com"},
    {"xn--80ak6aa92e.com", IDN_OK, "xn--80ak6aa92e.com",
     "\xd0\xb0\xd1\x80\xd1\x80\xd3\x8f\xd0\xb5.com"},
    {"XN--80AK6AA92E.COM", IDN_OK, "xn--80ak6aa92e.com",
     "\xd0\xb0\xd1\x80\xd1\x80\xd3\x8f\xd0\xb5.com"},
    /* Latin with one Cyrillic a (U+0430): mixed, in either form. */
    {"\xd0\xb0pple.com", IDN_ERR_MIXED_SCRIPT, "xn--pple-43d.com", "\xd0\xb0pple.com"},
    {"xn--pple-43d.com", IDN_ERR_MIXED_SCRIPT, "xn--pple-43d.com", "\xd0\xb0pple.com"},
    {"login.\xd0\xb0pple.com", IDN_ERR_MIXED_SCRIPT, "login.xn--pple-43d.com",
     "login.\xd0\xb0pple.com"},
    /* Latin + Greek omicron (U+03BF). */
    {"g\xce\xbf\xce\xbfgle.com", IDN_ERR_MIXED_SCRIPT, "xn--ggle-0nda.com",
     "g\xce\xbf\xce\xbfgle.com"},
    /* Latin with accents (one script), German sharp s kept (non-
     * transitional, as browsers). */
    {"b\xc3\xbc"
     "cher.example",
     IDN_OK, "xn--bcher-kva.example",
     "b\xc3\xbc"
     "cher.example"},
    {"fa\xc3\x9f.de", IDN_OK, "xn--fa-hia.de", "fa\xc3\x9f.de"},
    /* Japanese: Han + Hiragana + Katakana in one label is the usual mix. */
    {"\xe6\x97\xa5\xe6\x9c\xac\xe3\x81\xae\xe3\x82\xb5\xe3\x82\xa4\xe3\x83\x88.jp", IDN_OK,
     "xn--u9jxf0b3ds196acvb.jp",
     "\xe6\x97\xa5\xe6\x9c\xac\xe3\x81\xae\xe3\x82\xb5\xe3\x82\xa4\xe3\x83\x88.jp"},
    /* Korean: Hangul + Han. */
    {"\xed\x95\x9c\xea\xb5\xad\xe8\xaa\x9e.kr", IDN_OK, "xn--i42al99dim1a.kr",
     "\xed\x95\x9c\xea\xb5\xad\xe8\xaa\x9e.kr"},
    /* Digits and '-' are Common: they mix with anything. */
    {"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80-123.com", IDN_OK, "xn---123-u4dr2awjd.com",
     "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80-123.com"},
    /* Hangul + Hiragana is not one of the CJK sets. */
    {"\xed\x95\x9c\xe3\x81\x82.com", IDN_ERR_MIXED_SCRIPT, NULL, NULL},
    /* Cyrillic + Greek. */
    {"\xd0\xb0\xce\xb1.com", IDN_ERR_MIXED_SCRIPT, NULL, NULL},
    /* Full-width Latin is mapped to ASCII (UTS #46), as a browser does. */
    {"\xef\xbd\x87\xef\xbd\x8f\xef\xbd\x8f\xef\xbd\x84.com", IDN_OK, "good.com", "good.com"},
    /* Invalid: bad UTF-8, an empty A-label, an A-label of plain ASCII (it
     * does not round-trip), a bidi override, an A-label hiding a
     * disallowed code point, a leading combining mark, a symbol. */
    {"\xff.com", IDN_ERR_INVALID, NULL, NULL},
    {"xn--.com", IDN_ERR_INVALID, NULL, NULL},
    {"xn--zzzzzzz-.com", IDN_ERR_INVALID, NULL, NULL},
    {"a\xe2\x80\xae"
     "b.com",
     IDN_ERR_INVALID, NULL, NULL},                 /* U+202E RLO */
    {"xn--a-ecp.ru", IDN_ERR_INVALID, NULL, NULL}, /* "a" U+2488 */
    {"\xcc\x81"
     "a.com",
     IDN_ERR_INVALID, NULL, NULL},                     /* U+0301 first */
    {"\xe2\x98\x83.net", IDN_ERR_INVALID, NULL, NULL}, /* U+2603 snowman */
};

static void
test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        char *ascii = (char *)"unset";
        char *unicode = (char *)"unset";
        enum idn_rc rc = idn_host_parse(r->host, &ascii, &unicode);
        if (rc != r->rc) {
            print_error("row %zu (%s): got %s, want %s (ascii %s)\n", i, r->host, idn_rc_str(rc),
                        idn_rc_str(r->rc), ascii ? ascii : "-");
        }
        assert_int_equal(rc, r->rc);
        if (rc == IDN_OK || rc == IDN_ERR_MIXED_SCRIPT) {
            assert_non_null(ascii);
            assert_non_null(unicode);
            if (r->ascii != NULL) {
                assert_string_equal(ascii, r->ascii);
                assert_string_equal(unicode, r->unicode);
            }
        } else {
            assert_null(ascii);
            assert_null(unicode);
        }
        xfree(ascii);
        xfree(unicode);
    }
}

static void
test_rc_names(void **state)
{
    (void)state;
    assert_string_equal(idn_rc_str(IDN_OK), "ok");
    assert_string_equal(idn_rc_str(IDN_ASCII), "ascii");
    assert_string_equal(idn_rc_str(IDN_ERR_MIXED_SCRIPT), "mixed_script");
    assert_string_equal(idn_rc_str(IDN_ERR_INVALID), "invalid");
    assert_string_equal(idn_rc_str(IDN_RC_COUNT), "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_rc_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
