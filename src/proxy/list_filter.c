#include "proxy/list_filter.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/jsonx.h"

struct kind_def {
    const char *list_method;
    const char *call_method;
    const char *array_key;
    const char *name_key;
};

static const struct kind_def kinds[PROXY_LIST_KIND_COUNT] = {
    [PROXY_LIST_TOOLS] = {"tools/list", "tools/call", "tools", "name"},
    [PROXY_LIST_PROMPTS] = {"prompts/list", "prompts/get", "prompts", "name"},
    [PROXY_LIST_RESOURCES] = {"resources/list", "resources/read", "resources", "uri"},
    [PROXY_LIST_RESOURCE_TEMPLATES] = {"resources/templates/list", "resources/read",
                                       "resourceTemplates", "uriTemplate"},
};

bool
proxy_list_filter_kind_of(struct slice method, enum proxy_list_filter_kind *out_kind)
{
    for (size_t i = 0; i < PROXY_LIST_KIND_COUNT; i++) {
        if (slice_eq_cstr(method, kinds[i].list_method)) {
            *out_kind = (enum proxy_list_filter_kind)i;
            return true;
        }
    }
    return false;
}

const char *
proxy_list_filter_call_method(enum proxy_list_filter_kind kind)
{
    return kind < PROXY_LIST_KIND_COUNT ? kinds[kind].call_method : "";
}

int
proxy_list_filter_init(struct proxy_list_filter *f, enum proxy_list_filter_kind kind,
                       struct slice id_json, proxy_list_filter_visible_fn visible, void *arg)
{
    *f = (struct proxy_list_filter){.kind = kind, .visible = visible, .arg = arg};
    json_t *id = NULL;
    if (kind >= PROXY_LIST_KIND_COUNT || jsonx_parse(id_json, id_json.len, &id) != JSONX_OK) {
        return -1;
    }
    if (!json_is_string(id) && !json_is_number(id)) {
        json_decref(id);
        return -1;
    }
    f->id = id;
    return 0;
}

void
proxy_list_filter_cleanup(struct proxy_list_filter *f)
{
    json_decref(f->id);
    f->id = NULL;
}

/* A number's text as a client might spell the id in a string: integers in
 * decimal, whole reals as integers ("1" for 1.0). false: no such text. */
static bool
number_text(const json_t *v, char *out, size_t out_len)
{
    if (json_is_integer(v)) {
        return snprintf(out, out_len, "%lld", (long long)json_integer_value(v)) < (int)out_len;
    }
    double d = json_real_value(v);
    if (d != floor(d) || fabs(d) > 9.0e15) {
        return snprintf(out, out_len, "%.17g", d) < (int)out_len;
    }
    return snprintf(out, out_len, "%lld", (long long)d) < (int)out_len;
}

/* Loose id equality: equal JSON, equal numbers (1 and 1.0), or a string
 * that spells the other's number ("1" and 1). Matching too much only
 * filters more; matching too little would let a respelt id through. */
static bool
id_matches(const json_t *want, const json_t *got)
{
    if (got == NULL) {
        return false;
    }
    if (json_equal((json_t *)want, (json_t *)got)) {
        return true;
    }
    if (json_is_number(want) && json_is_number(got)) {
        return json_number_value(want) == json_number_value(got);
    }
    const json_t *num = json_is_number(want) ? want : got;
    const json_t *str = json_is_string(want) ? want : got;
    if (!json_is_number(num) || !json_is_string(str)) {
        return false;
    }
    char text[64];
    return number_text(num, text, sizeof(text)) && strcmp(text, json_string_value(str)) == 0;
}

static bool
has_result(const json_t *v)
{
    return json_is_object(v) && json_object_get(v, "result") != NULL;
}

/* Removes the entries the caller may not see from result[array_key];
 * returns how many went. */
static size_t
filter_result(const struct proxy_list_filter *f, json_t *result)
{
    const struct kind_def *k = &kinds[f->kind];
    json_t *items = json_object_get(result, k->array_key);
    if (!json_is_array(items)) {
        return 0; /* no list: nothing to hide (the client finds no entries either) */
    }
    size_t hidden = 0;
    size_t i = 0;
    while (i < json_array_size(items)) {
        json_t *item = json_array_get(items, i);
        json_t *name = json_is_object(item) ? json_object_get(item, k->name_key) : NULL;
        bool show = json_is_string(name) &&
                    f->visible(f->arg, f->kind,
                               slice_make(json_string_value(name), json_string_length(name)));
        if (show) {
            i++;
            continue;
        }
        (void)json_array_remove(items, i); /* in range: cannot fail */
        hidden++;
    }
    return hidden;
}

enum proxy_list_filter_rc
proxy_list_filter_message(const struct proxy_list_filter *f, struct slice text, size_t max_bytes,
                          struct buf *out, size_t *out_hidden)
{
    *out_hidden = 0;
    json_t *msg = NULL;
    enum proxy_list_filter_rc rc = PROXY_LIST_FILTER_WITHHELD;
    if (jsonx_parse(text, max_bytes, &msg) != JSONX_OK) {
        goto out;
    }
    if (json_is_array(msg)) {
        /* A batch answering a single request is not MCP; one holding a
         * result could carry the list past the filter. */
        size_t n = json_array_size(msg);
        for (size_t i = 0; i < n; i++) {
            if (has_result(json_array_get(msg, i))) {
                goto out;
            }
        }
        rc = PROXY_LIST_FILTER_PASS;
        goto out;
    }
    if (!has_result(msg)) {
        rc = PROXY_LIST_FILTER_PASS; /* an error, a notification, a server request */
        goto out;
    }
    if (!id_matches(f->id, json_object_get(msg, "id"))) {
        goto out; /* a result for a request this exchange did not send */
    }
    json_t *result = json_object_get(msg, "result");
    size_t hidden = json_is_object(result) ? filter_result(f, result) : 0;
    if (hidden == 0) {
        rc = PROXY_LIST_FILTER_PASS;
        goto out;
    }
    if (jsonx_dump(msg, false, out) != 0) {
        goto out; /* past the caller's cap */
    }
    *out_hidden = hidden;
    rc = PROXY_LIST_FILTER_REWRITTEN;
out:
    json_decref(msg);
    return rc;
}

int
proxy_list_filter_format_error(const struct proxy_list_filter *f, const char *reason,
                               struct buf *out)
{
    if (buf_append_str(out, "{\"jsonrpc\":\"2.0\",\"id\":") != 0 ||
        jsonx_dump(f->id, false, out) != 0) {
        return -1;
    }
    return buf_appendf(out, ",\"error\":{\"code\":%d,\"message\":\"%s\"}}",
                       PROXY_LIST_FILTER_ERROR_CODE, reason);
}
