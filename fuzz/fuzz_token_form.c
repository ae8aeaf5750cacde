/* Fuzz target: the pure front half of POST /token (SPEC.md 3.8 steps 3-6):
 * form-mode parsing, then the shipped checks of oauth/token_rules (the
 * repeated-singleton rule of 3.0.6, every `resource` against base and
 * base+mount per 3.12, the grant_type switch), ending in the error envelope
 * a handler would send. The resource rule is cross-checked against
 * oauth_resource_matches on each value. A refresh's `scope` goes through
 * oauth_scope_rules_refresh against a fixed grant: what comes out is never
 * more than was granted nor more than was asked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/form.h"
#include "base/scope.h"
#include "bounds.h"
#include "oauth/error.h"
#include "oauth/resource.h"
#include "oauth/scope_rules.h"
#include "oauth/token_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE "https://auth.example.com"
#define MOUNT "/mcp"

/* Whether every resource value is one of our two identifiers, decided
 * value by value with the lower-level matcher. */
static bool
resources_ok(const struct form_params *p)
{
    for (size_t i = 0; i < p->count; i++) {
        if (slice_eq_cstr(p->items[i].name, "resource") &&
            !oauth_resource_matches(p->items[i].value.ptr, BASE) &&
            !oauth_resource_matches(p->items[i].value.ptr, BASE MOUNT)) {
            return false;
        }
    }
    return true;
}

#define SUPPORTED "mcp:read mcp:write offline_access"
#define GRANTED "mcp:read offline_access"

static void
check_refresh_scope(const struct form_params *p)
{
    const char *asked = form_params_get(p, "scope", NULL);
    char out[OAUTH_SCOPE_RULES_MAX];
    const char *why = oauth_scope_rules_refresh(SUPPORTED, GRANTED, asked, out);
    struct slice rest = slice_from_cstr(asked);
    struct slice t;
    bool narrowed = scope_next(&rest, " ", &t);
    if (why != NULL) {
        if (out[0] != '\0') {
            abort();
        }
        return;
    }
    rest = slice_from_cstr(out);
    while (scope_next(&rest, " ", &t)) {
        if (!scope_has(GRANTED, t) || (narrowed && !scope_has(asked, t))) {
            abort();
        }
    }
}

/* Returns true when the request gets past steps 3-6; else fills err. */
static bool
front_checks(struct slice body, struct oauth_error *err)
{
    struct form_params p;
    if (form_parse(body, FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX, &p) != FORM_OK) {
        oauth_error_set(err, 400, OAUTH_ERROR_INVALID_REQUEST, "malformed form body");
        return false;
    }
    enum oauth_token_grant grant = OAUTH_TOKEN_GRANT_COUNT;
    bool ok = oauth_token_rules_front(&p, BASE, MOUNT, &grant, err);
    /* A pass means known grant and acceptable resources; an invalid_target
     * refusal means some resource really is foreign. */
    if (ok && (grant >= OAUTH_TOKEN_GRANT_COUNT || !resources_ok(&p))) {
        abort();
    }
    if (!ok && err->code == OAUTH_ERROR_INVALID_TARGET && resources_ok(&p)) {
        abort();
    }
    if (!ok && (err->status != 400 || err->description == NULL)) {
        abort();
    }
    if (ok && grant == OAUTH_TOKEN_GRANT_REFRESH_TOKEN) {
        check_refresh_scope(&p);
    }
    form_params_cleanup(&p);
    return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oauth_error err;
    if (!front_checks(slice_make((const char *)data, size), &err)) {
        struct buf body;
        buf_init(&body, 4096);
        if (oauth_error_format_json(&err, &body) != 0 || body.ptr[body.len - 1] != '\n') {
            abort();
        }
        buf_cleanup(&body);
    }
    return 0;
}
