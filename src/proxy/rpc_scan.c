/* One pass over a JSON-RPC body: jansson's strict validation, and where
 * the fields are (see rpc_scan.h). An explicit stack instead of recursion,
 * so 2048 levels cost a few hundred bytes, not a deep C stack. */
#include "proxy/rpc_scan.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "bounds.h"

/* What a value is to the JSON-RPC reader, by where it stands. */
enum tag {
    TAG_NONE = 0,
    TAG_BATCH, /* the top-level array */
    TAG_MSG,   /* a message: the top-level value or a batch element */
    TAG_ID,    /* members of a message object */
    TAG_METHOD,
    TAG_PARAMS,
    TAG_RESULT,
    TAG_ERROR,
    TAG_NAME, /* members of a message's params object */
    TAG_URI,
};

struct key {
    size_t off; /* the raw text between the quotes */
    size_t len;
    uint32_t hash; /* of the decoded bytes */
    bool escaped;
};

/* Containers this deep or shallower carry a tag (TAG_MSG at 2 in a batch,
 * its params at 3, and one more level for a container member's span). */
#define TAGGED_DEPTH 5

struct scanner {
    const char *p;
    size_t n;
    size_t i;
    size_t depth; /* open containers */
    uint8_t is_obj[PROXY_RPC_SCAN_DEPTH_MAX / 8 + 1];
    uint8_t ctag[TAGGED_DEPTH];  /* tag of the open container at depth d (1-based) */
    size_t cstart[TAGGED_DEPTH]; /* where it began */
    struct key keys[BOUNDS_RPC_SCAN_KEYS_MAX];
    size_t key_count;
    size_t frame[BOUNDS_RPC_SCAN_KEYS_MAX + 1]; /* key_count when each open object began */
    size_t frame_count;
    struct proxy_rpc_msg *msg; /* the message being read, NULL outside one */
    struct proxy_rpc_scan *out;
};

/* ---- decoding a scanned string ------------------------------------------- */

struct dec {
    const char *p;
    size_t n;
    size_t i;
    unsigned char pend[4];
    size_t npend, ipend;
};

static unsigned
hex4(const char *p)
{
    unsigned v = 0;
    for (size_t k = 0; k < 4; k++) {
        v = v * 16 + (unsigned)hex_value((unsigned char)p[k]);
    }
    return v;
}

static size_t
utf8_put(unsigned cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* The next decoded byte of a string the scanner validated; -1 at its end. */
static int
dec_next(struct dec *d)
{
    if (d->ipend < d->npend) {
        return d->pend[d->ipend++];
    }
    if (d->i >= d->n) {
        return -1;
    }
    unsigned char c = (unsigned char)d->p[d->i];
    if (c != '\\') {
        d->i++;
        return c;
    }
    char e = d->p[d->i + 1];
    d->i += 2;
    switch (e) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'u':
        break;
    default:
        return (unsigned char)e; /* " \ / */
    }
    unsigned cp = hex4(d->p + d->i);
    d->i += 4;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        unsigned lo = hex4(d->p + d->i + 2);
        d->i += 6;
        cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
    }
    d->npend = utf8_put(cp, d->pend);
    d->ipend = 1;
    return d->pend[0];
}

static struct dec
dec_make(struct proxy_rpc_str s)
{
    return (struct dec){.p = s.raw.ptr, .n = s.raw.len};
}

size_t
proxy_rpc_str_len(struct proxy_rpc_str s)
{
    if (!s.escaped) {
        return s.raw.len;
    }
    struct dec d = dec_make(s);
    size_t n = 0;
    while (dec_next(&d) >= 0) {
        n++;
    }
    return n;
}

size_t
proxy_rpc_str_decode(struct proxy_rpc_str s, char *out)
{
    if (!s.escaped) {
        if (s.raw.len > 0) {
            memcpy(out, s.raw.ptr, s.raw.len);
        }
        return s.raw.len;
    }
    struct dec d = dec_make(s);
    size_t n = 0;
    int c;
    while ((c = dec_next(&d)) >= 0) {
        out[n++] = (char)c;
    }
    return n;
}

static int
ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Compares the decoded s with cstr; prefix: cstr need only start it and s
 * must go on past it. */
