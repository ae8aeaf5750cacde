#include "base/field.h"

#include <string.h>

#include "base/scan.h"
#include "base/swar.h"
#include "base/xalloc.h"

/* Which part of the last field the last piece went to. */
enum field_cur {
    CUR_NONE = 0,
    CUR_NAME,
    CUR_VALUE,
};

bool
field_name_is_token(struct slice name)
{
    if (name.len == 0) {
        return false;
    }
    for (size_t i = 0; i < name.len; i++) {
        if (!scan_is_tchar((unsigned char)name.ptr[i])) {
            return false;
        }
    }
    return true;
}

/* A word that holds a byte field_value_is_valid refuses, or a tab (allowed,
 * but below 0x20 like the refused controls), is looked at byte by byte. */
static bool
word_needs_look(uint64_t w)
{
    return swar_has_below(w, 0x20) || swar_has_byte(w, 0x7f);
}

bool
field_value_is_valid(struct slice value)
{
    size_t i = 0;
    while (value.len - i >= 8 && !word_needs_look(swar_load(value.ptr + i))) {
        i += 8;
    }
    for (; i < value.len; i++) {
        unsigned char c = (unsigned char)value.ptr[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

bool
field_value_is_line_safe(struct slice value)
{
    return memchr(value.ptr, '\0', value.len) == NULL &&
           memchr(value.ptr, '\r', value.len) == NULL && memchr(value.ptr, '\n', value.len) == NULL;
}

void
field_list_init(struct field_list *l, size_t bytes_max, size_t count_max, size_t name_max)
{
    memset(l, 0, sizeof(*l));
    buf_init(&l->bytes, bytes_max);
    l->count_max = count_max;
    l->name_max = name_max;
}

void
field_list_cleanup(struct field_list *l)
{
    buf_cleanup(&l->bytes);
    xfree(l->refs);
    xfree(l->fields);
    memset(l, 0, sizeof(*l));
}

void
field_list_clear(struct field_list *l, bool shrink)
{
    if (shrink && l->bytes.alloc > FIELD_LIST_KEEP_BYTES) {
        buf_cleanup(&l->bytes); /* keeps its cap: reusable as it is */
    } else {
        buf_reset(&l->bytes);
    }
    l->count = 0;
    l->cur = CUR_NONE;
}

void
field_list_release(struct field_list *l)
{
    buf_cleanup(&l->bytes); /* keeps its max */
    xfree(l->refs);
    xfree(l->fields);
    l->refs = NULL;
    l->fields = NULL;
    l->refs_cap = 0;
    l->fields_cap = 0;
    l->count = 0;
    l->cur = CUR_NONE;
}

enum field_list_rc
field_list_add_name(struct field_list *l, const char *at, size_t len)
{
    if (l->cur != CUR_NAME) {
        if (l->bytes.alloc == 0 && l->bytes.max >= FIELD_LIST_FIRST_BYTES) {
            /* A typical head's fields in one allocation, not doublings
             * from 64 bytes. */
            buf_reserve(&l->bytes, FIELD_LIST_FIRST_BYTES);
        }
        if (l->count >= l->count_max) {
            return FIELD_LIST_ERR_COUNT;
        }
        if (l->count == l->refs_cap) {
            l->refs_cap = l->refs_cap ? l->refs_cap * 2 : 16;
            l->refs = xrealloc(l->refs, l->refs_cap * sizeof(l->refs[0]));
        }
        l->refs[l->count++] = (struct field_ref){.name_off = (uint32_t)l->bytes.len};
        l->cur = CUR_NAME;
    }
    struct field_ref *r = &l->refs[l->count - 1];
    if (len > l->name_max || r->name_len + len > l->name_max) {
        return FIELD_LIST_ERR_NAME_LEN;
    }
    if (buf_append(&l->bytes, at, len) != 0) {
        return FIELD_LIST_ERR_BYTES;
    }
    r->name_len += (uint32_t)len;
    return FIELD_LIST_OK;
}

enum field_list_rc
field_list_add_value(struct field_list *l, const char *at, size_t len)
{
    if (l->count == 0) {
        return FIELD_LIST_ERR_NO_NAME;
    }
    struct field_ref *r = &l->refs[l->count - 1];
    if (l->cur != CUR_VALUE) {
        r->value_off = (uint32_t)l->bytes.len;
        l->cur = CUR_VALUE;
    }
    if (buf_append(&l->bytes, at, len) != 0) {
        return FIELD_LIST_ERR_BYTES;
    }
    r->value_len += (uint32_t)len;
    return FIELD_LIST_OK;
}

enum field_list_rc
field_list_end_value(struct field_list *l)
{
    if (l->count == 0) {
        return FIELD_LIST_ERR_NO_NAME;
    }
    struct field_ref *r = &l->refs[l->count - 1];
    if (l->cur != CUR_VALUE) {
        r->value_off = (uint32_t)l->bytes.len; /* empty value */
    }
    l->cur = CUR_NONE;
    return FIELD_LIST_OK;
}

size_t
field_list_count(const struct field_list *l)
{
    return l->count;
}

const struct field *
field_list_build(struct field_list *l, size_t *out_count)
{
    if (l->count > l->fields_cap) {
        l->fields_cap = l->refs_cap;
        l->fields = xrealloc(l->fields, l->fields_cap * sizeof(l->fields[0]));
    }
    for (size_t i = 0; i < l->count; i++) {
        const struct field_ref *r = &l->refs[i];
        l->fields[i].name = slice_make(l->bytes.ptr + r->name_off, r->name_len);
        l->fields[i].value = slice_trim_ows(slice_make(l->bytes.ptr + r->value_off, r->value_len));
    }
    *out_count = l->count;
    return l->fields;
}
