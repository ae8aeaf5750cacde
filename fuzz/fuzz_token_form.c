/* Fuzz target: the pure front half of POST /token (SPEC.md 3.8 steps 3-6):
 * form-mode parsing, the repeated-singleton rule (3.0.6), every `resource`
 * against base and base+mount (3.12), and the grant_type switch, ending in
 * the error envelope a handler would send. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "http/query.h"
#include "oauth/error.h"
#include "oauth/resource.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE "https://auth.example.com"
#define MOUNT "/mcp"

static const char *const singletons[] = {
    "grant_type", "code", "redirect_uri", "client_id", "code_verifier", "refresh_token",
};

/* Returns true when the request gets past steps 3-6; else fills err. The
 * repeated-name description is written into desc. */
static bool
front_checks(struct slice body, struct oauth_error *err, struct buf *desc)
{
    struct http_params p;
    if (http_query_parse(body, HTTP_QUERY_MODE_FORM, &p) != HTTP_QUERY_OK) {
        oauth_error_set(err, 400, OAUTH_ERROR_INVALID_REQUEST, "malformed form body");
        return false;
    }
    bool ok = false;
    const char *repeated =
        http_params_find_repeated(&p, singletons, sizeof(singletons) / sizeof(singletons[0]));
    if (repeated != NULL) {
        if (buf_appendf(desc, "%s must not be repeated", repeated) != 0) {
            abort();
        }
        oauth_error_set(err, 400, OAUTH_ERROR_INVALID_REQUEST, buf_cstr(desc));
        goto out;
    }
    for (size_t i = 0; i < p.count; i++) {
        if (!slice_eq_cstr(p.items[i].name, "resource")) {
            continue;
        }
        const char *r = p.items[i].value.ptr;
        bool accepted = oauth_resource_accepted(r, BASE, MOUNT);
        if (accepted != (oauth_resource_matches(r, BASE) ||
                         oauth_resource_matches(r, BASE MOUNT))) {
            abort();
        }
        if (!accepted) {
            oauth_error_set(err, 400, OAUTH_ERROR_INVALID_TARGET,
                            "resource does not identify this authorization server");
            goto out;
        }
    }
    const char *grant = http_params_get(&p, "grant_type", NULL);
    if (strcmp(grant, "authorization_code") != 0 && strcmp(grant, "refresh_token") != 0) {
        oauth_error_set(err, 400, OAUTH_ERROR_UNSUPPORTED_GRANT_TYPE,
                        "grant_type must be authorization_code or refresh_token");
        goto out;
    }
    ok = true;
out:
    http_params_cleanup(&p);
    return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oauth_error err;
    struct buf desc;
    buf_init(&desc, 256);
    if (!front_checks(slice_make((const char *)data, size), &err, &desc)) {
        struct buf body;
        buf_init(&body, 4096);
        if (oauth_error_format_json(&err, &body) != 0 || body.ptr[body.len - 1] != '\n') {
            abort();
        }
        buf_cleanup(&body);
    }
    buf_cleanup(&desc);
    return 0;
}