static bool
str_cmp(struct proxy_rpc_str s, const char *cstr, bool fold, bool prefix)
{
    struct dec d = dec_make(s);
    size_t k = 0;
    for (;;) {
        int c = dec_next(&d);
        int w = (unsigned char)cstr[k];
        if (w == 0) {
            return prefix ? c >= 0 : c < 0;
        }
        if (c < 0 || (fold ? ascii_lower(c) != ascii_lower(w) : c != w)) {
            return false;
        }
        k++;
    }
}

bool
proxy_rpc_str_eq_decoded(struct proxy_rpc_str s, const char *cstr)
{
    return str_cmp(s, cstr, false, false);
}

bool
proxy_rpc_str_case_eq(struct proxy_rpc_str s, const char *cstr)
{
    return str_cmp(s, cstr, true, false);
}

bool
proxy_rpc_str_case_prefix(struct proxy_rpc_str s, const char *prefix)
{
    return str_cmp(s, prefix, true, true);
}

static bool
is_kept(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '/' || c == '-' || c == '+';
}

size_t
proxy_rpc_str_sanitize(struct proxy_rpc_str s, size_t max_kept, char *out)
{
    /* As proxy_jsonrpc_sanitize over the decoded bytes: only ASCII is kept,
     * and no byte of a multi-byte character is ASCII. */
    struct dec d = dec_make(s);
    size_t n = 0;
    int c;
    while (n < max_kept && (c = dec_next(&d)) >= 0) {
        if (is_kept(c)) {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return n;
}

/* ---- scanning ---------------------------------------------------------------- */

static bool
is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void
skip_ws(struct scanner *s)
{
    while (s->i < s->n && is_ws(s->p[s->i])) {
        s->i++;
    }
}

static bool
hex4_at(const struct scanner *s, size_t i)
{
    if (i > s->n || s->n - i < 4) {
        return false;
    }
    for (size_t k = 0; k < 4; k++) {
        if (hex_value((unsigned char)s->p[i + k]) < 0) {
            return false;
        }
    }
    return true;
}

/* s->p[s->i] is '"'. On success *str is the text between the quotes and
 * s->i is past the closing one. */
static enum proxy_rpc_scan_rc
scan_string(struct scanner *s, struct proxy_rpc_str *str)
{
    size_t i = s->i + 1;
    size_t start = i;
    bool escaped = false;
    for (;;) {
        if (i >= s->n) {
            return PROXY_RPC_SCAN_MALFORMED;
        }
        unsigned char c = (unsigned char)s->p[i];
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return PROXY_RPC_SCAN_MALFORMED;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq_len((const unsigned char *)s->p + i, s->n - i);
            if (k == 0) {
                return PROXY_RPC_SCAN_MALFORMED;
            }
            i += k;
            continue;
        }
        if (c != '\\') {
            i++;
            continue;
        }
        escaped = true;
        if (i + 1 >= s->n) {
            return PROXY_RPC_SCAN_MALFORMED;
        }
        char e = s->p[i + 1];
        if (e != 'u') {
            if (strchr("\"\\/bfnrt", e) == NULL || e == '\0') {
                return PROXY_RPC_SCAN_MALFORMED;
            }
            i += 2;
            continue;
        }
        if (!hex4_at(s, i + 2)) {
            return PROXY_RPC_SCAN_MALFORMED;
        }
        unsigned cp = hex4(s->p + i + 2);
        i += 6;
        if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff)) {
            return PROXY_RPC_SCAN_MALFORMED; /* \u0000, or a lone low surrogate */
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (i + 1 >= s->n || s->p[i] != '\\' || s->p[i + 1] != 'u' || !hex4_at(s, i + 2)) {
                return PROXY_RPC_SCAN_MALFORMED;
            }
            unsigned lo = hex4(s->p + i + 2);
            if (lo < 0xdc00 || lo > 0xdfff) {
                return PROXY_RPC_SCAN_MALFORMED;
            }
            i += 6;
        }
    }
    str->raw = slice_make(s->p + start, i - start);
    str->escaped = escaped;
    s->i = i + 1;
    return PROXY_RPC_SCAN_OK;
}

/* Does the digit run d (no sign, no leading zero) fit int64, negative or
 * not? As strtoll's ERANGE. */
static bool
int_fits(const char *d, size_t len, bool neg)
{
    static const char max[] = "9223372036854775807";
    static const char min[] = "9223372036854775808";
    size_t lim = sizeof(max) - 1;
    if (len != lim) {
        return len < lim;
    }
    return memcmp(d, neg ? min : max, lim) <= 0;
}

