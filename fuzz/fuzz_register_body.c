/* Fuzz target: the POST /register body parser (SPEC.md 3.2 steps 1-8).
 *
 * Whatever is accepted must satisfy every rule on its own (so no path
 * through the parser skips one), and whatever is refused must come with a
 * status and description the error envelope can render. The JSON string
 * writer of the 201 body (oauth/reply.h) must turn any bytes into a JSON
 * string jansson reads back, and accepted (valid UTF-8) values into
 * exactly themselves. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/jsonx.h"
#include "bounds.h"
#include "oauth/error.h"
#include "oauth/redirect_uri.h"
#include "oauth/register_rules.h"
#include "oauth/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes s as a JSON string and reads it back; exact says the result must
 * equal s byte for byte (s is valid UTF-8 without U+FFFD surprises). */
static void
check_json_string(struct slice s, bool exact)
{
    struct buf b;
    buf_init(&b, 6 * s.len + 2);
    if (oauth_reply_append_json_string(&b, s) != 0) {
        abort();
    }
    json_t *v = NULL;
    if (jsonx_parse_allow_nul(buf_slice(&b), b.len, &v) != JSONX_OK || !json_is_string(v)) {
        abort();
    }
    if (exact &&
        (json_string_length(v) != s.len || memcmp(json_string_value(v), s.ptr, s.len) != 0)) {
        abort();
    }
    json_decref(v);
    buf_cleanup(&b);
}

static void
check_accepted(const struct oauth_registration *reg)
{
    if (reg->redirect_uri_count < 1 || reg->redirect_uri_count > BOUNDS_REDIRECT_URIS_MAX) {
        abort();
    }
    for (size_t i = 0; i < reg->redirect_uri_count; i++) {
        if (oauth_redirect_uri_check(reg->redirect_uris[i]) != NULL) {
            abort();
        }
        check_json_string(slice_from_cstr(reg->redirect_uris[i]), true);
    }
    size_t len = strlen(reg->client_name);
    if (len > BOUNDS_CLIENT_NAME_MAX_BYTES) {
        abort();
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)reg->client_name[i];
        if (c < 0x20 || c == 0x7f || c == ',') {
            abort();
        }
    }
    check_json_string(slice_from_cstr(reg->client_name), true);
    /* The echoed scope: capped, printable ASCII without '"' or '\\', no
     * leading, trailing or doubled space; echoed exactly. */
    if (reg->scope != NULL) {
        size_t n = strlen(reg->scope);
        if (n > BOUNDS_REGISTER_SCOPE_MAX_BYTES ||
            (n > 0 && (reg->scope[0] == ' ' || reg->scope[n - 1] == ' ')) ||
            strstr(reg->scope, "  ") != NULL) {
            abort();
        }
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)reg->scope[i];
            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
                abort();
            }
        }
        check_json_string(slice_from_cstr(reg->scope), true);
    }
    if (reg->refresh_token_grant && !reg->grant_types_set) {
        abort();
    }
    /* application_type is one of the two values, and "web" only when no
     * redirect is loopback or private-use (register_rules.h). */
    bool web = strcmp(reg->application_type, "web") == 0;
    if (!web && strcmp(reg->application_type, "native") != 0) {
        abort();
    }
    for (size_t i = 0; web && i < reg->redirect_uri_count; i++) {
        if (oauth_redirect_uri_kind(reg->redirect_uris[i]) != OAUTH_REDIRECT_URI_WEB) {
            abort();
        }
    }
    if (reg->application_type_coerced && web) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oauth_registration reg;
    struct oauth_error err;
    struct slice body = slice_make((const char *)data, size);
    check_json_string(slice_make(body.ptr, size < 4096 ? size : 4096), false);
    if (oauth_register_rules_parse(body, BOUNDS_OAUTH_BODY_MAX, &reg, &err) == 0) {
        check_accepted(&reg);
        oauth_register_rules_cleanup(&reg);
        return 0;
    }
    if ((err.status != 400 && err.status != 413) || err.description == NULL) {
        abort();
    }
    struct buf b;
    buf_init(&b, 4096);
    if (oauth_error_format_json(&err, &b) != 0 || b.len < 2 || b.ptr[b.len - 1] != '\n') {
        abort();
    }
    buf_cleanup(&b);
    return 0;
}
