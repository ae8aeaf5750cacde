/* A borrowed view of bytes: pointer and length, passed by value.
 *
 * A slice never owns memory and is never assumed NUL-terminated. Parsers
 * hand out slices that point into their input; whoever keeps one must keep
 * the input alive. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

struct slice {
    const char *ptr;
    size_t len;
};

/* SLICE_LIT("abc") makes a slice of a string literal without its NUL. */
#define SLICE_LIT(s) ((struct slice){.ptr = ("" s), .len = sizeof(s) - 1})
#define SLICE_NULL ((struct slice){.ptr = NULL, .len = 0})

static inline struct slice
slice_make(const char *ptr, size_t len)
{
    return (struct slice){.ptr = ptr, .len = len};
}

/* A slice of a C string; NULL gives the empty slice. */
static inline struct slice
slice_from_cstr(const char *s)
{
    return (struct slice){.ptr = s, .len = s ? strlen(s) : 0};
}

static inline bool
slice_is_empty(struct slice s)
{
    return s.len == 0;
}

static inline bool
slice_eq(struct slice a, struct slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool
slice_eq_cstr(struct slice a, const char *b)
{
    return slice_eq(a, slice_from_cstr(b));
}

/* ASCII case-insensitive comparison of n bytes. Not strncasecmp: that
 * stops at a NUL byte (so "a\0b" would equal "a\0c") and folds by locale. */
static inline bool
slice_case_eq_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i];
        unsigned char y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') {
            x = (unsigned char)(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = (unsigned char)(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

/* ASCII case-insensitive equality (header names, schemes, hosts). */
static inline bool
slice_case_eq(struct slice a, struct slice b)
{
    return a.len == b.len && slice_case_eq_n(a.ptr, b.ptr, a.len);
}

static inline bool
slice_case_eq_cstr(struct slice a, const char *b)
{
    return slice_case_eq(a, slice_from_cstr(b));
}

static inline bool
slice_starts_with(struct slice s, struct slice prefix)
{
    return s.len >= prefix.len && memcmp(s.ptr, prefix.ptr, prefix.len) == 0;
}

static inline bool
slice_case_starts_with(struct slice s, struct slice prefix)
{
    return s.len >= prefix.len && slice_case_eq_n(s.ptr, prefix.ptr, prefix.len);
}

/* Bytes from offset `from` to the end; empty when from >= len. */
static inline struct slice
slice_skip(struct slice s, size_t from)
{
    if (from >= s.len) {
        return (struct slice){.ptr = s.ptr + s.len, .len = 0};
    }
    return (struct slice){.ptr = s.ptr + from, .len = s.len - from};
}

/* Index of the first byte c, or -1. */
static inline long
slice_find_byte(struct slice s, char c)
{
    const char *p = s.len ? memchr(s.ptr, c, s.len) : NULL;
    return p ? (long)(p - s.ptr) : -1;
}

/* Strips leading and trailing spaces and horizontal tabs (OWS, RFC 9110 5.6.3). */
static inline struct slice
slice_trim_ows(struct slice s)
{
    while (s.len > 0 && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t')) {
        s.len--;
    }
    return s;
}

/* Strips all ASCII whitespace (space, \t, \n, \v, \f, \r) on both sides. */
static inline struct slice
slice_trim_space(struct slice s)
{
    while (s.len > 0 && strchr(" \t\n\v\f\r", s.ptr[0]) != NULL && s.ptr[0] != '\0') {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && strchr(" \t\n\v\f\r", s.ptr[s.len - 1]) != NULL &&
           s.ptr[s.len - 1] != '\0') {
        s.len--;
    }
    return s;
}