/* 2^1024 - 2^970, the midpoint between DBL_MAX and 2^1024, in decimal:
 * a real at or past it is rounded to infinity by strtod (ties go to the
 * even 2^1024), which jansson refuses as "real number overflow". */
static const char overflow_digits[] =
    "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664901797"
    "75872070963302864166928879109465555478519404026306574886715058206819089020007083836762738548"
    "45817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711"
    "559699508093042880177904174497792";

/* Would strtod overflow on this (grammatically valid) JSON real? Exact,
 * without converting: the value is 0.D x 10^E with D its digits past the
 * leading zeros; it overflows when E > 309, or E == 309 and D >= the
 * threshold's digits. */
static bool
real_overflows(struct slice t)
{
    size_t i = t.ptr[0] == '-' ? 1 : 0;
    size_t first = i;
    int64_t frac_digits = 0;
    int64_t lead = -1; /* index in the digit run of the first non-zero digit */
    int64_t ndigits = 0;
    bool in_frac = false;
    for (; i < t.len && (is_digit(t.ptr[i]) || t.ptr[i] == '.'); i++) {
        if (t.ptr[i] == '.') {
            in_frac = true;
            continue;
        }
        frac_digits += in_frac;
        if (lead < 0 && t.ptr[i] != '0') {
            lead = ndigits;
        }
        ndigits++;
    }
    if (lead < 0) {
        return false; /* zero */
    }
    int64_t exp = 0;
    if (i < t.len) { /* 'e' or 'E' */
        i++;
        bool neg = t.ptr[i] == '-';
        i += t.ptr[i] == '-' || t.ptr[i] == '+';
        for (; i < t.len; i++) {
            if (exp < 1000000000) {
                exp = exp * 10 + (t.ptr[i] - '0');
            }
        }
        exp = neg ? -exp : exp;
    }
    int64_t e10 = (ndigits - lead) + exp - frac_digits;
    int64_t want = (int64_t)sizeof(overflow_digits) - 1;
    if (e10 != want) {
        return e10 > want;
    }
    /* Same magnitude: compare the digits from the first non-zero one. */
    int64_t k = 0;
    for (size_t j = first; j < t.len && k < want + 1; j++) {
        char c = t.ptr[j];
        if (c == 'e' || c == 'E') {
            break;
        }
        if (c == '.') {
            continue;
        }
        if (k == 0 && c == '0') {
            continue; /* leading zeros (before lead) */
        }
        if (k == want) {
            return true; /* equal so far and digits remain: one is enough, >= holds */
        }
        if (c != overflow_digits[k]) {
            return c > overflow_digits[k];
        }
        k++;
    }
    return k == want; /* equal: the tie rounds up */
}

static enum proxy_rpc_scan_rc
scan_number(struct scanner *s, uint8_t *type)
{
    size_t start = s->i;
    size_t i = s->i;
    bool neg = s->p[i] == '-';
    if (neg) {
        i++;
    }
    size_t digits = i;
    if (i >= s->n || !is_digit(s->p[i])) {
        return PROXY_RPC_SCAN_MALFORMED;
    }
    if (s->p[i] == '0') {
        i++;
        if (i < s->n && is_digit(s->p[i])) {
            return PROXY_RPC_SCAN_MALFORMED;
        }
    } else {
        while (i < s->n && is_digit(s->p[i])) {
            i++;
        }
    }
    size_t int_end = i;
    bool real = false;
    if (i < s->n && s->p[i] == '.') {
        real = true;
        i++;
        if (i >= s->n || !is_digit(s->p[i])) {
            return PROXY_RPC_SCAN_MALFORMED;
        }
        while (i < s->n && is_digit(s->p[i])) {
            i++;
        }
    }
    if (i < s->n && (s->p[i] == 'e' || s->p[i] == 'E')) {
        real = true;
        i++;
        if (i < s->n && (s->p[i] == '+' || s->p[i] == '-')) {
            i++;
        }
        if (i >= s->n || !is_digit(s->p[i])) {
            return PROXY_RPC_SCAN_MALFORMED;
        }
        while (i < s->n && is_digit(s->p[i])) {
            i++;
        }
    }
    s->i = i;
    if (!real) {
        *type = PROXY_RPC_INT;
        return int_fits(s->p + digits, int_end - digits, neg) ? PROXY_RPC_SCAN_OK
                                                              : PROXY_RPC_SCAN_MALFORMED;
    }
    *type = PROXY_RPC_REAL;
    return real_overflows(slice_make(s->p + start, i - start)) ? PROXY_RPC_SCAN_MALFORMED
                                                               : PROXY_RPC_SCAN_OK;
}

