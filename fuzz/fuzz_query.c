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
#include "base/form.h"
#include "base/xalloc.h"
#include "bounds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same_pairs(const struct form_params *a, const struct form_params *b)
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
check_pairs(const struct form_params *p)
{
    for (size_t i = 0; i < p->count; i++) {
        const struct form_param *it = &p->items[i];
        if (strlen(it->name.ptr) != it->name.len || strlen(it->value.ptr) != it->value.len) {
            abort();
        }
    }
    if (p->count > 0) {
        size_t count = 0;
        const char *first = form_params_get(p, p->items[0].name.ptr, &count);
        if (count == 0 || first != p->items[0].value.ptr) {
            abort();
        }
    }
}

static void
check_round_trip(const struct form_params *p)
{
    struct buf b;
    buf_init(&b, 16 << 20);
    for (size_t i = 0; i < p->count; i++) {
        if (form_append_encoded(&b, p->items[i].name, p->items[i].value) != 0) {
            abort();
        }
    }
    struct form_params again;
    if (form_parse(buf_slice(&b), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &again) != FORM_OK) {
        abort();
    }
    /* Pairs with an empty name and value encode as "=" and come back; the
     * count can only differ if encoding lost a pair. */
    if (!same_pairs(p, &again)) {
        abort();
    }
    form_params_cleanup(&again);
    buf_cleanup(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slice raw = slice_make((const char *)data, size);
    struct form_params query;
    struct form_params form;
    enum form_rc qrc = form_parse(raw, FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &query);
    enum form_rc frc = form_parse(raw, FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &form);
    if (qrc == FORM_ERR_MALFORMED) {
        abort(); /* query mode drops, never fails on content */
    }
    if (frc == FORM_OK && (qrc != FORM_OK || !same_pairs(&query, &form))) {
        abort();
    }
    if (qrc == FORM_OK) {
        check_pairs(&query);
        check_round_trip(&query);
    }
    if (frc == FORM_OK) {
        check_pairs(&form);
    }
    form_params_cleanup(&query);
    form_params_cleanup(&form);

    char *text = xstrndup(raw.ptr, raw.len);
    (void)form_is_content_type(text);
    xfree(text);
    return 0;
}
