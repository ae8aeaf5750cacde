#include "base/jsonx.h"

#include <jansson.h>

static enum jsonx_rc
parse_with(struct slice text, size_t max_bytes, size_t extra_flags, struct json_t **out)
{
    if (text.len > max_bytes) {
        return JSONX_TOO_LARGE;
    }
    json_error_t err;
    /* JSON_DECODE_ANY: a top-level scalar (e.g. null) is a value too.
     * Without JSON_DISABLE_EOF_CHECK jansson refuses anything but whitespace
     * after the value; without JSON_ALLOW_NUL it refuses \u0000 in strings. */
    json_t *v = json_loadb(text.ptr ? text.ptr : "", text.len,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | extra_flags, &err);
    if (v == NULL) {
        return JSONX_MALFORMED;
    }
    *out = v;
    return JSONX_OK;
}

enum jsonx_rc
jsonx_parse(struct slice text, size_t max_bytes, struct json_t **out)
{
    return parse_with(text, max_bytes, 0, out);
}

enum jsonx_rc
jsonx_parse_allow_nul(struct slice text, size_t max_bytes, struct json_t **out)
{
    return parse_with(text, max_bytes, JSON_ALLOW_NUL, out);
}

bool
jsonx_is_null(const struct json_t *v)
{
    return v != NULL && json_is_null(v);
}

bool
jsonx_is_object(const struct json_t *v)
{
    return v != NULL && json_is_object(v);
}

size_t
jsonx_array_len(const struct json_t *arr)
{
    return arr != NULL && json_is_array(arr) ? json_array_size(arr) : 0;
}

enum jsonx_get
jsonx_array_get_str(const struct json_t *arr, size_t i, struct slice *out)
{
    if (arr == NULL || !json_is_array(arr) || i >= json_array_size(arr)) {
        return JSONX_ABSENT;
    }
    const json_t *v = json_array_get(arr, i);
    if (json_is_null(v)) {
        return JSONX_NULL;
    }
    if (!json_is_string(v)) {
        return JSONX_WRONG_TYPE;
    }
    *out = slice_make(json_string_value(v), json_string_length(v));
    return JSONX_FOUND;
}

enum jsonx_get
jsonx_get(const struct json_t *obj, const char *key, const struct json_t **out)
{
    if (obj == NULL || !json_is_object(obj)) {
        return JSONX_ABSENT;
    }
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        return JSONX_ABSENT;
    }
    if (json_is_null(v)) {
        return JSONX_NULL;
    }
    *out = v;
    return JSONX_FOUND;
}

enum jsonx_get
jsonx_get_str(const struct json_t *obj, const char *key, struct slice *out)
{
    const json_t *v;
    enum jsonx_get rc = jsonx_get(obj, key, &v);
    if (rc != JSONX_FOUND) {
        return rc;
    }
    if (!json_is_string(v)) {
        return JSONX_WRONG_TYPE;
    }
    *out = slice_make(json_string_value(v), json_string_length(v));
    return JSONX_FOUND;
}

enum jsonx_get
jsonx_get_int(const struct json_t *obj, const char *key, int64_t *out)
{
    const json_t *v;
    enum jsonx_get rc = jsonx_get(obj, key, &v);
    if (rc != JSONX_FOUND) {
        return rc;
    }
    if (!json_is_integer(v)) {
        return JSONX_WRONG_TYPE;
    }
    *out = (int64_t)json_integer_value(v);
    return JSONX_FOUND;
}

enum jsonx_get
jsonx_get_bool(const struct json_t *obj, const char *key, bool *out)
{
    const json_t *v;
    enum jsonx_get rc = jsonx_get(obj, key, &v);
    if (rc != JSONX_FOUND) {
        return rc;
    }
    if (!json_is_boolean(v)) {
        return JSONX_WRONG_TYPE;
    }
    *out = json_is_true(v);
    return JSONX_FOUND;
}

enum jsonx_get
jsonx_get_array(const struct json_t *obj, const char *key, const struct json_t **out)
{
    const json_t *v;
    enum jsonx_get rc = jsonx_get(obj, key, &v);
    if (rc != JSONX_FOUND) {
        return rc;
    }
    if (!json_is_array(v)) {
        return JSONX_WRONG_TYPE;
    }
    *out = v;
    return JSONX_FOUND;
}

enum jsonx_get
jsonx_get_object(const struct json_t *obj, const char *key, const struct json_t **out)
{
    const json_t *v;
    enum jsonx_get rc = jsonx_get(obj, key, &v);
    if (rc != JSONX_FOUND) {
        return rc;
    }
    if (!json_is_object(v)) {
        return JSONX_WRONG_TYPE;
    }
    *out = v;
    return JSONX_FOUND;
}

static int
dump_to_buf(const char *chunk, size_t size, void *data)
{
    return buf_append((struct buf *)data, chunk, size) == 0 ? 0 : -1;
}

int
jsonx_dump(const struct json_t *value, bool sort_keys, struct buf *b)
{
    size_t start = b->len;
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | (sort_keys ? JSON_SORT_KEYS : 0);
    if (json_dump_callback(value, dump_to_buf, b, flags) != 0) {
        b->len = start;
        if (b->ptr != NULL) {
            b->ptr[start] = '\0';
        }
        return -1;
    }
    return 0;
}