static bool
lit(struct scanner *s, const char *word)
{
    size_t len = strlen(word);
    if (s->n - s->i < len || memcmp(s->p + s->i, word, len) != 0) {
        return false;
    }
    s->i += len;
    return true;
}

static uint32_t
key_hash(struct proxy_rpc_str k, size_t *decoded_len)
{
    uint32_t h = 2166136261u;
    if (!k.escaped) {
        /* Decoding is the identity here: hash the raw bytes directly. */
        for (size_t i = 0; i < k.raw.len; i++) {
            h = (h ^ (unsigned char)k.raw.ptr[i]) * 16777619u;
        }
        *decoded_len = k.raw.len;
        return h;
    }
    struct dec d = dec_make(k);
    size_t n = 0;
    int c;
    while ((c = dec_next(&d)) >= 0) {
        h = (h ^ (uint32_t)c) * 16777619u;
        n++;
    }
    *decoded_len = n;
    return h;
}

static bool
key_eq(const struct scanner *s, const struct key *a, const struct key *b)
{
    if (!a->escaped && !b->escaped) {
        return a->len == b->len && memcmp(s->p + a->off, s->p + b->off, a->len) == 0;
    }
    struct dec da = {.p = s->p + a->off, .n = a->len};
    struct dec db = {.p = s->p + b->off, .n = b->len};
    for (;;) {
        int ca = dec_next(&da);
        int cb = dec_next(&db);
        if (ca != cb) {
            return false;
        }
        if (ca < 0) {
            return true;
        }
    }
}

/* A key of the innermost open object: refused when it repeats one. */
static enum proxy_rpc_scan_rc
add_key(struct scanner *s, struct proxy_rpc_str k)
{
    if (s->key_count == BOUNDS_RPC_SCAN_KEYS_MAX) {
        return PROXY_RPC_SCAN_FALLBACK;
    }
    size_t len;
    struct key *nk = &s->keys[s->key_count];
    nk->off = (size_t)(k.raw.ptr - s->p);
    nk->len = k.raw.len;
    nk->escaped = k.escaped;
    nk->hash = key_hash(k, &len);
    (void)len;
    for (size_t j = s->frame[s->frame_count - 1]; j < s->key_count; j++) {
        if (s->keys[j].hash == nk->hash && key_eq(s, &s->keys[j], nk)) {
            return PROXY_RPC_SCAN_MALFORMED;
        }
    }
    s->key_count++;
    return PROXY_RPC_SCAN_OK;
}

static enum tag
member_tag(enum tag container, struct proxy_rpc_str k)
{
    if (container == TAG_MSG) {
        static const struct {
            const char *name;
            enum tag tag;
        } msg_keys[] = {{"id", TAG_ID},
                        {"method", TAG_METHOD},
                        {"params", TAG_PARAMS},
                        {"result", TAG_RESULT},
                        {"error", TAG_ERROR}};
        for (size_t j = 0; j < sizeof(msg_keys) / sizeof(msg_keys[0]); j++) {
            if (proxy_rpc_str_eq(k, msg_keys[j].name)) {
                return msg_keys[j].tag;
            }
        }
    } else if (container == TAG_PARAMS) {
        if (proxy_rpc_str_eq(k, "name")) {
            return TAG_NAME;
        }
        if (proxy_rpc_str_eq(k, "uri")) {
            return TAG_URI;
        }
    }
    return TAG_NONE;
}

static enum proxy_rpc_scan_rc
begin_msg(struct scanner *s)
{
    struct proxy_rpc_scan *o = s->out;
    if (!o->is_batch) {
        s->msg = &o->one;
        return PROXY_RPC_SCAN_OK;
    }
    if (o->msg_count == BOUNDS_RPC_SCAN_BATCH_MAX) {
        return PROXY_RPC_SCAN_FALLBACK;
    }
    if (o->msg_count == o->msg_cap) {
        o->msg_cap = o->msg_cap == 0 ? 8 : 2 * o->msg_cap;
        o->msgs = xrealloc(o->msgs, o->msg_cap * sizeof(*o->msgs));
    }
    s->msg = &o->msgs[o->msg_count++];
    memset(s->msg, 0, sizeof(*s->msg));
    return PROXY_RPC_SCAN_OK;
}

