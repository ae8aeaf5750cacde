#include "base/rfc3339.h"

#include <stdio.h>
#include <string.h>

#include "base/scan.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no libc time zone state is involved. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool
is_leap(uint64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool
rfc3339_parse(struct slice text, int64_t *out_s, int32_t *out_ns)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct scan s = scan_init(text);
    uint64_t y, mo, d, h, mi, se, oh = 0, om = 0;
    if (!scan_digits_n(&s, 4, &y) || !scan_byte(&s, '-') || !scan_digits_n(&s, 2, &mo) ||
        !scan_byte(&s, '-') || !scan_digits_n(&s, 2, &d) || !scan_byte(&s, 'T') ||
        !scan_digits_n(&s, 2, &h) || !scan_byte(&s, ':') || !scan_digits_n(&s, 2, &mi) ||
        !scan_byte(&s, ':') || !scan_digits_n(&s, 2, &se)) {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) {
        return false;
    }
    unsigned maxd = mdays[mo - 1] + (mo == 2 && is_leap(y) ? 1 : 0);
    if (d > maxd) {
        return false;
    }
    uint64_t ns = 0;
    if (scan_byte(&s, '.')) {
        unsigned digits = 0;
        while (scan_is_digit((unsigned char)scan_peek(&s))) {
            if (++digits > 9) {
                return false;
            }
            ns = ns * 10 + (uint64_t)(*s.p - '0');
            s.p++;
        }
        if (digits == 0) {
            return false;
        }
        for (; digits < 9; digits++) {
            ns *= 10;
        }
    }
    int sign = 0;
    if (scan_byte(&s, 'Z')) {
        sign = 0;
    } else if (scan_byte(&s, '+')) {
        sign = 1;
    } else if (scan_byte(&s, '-')) {
        sign = -1;
    } else {
        return false;
    }
    if (sign != 0 && (!scan_digits_n(&s, 2, &oh) || !scan_byte(&s, ':') ||
                      !scan_digits_n(&s, 2, &om) || oh > 23 || om > 59)) {
        return false;
    }
    if (!scan_eof(&s)) {
        return false;
    }
    int64_t secs = days_from_civil((int64_t)y, (unsigned)mo, (unsigned)d) * 86400 +
                   (int64_t)(h * 3600 + mi * 60 + se);
    secs -= sign * (int64_t)(oh * 3600 + om * 60);
    *out_s = secs;
    *out_ns = (int32_t)ns;
    return true;
}

void
rfc3339_format_ms(int64_t unix_ms, char *out)
{
    int64_t s = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
    int ms = (int)(unix_ms - s * 1000);
    int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
    int secs = (int)(s - days * 86400);
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* Years outside 0..9999 do not occur in our inputs; clamp so the
     * fixed-width output can never be exceeded. */
    if (y < 0) {
        y = 0;
    } else if (y > 9999) {
        y = 9999;
    }
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", (int)y, m % 100, d % 100,
             secs / 3600, secs / 60 % 60, secs % 60, ms);
    memcpy(out, tmp, RFC3339_MS_LEN);
    out[RFC3339_MS_LEN] = '\0';
}

void
rfc3339_format_s(int64_t unix_s, char *out)
{
    char full[RFC3339_MS_LEN + 1];
    rfc3339_format_ms(unix_s * 1000, full);
    /* Drop ".mmm" and keep the 'Z'. */
    for (int i = 0; i < 19; i++) {
        out[i] = full[i];
    }
    out[19] = 'Z';
    out[20] = '\0';
}
