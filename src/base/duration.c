#include "base/duration.h"

#include <stdio.h>
#include <string.h>

#include "base/scan.h"

/* 1<<63: the magnitude of INT64_MIN, the largest value any step may reach. */
#define MAGNITUDE_MAX (1ULL << 63)

struct unit {
    const char *name;
    uint64_t ns;
};

/* Go's unit table; both spellings of micro (U+00B5 MICRO SIGN and U+03BC
 * GREEK SMALL LETTER MU) are accepted, as Go does. */
static const struct unit units[] = {
    {"ns", 1},
    {"us", DURATION_NS_PER_US},
    {"\xc2\xb5s", DURATION_NS_PER_US},
    {"\xce\xbcs", DURATION_NS_PER_US},
    {"ms", DURATION_NS_PER_MS},
    {"s", DURATION_NS_PER_S},
    {"m", DURATION_NS_PER_M},
    {"h", DURATION_NS_PER_H},
};

static bool
is_number_byte(unsigned char c)
{
    return c == '.' || scan_is_digit(c);
}

static bool
is_unit_byte(unsigned char c)
{
    return !is_number_byte(c);
}

/* Digits before the point. Go refuses the whole text once the value passes
 * 1<<63 (it cannot be a valid duration in any unit). Returns false on
 * overflow; *out_any says whether a digit was seen. */
static bool
leading_int(struct scan *s, uint64_t *out, bool *out_any)
{
    uint64_t v = 0;
    bool any = false;
    while (!scan_eof(s) && scan_is_digit((unsigned char)*s->p)) {
        if (v > MAGNITUDE_MAX / 10) {
            return false;
        }
        v = v * 10 + (uint64_t)(*s->p - '0');
        if (v > MAGNITUDE_MAX) {
            return false;
        }
        any = true;
        s->p++;
    }
    *out = v;
    *out_any = any;
    return true;
}

/* Digits after the point: value f and scale 10^k, where digits past the
 * point of overflow are consumed but ignored (Go's leadingFraction). */
static void
leading_fraction(struct scan *s, uint64_t *out_f, double *out_scale, bool *out_any)
{
    uint64_t f = 0;
    double scale = 1;
    bool overflow = false;
    bool any = false;
    while (!scan_eof(s) && scan_is_digit((unsigned char)*s->p)) {
        uint64_t d = (uint64_t)(*s->p - '0');
        s->p++;
        any = true;
        if (overflow) {
            continue;
        }
        if (f > (MAGNITUDE_MAX - 1) / 10 || f * 10 + d > MAGNITUDE_MAX) {
            overflow = true;
            continue;
        }
        f = f * 10 + d;
        scale *= 10;
    }
    *out_f = f;
    *out_scale = scale;
    *out_any = any;
}

static const struct unit *
find_unit(struct slice name)
{
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (slice_eq_cstr(name, units[i].name)) {
            return &units[i];
        }
    }
    return NULL;
}

/* One "<number><unit>" element; adds its nanoseconds to *total. */
static bool
parse_element(struct scan *s, uint64_t *total)
{
    uint64_t v = 0;
    uint64_t f = 0;
    double scale = 1;
    bool pre = false;
    bool post = false;
    if (!is_number_byte((unsigned char)scan_peek(s))) {
        return false;
    }
    if (!leading_int(s, &v, &pre)) {
        return false;
    }
    if (scan_byte(s, '.')) {
        leading_fraction(s, &f, &scale, &post);
    }
    if (!pre && !post) {
        return false; /* ".s" */
    }
    struct slice name = scan_while(s, is_unit_byte);
    const struct unit *u = find_unit(name);
    if (u == NULL) {
        return false; /* missing or unknown unit: "10", "7d" */
    }
    if (v > MAGNITUDE_MAX / u->ns) {
        return false;
    }
    v *= u->ns;
    if (f > 0) {
        /* Go computes the fraction in float64 (nanosecond-exact for every
         * unit up to hours); doing the same keeps results identical. */
        v += (uint64_t)((double)f * ((double)u->ns / scale));
        if (v > MAGNITUDE_MAX) {
            return false;
        }
    }
    /* Checked before adding: two elements of 1<<63 would wrap to zero. */
    if (v > MAGNITUDE_MAX - *total) {
        return false;
    }
    *total += v;
    return true;
}