/* A value with its tag is complete: [start, s->i) is its text. */
static void
finish_value(struct scanner *s, enum tag tag, uint8_t type, size_t start,
             const struct proxy_rpc_str *str)
{
    struct proxy_rpc_msg *m = s->msg;
    switch (tag) {
    case TAG_MSG:
        m->type = type;
        s->msg = NULL;
        break;
    case TAG_ID:
        m->id_type = type;
        m->id_raw = slice_make(s->p + start, s->i - start);
        break;
    case TAG_METHOD:
        m->method_type = type;
        if (str != NULL) {
            m->method = *str;
        }
        break;
    case TAG_PARAMS:
        m->params_type = type;
        break;
    case TAG_RESULT:
        m->has_result = true;
        break;
    case TAG_ERROR:
        m->has_error = true;
        break;
    case TAG_NAME:
        m->name_type = type;
        if (str != NULL) {
            m->name = *str;
        }
        break;
    case TAG_URI:
        m->uri_type = type;
        if (str != NULL) {
            m->uri = *str;
        }
        break;
    case TAG_NONE:
    case TAG_BATCH:
    default:
        break;
    }
}

static bool
top_is_obj(const struct scanner *s)
{
    return (s->is_obj[(s->depth - 1) / 8] >> ((s->depth - 1) % 8)) & 1;
}

static uint8_t
top_tag(const struct scanner *s)
{
    return s->depth < TAGGED_DEPTH ? s->ctag[s->depth] : TAG_NONE;
}

/* Opens a container whose '{' or '[' is at s->i. */
static enum proxy_rpc_scan_rc
open_container(struct scanner *s, bool obj, enum tag tag)
{
    size_t d = s->depth; /* index of the new level, 0-based */
    if (obj) {
        s->is_obj[d / 8] |= (uint8_t)(1u << (d % 8));
        if (s->frame_count == BOUNDS_RPC_SCAN_KEYS_MAX + 1) {
            return PROXY_RPC_SCAN_FALLBACK;
        }
        s->frame[s->frame_count++] = s->key_count;
    } else {
        s->is_obj[d / 8] &= (uint8_t) ~(1u << (d % 8));
    }
    s->depth++;
    if (s->depth < TAGGED_DEPTH) {
        s->ctag[s->depth] = (uint8_t)tag;
        s->cstart[s->depth] = s->i;
    }
    s->i++;
    return PROXY_RPC_SCAN_OK;
}

static void
close_container(struct scanner *s)
{
    bool obj = top_is_obj(s);
    enum tag tag = (enum tag)top_tag(s);
    size_t start = s->depth < TAGGED_DEPTH ? s->cstart[s->depth] : 0;
    if (obj) {
        s->key_count = s->frame[--s->frame_count];
    }
    s->depth--;
    s->i++;
    finish_value(s, tag, obj ? PROXY_RPC_OBJECT : PROXY_RPC_ARRAY, start, NULL);
}

enum state {
    ST_VALUE,     /* a value is due */
    ST_OBJ_FIRST, /* just after '{' */
    ST_ARR_FIRST, /* just after '[' */
    ST_KEY,       /* after ',' in an object */
    ST_AFTER,     /* after a value */
};

/* The tag of an element of the innermost (array) container. */
static enum tag
element_tag(const struct scanner *s)
{
    return top_tag(s) == TAG_BATCH ? TAG_MSG : TAG_NONE;
}

