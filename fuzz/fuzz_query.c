/* Fuzz target: form-urlencoded decoding in both modes (SPEC.md 3.0.7) and
 * the encoder it pairs with.
 *
 * Properties: form mode never accepts what query mode would change (a form
 * that parses gives the same pairs in query mode); decoded names and values
 * hold no NUL and are terminated where their length says; encoding the
 * decoded pairs and decoding them again in form mode gives them back; the
 * first-value lookup agrees with the pair list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "http/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same_pairs(const struct http_params *a, const struct http_params *b)
{
    if (a->count != b->count) {
        return false;
    }
    for (size_t i = 0; i < a->count; i++) {
        if (!slice_eq(a->items[i].name, b->items[i].name) ||
            !slice_eq(a->items[i].value, b->items[i].value)) {
            return false;
        }
    }
    return true;
}

static void
check_pairs(const struct http_params *p)
{
    for (size_t i = 0; i < p->count; i++) {
        const struct http_param *it = &p->items[i];
        if (strlen(it->name.ptr) != it->name.len || strlen(it->value.ptr) != it->value.len) {
            abort();
        }
    }
    if (p->count > 0) {
        size_t count = 0;
        const char *first = http_params_get(p, p->items[0].name.ptr, &count);
        if (count == 0 || first != p->items[0].value.ptr) {
            abort();
        }
    }
}

static void
check_round_trip(const struct http_params *p)
{
    struct buf b;
    buf_init(&b, 16 << 20);
    for (size_t i = 0; i < p->count; i++) {
        if (http_query_append_encoded(&b, p->items[i].name, p->items[i].value) != 0) {
            abort();
        }
    }
    struct http_params again;
    if (http_query_parse(buf_slice(&b), HTTP_QUERY_MODE_FORM, &again) != HTTP_QUERY_OK) {
        abort();
    }
    /* Pairs with an empty name and value encode as "=" and come back; the
     * count can only differ if encoding lost a pair. */
    if (!same_pairs(p, &again)) {
        abort();
    }
    http_params_cleanup(&again);
    buf_cleanup(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slice raw = slice_make((const char *)data, size);
    struct http_params query;
    struct http_params form;
    enum http_query_rc qrc = http_query_parse(raw, HTTP_QUERY_MODE_QUERY, &query);
    enum http_query_rc frc = http_query_parse(raw, HTTP_QUERY_MODE_FORM, &form);
    if (qrc == HTTP_QUERY_ERR_MALFORMED) {
        abort(); /* query mode drops, never fails on content */
    }
    if (frc == HTTP_QUERY_OK && (qrc != HTTP_QUERY_OK || !same_pairs(&query, &form))) {
        abort();
    }
    if (qrc == HTTP_QUERY_OK) {
        check_pairs(&query);
        check_round_trip(&query);
    }
    if (frc == HTTP_QUERY_OK) {
        check_pairs(&form);
    }
    http_params_cleanup(&query);
    http_params_cleanup(&form);

    char *text = xstrndup(raw.ptr, raw.len);
    (void)http_query_is_form_content_type(text);
    xfree(text);
    return 0;
}
