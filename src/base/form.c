#include "base/form.h"

#include <string.h>

#include "base/hex.h"
#include "base/strtab.h"
#include "base/xalloc.h"

static const char *const rc_names[FORM_RC_COUNT] = {
    [FORM_OK] = "ok",
    [FORM_ERR_MALFORMED] = "malformed",
    [FORM_ERR_TOO_MANY] = "too_many",
};

const char *
form_rc_str(enum form_rc rc)
{
    return strtab_name(rc_names, FORM_RC_COUNT, (size_t)rc, "unknown");
}

/* Decodes one component into dst (room for in.len bytes) and returns the
 * decoded length, or -1 for a '%' not followed by two hex digits, or for a
 * NUL byte (raw or "%00"; see the header for why NUL is refused). */
static long
decode_component(struct slice in, char *dst)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.ptr[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (in.len - i < 3) {
                return -1;
            }
            int hi = hex_value((unsigned char)in.ptr[i + 1]);
            int lo = hex_value((unsigned char)in.ptr[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') {
            return -1;
        }
        dst[n++] = (char)c;
    }
    return (long)n;
}

/* Segments with at least one byte: the most pairs raw can yield. */
static size_t
count_segments(struct slice raw)
{
    size_t count = 0;
    bool in_segment = false;
    for (size_t i = 0; i < raw.len; i++) {
        if (raw.ptr[i] == '&') {
            in_segment = false;
        } else if (!in_segment) {
            in_segment = true;
            count++;
        }
    }
    return count;
}

/* Decodes one non-empty segment ("name=value") into the pair, writing the
 * text at *bytes_used in bytes. False when the segment is bad. */
static bool
decode_pair(struct slice seg, char *bytes, size_t *bytes_used, struct form_param *out)
{
    /* Go refuses ';' as a separator rather than splitting on it. */
    if (memchr(seg.ptr, ';', seg.len) != NULL) {
        return false;
    }
    long eq = slice_find_byte(seg, '=');
    struct slice raw_name = eq < 0 ? seg : slice_make(seg.ptr, (size_t)eq);
    struct slice raw_value = eq < 0 ? SLICE_NULL : slice_skip(seg, (size_t)eq + 1);
    char *name = bytes + *bytes_used;
    long name_len = decode_component(raw_name, name);
    if (name_len < 0) {
        return false;
    }
    name[name_len] = '\0';
    char *value = name + name_len + 1;
    long value_len = decode_component(raw_value, value);
    if (value_len < 0) {
        return false;
    }
    value[value_len] = '\0';
    *bytes_used += (size_t)name_len + 1 + (size_t)value_len + 1;
    out->name = slice_make(name, (size_t)name_len);
    out->value = slice_make(value, (size_t)value_len);
    return true;
}

enum form_rc
form_parse(struct slice raw, enum form_mode mode, size_t params_max, struct form_params *out)
{
    memset(out, 0, sizeof(*out));
    size_t segments = count_segments(raw);
    size_t slots = segments < params_max ? segments : params_max;
    /* Every kept pair decodes to at most its segment's bytes plus two NULs. */
    struct form_params p = {
        .items = xcalloc(slots ? slots : 1, sizeof(struct form_param)),
        .count = 0,
        .bytes = xmalloc(raw.len + 2 * slots + 1),
    };
    size_t used = 0;
    enum form_rc rc = FORM_OK;
    size_t pos = 0;
    while (pos < raw.len) {
        struct slice rest = slice_skip(raw, pos);
        long amp = slice_find_byte(rest, '&');
        struct slice seg = amp < 0 ? rest : slice_make(rest.ptr, (size_t)amp);
        pos += seg.len + 1;
        if (seg.len == 0) {
            continue;
        }
        if (p.count == slots) {
            /* A further non-empty segment after the cap is full. It might
             * be one that query mode would drop, but telling costs a decode
             * of input we already refuse to hold; refuse either way. */
            rc = FORM_ERR_TOO_MANY;
            goto out;
        }
        if (!decode_pair(seg, p.bytes, &used, &p.items[p.count])) {
            if (mode == FORM_MODE_BODY) {
                rc = FORM_ERR_MALFORMED;
                goto out;
            }
            continue;
        }
        p.count++;
    }
    *out = p;
    return FORM_OK;
out:
    form_params_cleanup(&p);
    return rc;
}

void
form_params_cleanup(struct form_params *p)
{
    if (p == NULL) {
        return;
    }
    xfree(p->items);
    xfree(p->bytes);
    memset(p, 0, sizeof(*p));
}

const char *
form_params_get(const struct form_params *p, const char *name, size_t *out_count)
{
    const char *first = NULL;
    size_t count = 0;
    for (size_t i = 0; i < p->count; i++) {
        if (slice_eq_cstr(p->items[i].name, name)) {
            if (first == NULL) {
                first = p->items[i].value.ptr;
            }
            count++;
        }
    }
    if (out_count != NULL) {
        *out_count = count;
    }
    return first != NULL ? first : "";
}

const char *
form_params_find_repeated(const struct form_params *p, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t count = 0;
        (void)form_params_get(p, names[i], &count);
        if (count > 1) {
            return names[i];
        }
    }
    return NULL;
}

bool
form_is_content_type(const char *content_type)
{
    if (content_type == NULL) {
        return false;
    }
    struct slice v = slice_from_cstr(content_type);
    long semi = slice_find_byte(v, ';');
    if (semi >= 0) {
        v.len = (size_t)semi;
    }
    return slice_case_eq_cstr(slice_trim_ows(v), "application/x-www-form-urlencoded");
}

static bool
is_unescaped(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static size_t
escaped_len(struct slice s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        n += is_unescaped(c) || c == ' ' ? 1 : 3;
    }
    return n;
}

/* Caller has checked the room, so the appends cannot fail. */
static void
append_escaped_unchecked(struct buf *b, struct slice s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        int rc;
        if (is_unescaped(c)) {
            rc = buf_append_byte(b, (char)c);
        } else if (c == ' ') {
            rc = buf_append_byte(b, '+');
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = buf_append(b, esc, sizeof(esc));
        }
        (void)rc; /* room was reserved by the caller's length check */
    }
}

int
form_append_escaped(struct buf *b, struct slice s)
{
    if (escaped_len(s) > b->max - b->len) {
        return -1;
    }
    append_escaped_unchecked(b, s);
    return 0;
}

int
form_append_encoded(struct buf *b, struct slice name, struct slice value)
{
    bool sep = b->len > 0 && b->ptr[b->len - 1] != '?' && b->ptr[b->len - 1] != '&';
    size_t need = (sep ? 1 : 0) + escaped_len(name) + 1 + escaped_len(value);
    if (need > b->max - b->len) {
        return -1;
    }
    if (sep && buf_append_byte(b, '&') != 0) {
        return -1;
    }
    append_escaped_unchecked(b, name);
    if (buf_append_byte(b, '=') != 0) {
        return -1;
    }
    append_escaped_unchecked(b, value);
    return 0;
}