static enum proxy_rpc_scan_rc
scan_value(struct scanner *s, enum tag tag, enum state *next)
{
    if (s->depth + 1 > PROXY_RPC_SCAN_DEPTH_MAX) {
        return PROXY_RPC_SCAN_MALFORMED;
    }
    if (s->i >= s->n) {
        return PROXY_RPC_SCAN_MALFORMED;
    }
    enum proxy_rpc_scan_rc rc = PROXY_RPC_SCAN_OK;
    size_t start = s->i;
    char c = s->p[s->i];
    if (s->depth == 0 && c == '[') {
        s->out->is_batch = true;
        tag = TAG_BATCH;
    } else if (tag == TAG_MSG && (rc = begin_msg(s)) != PROXY_RPC_SCAN_OK) {
        return rc;
    }
    if (c == '{' || c == '[') {
        *next = c == '{' ? ST_OBJ_FIRST : ST_ARR_FIRST;
        return open_container(s, c == '{', tag);
    }
    struct proxy_rpc_str str;
    uint8_t type;
    if (c == '"') {
        rc = scan_string(s, &str);
        type = PROXY_RPC_STRING;
    } else if (c == '-' || is_digit(c)) {
        rc = scan_number(s, &type);
    } else if (lit(s, "true") || lit(s, "false")) {
        type = PROXY_RPC_BOOL;
    } else if (lit(s, "null")) {
        type = PROXY_RPC_NULL;
    } else {
        return PROXY_RPC_SCAN_MALFORMED;
    }
    if (rc != PROXY_RPC_SCAN_OK) {
        return rc;
    }
    finish_value(s, tag, type, start, type == PROXY_RPC_STRING ? &str : NULL);
    if (type != PROXY_RPC_STRING && s->i < s->n && s->p[s->i] == '\0') {
        /* jansson's quirk: the byte after a number or literal is read and
         * pushed back, and a pushed-back NUL is lost, so one NUL right
         * after one is skipped ("[1\0]" parses). Found by fuzz rpc_scan. */
        s->i++;
        if (s->depth == 1 && !s->out->is_batch && s->out->one.id_type == PROXY_RPC_ABSENT) {
            s->out->one.id_text_lost = true;
        }
    }
    *next = ST_AFTER;
    return PROXY_RPC_SCAN_OK;
}

/* A key, its ':' and the value's tag. */
static enum proxy_rpc_scan_rc
scan_key(struct scanner *s, enum tag *tag)
{
    if (s->i >= s->n || s->p[s->i] != '"') {
        return PROXY_RPC_SCAN_MALFORMED;
    }
    struct proxy_rpc_str k;
    enum proxy_rpc_scan_rc rc = scan_string(s, &k);
    if (rc == PROXY_RPC_SCAN_OK) {
        rc = add_key(s, k);
    }
    if (rc != PROXY_RPC_SCAN_OK) {
        return rc;
    }
    skip_ws(s);
    if (s->i >= s->n || s->p[s->i] != ':') {
        return PROXY_RPC_SCAN_MALFORMED;
    }
    s->i++;
    *tag = member_tag((enum tag)top_tag(s), k);
    return PROXY_RPC_SCAN_OK;
}

static enum proxy_rpc_scan_rc
scan(struct scanner *s)
{
    enum state st = ST_VALUE;
    enum tag tag = TAG_MSG;
    for (;;) {
        skip_ws(s);
        enum proxy_rpc_scan_rc rc = PROXY_RPC_SCAN_OK;
        switch (st) {
        case ST_VALUE:
            rc = scan_value(s, tag, &st);
            break;
        case ST_OBJ_FIRST:
        case ST_KEY:
            if (st == ST_OBJ_FIRST && s->i < s->n && s->p[s->i] == '}') {
                close_container(s);
                st = ST_AFTER;
                break;
            }
            rc = scan_key(s, &tag);
            st = ST_VALUE;
            break;
        case ST_ARR_FIRST:
            if (s->i < s->n && s->p[s->i] == ']') {
                close_container(s);
                st = ST_AFTER;
                break;
            }
            tag = element_tag(s);
            st = ST_VALUE;
            break;
        case ST_AFTER:
        default:
            if (s->depth == 0) {
                return s->i == s->n ? PROXY_RPC_SCAN_OK : PROXY_RPC_SCAN_MALFORMED;
            }
            if (s->i >= s->n) {
                return PROXY_RPC_SCAN_MALFORMED;
            }
            char c = s->p[s->i];
            bool obj = top_is_obj(s);
            if (c == ',') {
                s->i++;
                if (obj) {
                    st = ST_KEY;
                } else {
                    tag = element_tag(s);
                    st = ST_VALUE;
                }
            } else if (c == (obj ? '}' : ']')) {
                close_container(s);
            } else {
                return PROXY_RPC_SCAN_MALFORMED;
            }
            break;
        }
        if (rc != PROXY_RPC_SCAN_OK) {
            return rc;
        }
    }
}

