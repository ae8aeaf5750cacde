/* JSON through jansson, with caps and strictness (STYLE.md 3.7).
 *
 * Parsing is length-capped, refuses duplicate keys and embedded NULs, and
 * accepts exactly one value followed only by whitespace. Getters are typed:
 * they tell "absent" from "present with the wrong type", so a parser can
 * refuse a number where a string belongs instead of reading it as empty.
 * jansson's own header stays out of ours (json_t is forward-declared). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"

struct json_t;

enum jsonx_rc {
    JSONX_OK = 0,
    JSONX_TOO_LARGE, /* text longer than the cap; nothing was parsed */
    JSONX_MALFORMED, /* syntax error, duplicate key, NUL, trailing data */
    JSONX_RC_COUNT,
};

/* Parses text into *out (caller owns it: json_decref). Any JSON value is
 * accepted at the top level, including null; callers check the type. */
enum jsonx_rc jsonx_parse(struct slice text, size_t max_bytes, struct json_t **out)
    __attribute__((warn_unused_result));

/* Same, but strings may contain \u0000 (JSON_ALLOW_NUL). For parsers that
 * must answer a NUL inside one field with that field's own error rather
 * than "malformed JSON" (SPEC.md 3.2 step 6). The slices jsonx_get_str
 * then hands out may hold interior NUL bytes: use their length, never
 * strlen. */
enum jsonx_rc jsonx_parse_allow_nul(struct slice text, size_t max_bytes, struct json_t **out)
    __attribute__((warn_unused_result));

/* Top-level type checks for a parsed value (NULL gives false). */
bool jsonx_is_null(const struct json_t *v);
bool jsonx_is_object(const struct json_t *v);

enum jsonx_get {
    JSONX_FOUND = 0,
    JSONX_ABSENT,     /* key missing, or the object itself is not an object */
    JSONX_NULL,       /* key present with value null */
    JSONX_WRONG_TYPE, /* key present with another type */
};

/* Borrowed string (points into the json_t; valid while it lives); ptr is
 * NUL-terminated. jsonx_parse refuses strings with embedded NUL, so after it
 * ptr is also a plain C string (not so after jsonx_parse_allow_nul). */
enum jsonx_get jsonx_get_str(const struct json_t *obj, const char *key, struct slice *out);
/* Integers only (a JSON number with a fraction or exponent is WRONG_TYPE). */
enum jsonx_get jsonx_get_int(const struct json_t *obj, const char *key, int64_t *out);
enum jsonx_get jsonx_get_bool(const struct json_t *obj, const char *key, bool *out);
/* Borrowed array or object. */
enum jsonx_get jsonx_get_array(const struct json_t *obj, const char *key,
                               const struct json_t **out);
enum jsonx_get jsonx_get_object(const struct json_t *obj, const char *key,
                                const struct json_t **out);
/* Any value (borrowed). */
enum jsonx_get jsonx_get(const struct json_t *obj, const char *key, const struct json_t **out);

/* Elements of an array: the count (0 for a non-array), and element i as a
 * borrowed string: FOUND, JSONX_NULL for a null element, WRONG_TYPE for
 * another type, ABSENT when i is out of range or arr is not an array. */
size_t jsonx_array_len(const struct json_t *arr);
enum jsonx_get jsonx_array_get_str(const struct json_t *arr, size_t i, struct slice *out);

/* Compact serialisation appended to b (keys in insertion order unless
 * sort_keys). -1 at the buffer's cap. */
int jsonx_dump(const struct json_t *value, bool sort_keys, struct buf *b)
    __attribute__((warn_unused_result));