bool
duration_parse_signed(struct slice text, int64_t *out_ns)
{
    struct scan s = scan_init(text);
    bool neg = false;
    if (scan_byte(&s, '-')) {
        neg = true;
    } else {
        (void)scan_byte(&s, '+'); /* optional */
    }
    if (slice_eq_cstr(scan_rest(&s), "0")) {
        *out_ns = 0;
        return true;
    }
    if (scan_eof(&s)) {
        return false;
    }
    uint64_t total = 0;
    while (!scan_eof(&s)) {
        if (!parse_element(&s, &total)) {
            return false;
        }
    }
    if (neg) {
        /* total <= 1<<63 here, so the negation fits in int64. */
        *out_ns = total == MAGNITUDE_MAX ? INT64_MIN : -(int64_t)total;
        return true;
    }
    if (total > (uint64_t)INT64_MAX) {
        return false;
    }
    *out_ns = (int64_t)total;
    return true;
}

bool
duration_parse(struct slice text, uint64_t *out_ns)
{
    int64_t v;
    if (!duration_parse_signed(text, &v) || v < 0) {
        return false;
    }
    *out_ns = (uint64_t)v;
    return true;
}

/* Appends "<whole>[.<frac>]" where frac is `digits` wide with trailing
 * zeros removed (Go prints 1.5s, not 1.500000000s). */
static size_t
put_decimal(char *out, size_t cap, uint64_t whole, uint64_t frac, unsigned digits)
{
    char fbuf[24];
    int n = snprintf(fbuf, sizeof(fbuf), "%0*llu", (int)digits, (unsigned long long)frac);
    size_t flen = n > 0 ? (size_t)n : 0;
    while (flen > 0 && fbuf[flen - 1] == '0') {
        flen--;
    }
    fbuf[flen] = '\0';
    n = snprintf(out, cap, flen ? "%llu.%s" : "%llu%s", (unsigned long long)whole, fbuf);
    return n > 0 ? (size_t)n : 0;
}

void
duration_format(uint64_t ns, char out[DURATION_TEXT_MAX])
{
    size_t cap = DURATION_TEXT_MAX;
    if (ns == 0) {
        memcpy(out, "0s", 3);
        return;
    }
    if (ns < DURATION_NS_PER_US) {
        snprintf(out, cap, "%lluns", (unsigned long long)ns);
        return;
    }
    if (ns < DURATION_NS_PER_MS) {
        size_t n = put_decimal(out, cap, ns / DURATION_NS_PER_US, ns % DURATION_NS_PER_US, 3);
        snprintf(out + n, cap - n, "\xc2\xb5s");
        return;
    }
    if (ns < DURATION_NS_PER_S) {
        size_t n = put_decimal(out, cap, ns / DURATION_NS_PER_MS, ns % DURATION_NS_PER_MS, 6);
        snprintf(out + n, cap - n, "ms");
        return;
    }
    uint64_t h = ns / DURATION_NS_PER_H;
    uint64_t m = ns % DURATION_NS_PER_H / DURATION_NS_PER_M;
    uint64_t rest = ns % DURATION_NS_PER_M;
    size_t n = 0;
    if (h > 0) {
        n = (size_t)snprintf(out, cap, "%lluh%llum", (unsigned long long)h, (unsigned long long)m);
    } else if (m > 0) {
        n = (size_t)snprintf(out, cap, "%llum", (unsigned long long)m);
    }
    n += put_decimal(out + n, cap - n, rest / DURATION_NS_PER_S, rest % DURATION_NS_PER_S, 9);
    snprintf(out + n, cap - n, "s");
}
