#include "oidc/form.h"

#include <jansson.h>

#include "base/form.h"
#include "bounds.h"

int
oidc_form_to_json(struct slice text, struct json_t **out)
{
    struct form_params params;
    if (form_parse(text, FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &params) != FORM_OK) {
        return -1;
    }
    json_t *obj = json_object();
    int rc = 0;
    for (size_t i = 0; i < params.count && rc == 0; i++) {
        const struct form_param *p = &params.items[i];
        /* jansson refuses keys and values that are not UTF-8. */
        json_t *name = json_stringn(p->name.ptr, p->name.len);
        json_t *value = json_stringn(p->value.ptr, p->value.len);
        if (name == NULL || value == NULL) {
            rc = -1;
        } else if (json_object_get(obj, json_string_value(name)) == NULL) {
            /* First occurrence wins (url.Values.Get). */
            rc = json_object_set(obj, json_string_value(name), value) == 0 ? 0 : -1;
        }
        json_decref(name);
        json_decref(value);
    }
    form_params_cleanup(&params);
    if (rc != 0) {
        json_decref(obj);
        return -1;
    }
    *out = obj;
    return 0;
}
