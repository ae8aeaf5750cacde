/* Internationalized host names (IDNA2008, RFC 5890-5893, with the UTS #46
 * non-transitional mapping browsers apply) and the mixed-script rule of
 * Unicode TS #39's "highly restrictive" profile, for names a user is
 * shown and asked to trust (the consent page's "Will redirect to").
 *
 * Pure: libidn2 and libunistring stay inside idn.c; no I/O. */
#pragma once

enum idn_rc {
    IDN_OK = 0,           /* an internationalized name: both forms set */
    IDN_ASCII,            /* plain ASCII, no "xn--" label: nothing to convert */
    IDN_ERR_MIXED_SCRIPT, /* valid IDNA, but a label mixes scripts: both forms set */
    IDN_ERR_INVALID,      /* not UTF-8, or not a valid IDNA2008 name: nothing set */
    IDN_RC_COUNT,
};

/* "ok", "ascii", "mixed_script", "invalid" (static). */
const char *idn_rc_str(enum idn_rc rc);

/* host: a DNS name as written in a URL (no brackets, no port), raw UTF-8
 * and/or "xn--" labels. On IDN_OK and IDN_ERR_MIXED_SCRIPT, *out_ascii is
 * the lowercase A-label form a browser looks up ("xn--80ak6aa92e.com") and
 * *out_unicode the U-label form ("аррӏе.com"), both owned (xfree);
 * otherwise both are set to NULL.
 *
 * A label mixes scripts when the scripts of its characters, leaving out
 * Common and Inherited (digits, '-', combining marks), are more than one,
 * except Latin with the usual CJK sets: Han + Hiragana + Katakana, Han +
 * Bopomofo, Han + Hangul (TS #39 5.2 "highly restrictive"). */
enum idn_rc idn_host_parse(const char *host, char **out_ascii, char **out_unicode)
    __attribute__((warn_unused_result));