void
proxy_rpc_scan_body(struct slice body, size_t max_bytes, struct proxy_rpc_scan *out)
{
    memset(out, 0, sizeof(*out));
    if (body.len > max_bytes) {
        out->rc = PROXY_RPC_SCAN_MALFORMED;
        return;
    }
    /* The scanner's stack is about 3 KiB: on the C stack, not the heap. */
    struct scanner s;
    s.p = body.ptr != NULL ? body.ptr : "";
    s.n = body.len;
    s.i = 0;
    s.depth = 0;
    s.key_count = 0;
    s.frame_count = 0;
    s.msg = NULL;
    s.out = out;
    out->rc = scan(&s);
}

void
proxy_rpc_scan_cleanup(struct proxy_rpc_scan *s)
{
    xfree(s->msgs);
    memset(s, 0, sizeof(*s));
}

/* ---- the id re-encoded ---------------------------------------------------------- */

/* A real id as jansson writes it ("%.17g" with its fix-ups): through
 * jansson itself, since only a full decimal-to-double conversion gives
 * the digits (rare: ids are strings or integers in practice). */
static char *
real_json(struct slice raw, char *small, size_t small_cap, bool *owned)
{
    json_t *v = json_loadb(raw.ptr, raw.len, JSON_DECODE_ANY, NULL);
    char *text = v != NULL ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(v);
    const char *t = text != NULL ? text : "null"; /* cannot happen: the scan read it */
    size_t len = strlen(t);
    char *out = small;
    if (len + 1 > small_cap) {
        out = xmalloc(len + 1);
        *owned = true;
    }
    memcpy(out, t, len + 1);
    free(text); /* jansson's allocator is libc's */
    return out;
}

/* Writes the JSON string of the decoded s as jansson's dump_string does
 * (no JSON_ENSURE_ASCII, no JSON_ESCAPE_SLASH) to out when out is not
 * NULL; returns the length either way. */
static size_t
string_json(struct proxy_rpc_str s, char *out)
{
    static const char hexd[] = "0123456789ABCDEF";
    struct dec d = dec_make(s);
    size_t n = 0;
    char esc[7];
    if (out != NULL) {
        out[n] = '"';
    }
    n++;
    int c;
    while ((c = dec_next(&d)) >= 0) {
        size_t k = 0;
        switch (c) {
        case '\\':
        case '"':
            esc[k++] = '\\';
            esc[k++] = (char)c;
            break;
        case '\b':
            memcpy(esc, "\\b", 2);
            k = 2;
            break;
        case '\f':
            memcpy(esc, "\\f", 2);
            k = 2;
            break;
        case '\n':
            memcpy(esc, "\\n", 2);
            k = 2;
            break;
        case '\r':
            memcpy(esc, "\\r", 2);
            k = 2;
            break;
        case '\t':
            memcpy(esc, "\\t", 2);
            k = 2;
            break;
        default:
            if (c < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hexd[c >> 4];
                esc[5] = hexd[c & 15];
                k = 6;
            } else {
                esc[k++] = (char)c;
            }
            break;
        }
        if (out != NULL) {
            memcpy(out + n, esc, k);
        }
        n += k;
    }
    if (out != NULL) {
        out[n] = '"';
    }
    return n + 1;
}

char *
proxy_rpc_msg_id_json(const struct proxy_rpc_msg *m, char *small, size_t small_cap, bool *owned)
{
    /* small_cap >= 5 ("null") is asked of every caller. */
    *owned = false;
    switch (m->id_type) {
    case PROXY_RPC_INT:
        if (m->id_raw.len == 2 && memcmp(m->id_raw.ptr, "-0", 2) == 0) {
            memcpy(small, "0", 2);
            return small;
        }
        break; /* JSON integers are already in %lld's form */
    case PROXY_RPC_REAL:
        return real_json(m->id_raw, small, small_cap, owned);
    case PROXY_RPC_STRING: {
        struct proxy_rpc_str s = {.raw = slice_make(m->id_raw.ptr + 1, m->id_raw.len - 2),
                                  .escaped = true};
        size_t len = string_json(s, NULL);
        char *out = small;
        if (len + 1 > small_cap) {
            out = xmalloc(len + 1);
            *owned = true;
        }
        (void)string_json(s, out);
        out[len] = '\0';
        return out;
    }
    default:
        memcpy(small, "null", 5);
        return small;
    }
    char *out = small;
    if (m->id_raw.len + 1 > small_cap) {
        out = xmalloc(m->id_raw.len + 1);
        *owned = true;
    }
    memcpy(out, m->id_raw.ptr, m->id_raw.len);
    out[m->id_raw.len] = '\0';
    return out;
}
