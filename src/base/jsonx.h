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
    JSONX_TOO_LARGE,   /* text longer than the cap; nothing was parsed */
    JSONX_MALFORMED,   /* syntax error, duplicate key, NUL, trailing data */
    JSONX_RC_COUNT,
};

/* Parses text into *out (caller owns it: json_decref). Any JSON value is
 * accepted at the top level, including null; callers check the type. */
enum jsonx_rc jsonx_parse(struct slice text, size_t max_bytes, struct json_t **out)
    __attribute__((warn_unused_result));

enum jsonx_get {
    JSONX_FOUND = 0,
    JSONX_ABSENT,      /* key missing, or the object itself is not an object */
    JSONX_NULL,        /* key present with value null */
    JSONX_WRONG_TYPE,  /* key present with another type */
};

/* Borrowed string (points into the json_t; valid while it lives). Strings
 * with embedded NUL are refused at parse time, so ptr is NUL-terminated. */
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

/* Compact serialisation appended to b (keys in insertion order unless
 * sort_keys). -1 at the buffer's cap. */
int jsonx_dump(const struct json_t *value, bool sort_keys, struct buf *b)
    __attribute__((warn_unused_result));
