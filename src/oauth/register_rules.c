#include "oauth/register_rules.h"

#include <jansson.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/xalloc.h"
#include "oauth/redirect_uri.h"

/* The members of RFC 7591 metadata we read, as decoded, before the rules
 * run. Slices and arrays borrow from the parsed document. */
struct decoded {
    const struct json_t *uris; /* array, or NULL when absent/null */
    size_t uri_count;
    struct slice client_name;
    struct slice auth_method;
    const struct json_t *grant_types;    /* array of strings, or NULL */
    const struct json_t *response_types; /* array of strings, or NULL */
    bool scope_set;
    struct slice scope;
    struct slice application_type;
    bool application_type_not_str; /* present, not a string, not null */
};

static int
fail(struct oauth_error *err, int status, enum oauth_error_code code, const char *description)
{
    oauth_error_set(err, status, code, description);
    return -1;
}

/* A string member: absent and null read as "" (Go's zero value); any other
 * type is a decode error. */
static bool
get_optional_str(const struct json_t *doc, const char *key, struct slice *out)
{
    *out = SLICE_LIT("");
    enum jsonx_get g = jsonx_get_str(doc, key, out);
    return g != JSONX_WRONG_TYPE;
}

/* An optional array of strings: absent and null read as NULL; another
 * type, or an element that is not a string, is a decode error. */
static bool
get_string_array(const struct json_t *doc, const char *key, const struct json_t **out)
{
    *out = NULL;
    enum jsonx_get g = jsonx_get_array(doc, key, out);
    if (g == JSONX_WRONG_TYPE) {
        return false;
    }
    if (g != JSONX_FOUND) {
        *out = NULL;
        return true;
    }
    for (size_t i = 0; i < jsonx_array_len(*out); i++) {
        struct slice s;
        if (jsonx_array_get_str(*out, i, &s) != JSONX_FOUND) {
            return false;
        }
    }
    return true;
}

/* Whether the string array arr (NULL = none) holds want. */
static bool
array_has(const struct json_t *arr, const char *want)
{
    for (size_t i = 0; i < jsonx_array_len(arr); i++) {
        struct slice s = SLICE_LIT("");
        (void)jsonx_array_get_str(arr, i, &s);
        if (slice_eq_cstr(s, want)) {
            return true;
        }
    }
    return false;
}

/* RFC 6749 3.3: scope = scope-token *( SP scope-token ), scope-token =
 * 1*( %x21 / %x23-5B / %x5D-7E ); "" (no scope) is accepted too. */
static bool
scope_is_valid(struct slice scope)
{
    bool token_open = false;
    for (size_t i = 0; i < scope.len; i++) {
        unsigned char c = (unsigned char)scope.ptr[i];
        if (c == ' ') {
            if (!token_open) {
                return false; /* leading or doubled space */
            }
            token_open = false;
        } else if (c >= 0x21 && c <= 0x7e && c != '"' && c != '\\') {
            token_open = true;
        } else {
            return false;
        }
    }
    return scope.len == 0 || token_open; /* no trailing space */
}

/* Whether the method is one RFC 7591 3.2.1 lets us replace by "none": a
 * shared-secret method (the SDK's own example client asks for
 * client_secret_post) that a public client does without. */
static bool
auth_method_is_replaceable(struct slice m)
{
    return slice_eq_cstr(m, "client_secret_post") || slice_eq_cstr(m, "client_secret_basic");
}

/* Not in SPEC.md: a value of the wrong type is the metadata error every
 * other bad value gets, not "invalid JSON body". */
static bool
decode_application_type(const struct json_t *doc, struct decoded *d)
{
    d->application_type_not_str = !get_optional_str(doc, "application_type", &d->application_type);
    return true;
}

/* SPEC.md 3.2 step 1: the shape {redirect_uris:[string], client_name:string,
 * token_endpoint_auth_method:string, application_type:string}; a null
 * document is all-empty. */
static bool
decode(const struct json_t *doc, struct decoded *d)
{
    memset(d, 0, sizeof(*d));
    if (!jsonx_is_null(doc) && !jsonx_is_object(doc)) {
        return false;
    }
    enum jsonx_get g = jsonx_get_array(doc, "redirect_uris", &d->uris);
    if (g == JSONX_WRONG_TYPE) {
        return false;
    }
    if (g != JSONX_FOUND) {
        d->uris = NULL;
    }
    d->uri_count = jsonx_array_len(d->uris);
    for (size_t i = 0; i < d->uri_count; i++) {
        struct slice s;
        /* A null element decodes to "" in Go and then fails the URI rules. */
        if (jsonx_array_get_str(d->uris, i, &s) == JSONX_WRONG_TYPE) {
            return false;
        }
    }
    if (!get_string_array(doc, "grant_types", &d->grant_types) ||
        !get_string_array(doc, "response_types", &d->response_types)) {
        return false;
    }
    d->scope = SLICE_LIT("");
    g = jsonx_get_str(doc, "scope", &d->scope);
    if (g == JSONX_WRONG_TYPE) {
        return false;
    }
    d->scope_set = g == JSONX_FOUND;
    return get_optional_str(doc, "client_name", &d->client_name) &&
           get_optional_str(doc, "token_endpoint_auth_method", &d->auth_method) &&
           decode_application_type(doc, d);
}

static struct slice
uri_at(const struct decoded *d, size_t i)
{
    struct slice s = SLICE_LIT("");
    (void)jsonx_array_get_str(d->uris, i, &s); /* null stays "" */
    return s;
}

/* SPEC fix 7: every C0 control byte and DEL, not only the six Go listed;
 * ',' because names end up in comma-separated log and header contexts. */
static bool
has_forbidden_name_byte(struct slice name)
{
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        if (c < 0x20 || c == 0x7f || c == ',') {
            return true;
        }
    }
    return false;
}

const char *
oauth_register_rules_check_redirect_uri(struct slice uri)
{
    if (uri.len > BOUNDS_REDIRECT_URI_MAX_BYTES) {
        return "redirect_uri exceeds maximum length";
    }
    /* A NUL is a control character, which the URL parser refuses; the C
     * string check below would not even see the bytes after it. */
    if (memchr(uri.ptr, '\0', uri.len) != NULL) {
        return "malformed redirect_uri";
    }
    return oauth_redirect_uri_check(uri.ptr);
}

const char *
oauth_register_rules_check_client_name(struct slice name)
{
    if (name.len > BOUNDS_CLIENT_NAME_MAX_BYTES) {
        return "client_name exceeds maximum length";
    }
    if (has_forbidden_name_byte(name)) {
        return "client_name must not contain control bytes or commas";
    }
    return NULL;
}

/* Steps 3-8, first failure wins. */
static int
validate(const struct decoded *d, struct oauth_error *err)
{
    if (d->uri_count == 0) {
        return fail(err, 400, OAUTH_ERROR_INVALID_REDIRECT_URI,
                    "redirect_uris is required and must not be empty");
    }
    if (d->uri_count > BOUNDS_REDIRECT_URIS_MAX) {
        return fail(err, 400, OAUTH_ERROR_INVALID_REDIRECT_URI,
                    "redirect_uris exceeds maximum count");
    }
    const char *name_reason = oauth_register_rules_check_client_name(d->client_name);
    if (name_reason != NULL) {
        return fail(err, 400, OAUTH_ERROR_INVALID_CLIENT_METADATA, name_reason);
    }
    for (size_t i = 0; i < d->uri_count; i++) {
        const char *reason = oauth_register_rules_check_redirect_uri(uri_at(d, i));
        if (reason != NULL) {
            return fail(err, 400, OAUTH_ERROR_INVALID_REDIRECT_URI, reason);
        }
    }
    if (d->application_type_not_str ||
        (!slice_eq_cstr(d->application_type, "") && !slice_eq_cstr(d->application_type, "native") &&
         !slice_eq_cstr(d->application_type, "web"))) {
        return fail(err, 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
                    "application_type must be \"native\" or \"web\"");
    }
    if (!slice_eq_cstr(d->auth_method, "") && !slice_eq_cstr(d->auth_method, "none") &&
        !auth_method_is_replaceable(d->auth_method)) {
        return fail(err, 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
                    "unsupported token_endpoint_auth_method; only \"none\" is supported");
    }
    if (d->grant_types != NULL && !array_has(d->grant_types, "authorization_code")) {
        return fail(err, 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
                    "grant_types must include \"authorization_code\"");
    }
    if (d->response_types != NULL && !array_has(d->response_types, "code")) {
        return fail(err, 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
                    "response_types must include \"code\"");
    }
    if (d->scope.len > BOUNDS_REGISTER_SCOPE_MAX_BYTES) {
        return fail(err, 400, OAUTH_ERROR_INVALID_CLIENT_METADATA, "scope exceeds maximum length");
    }
    if (!scope_is_valid(d->scope)) {
        return fail(err, 400, OAUTH_ERROR_INVALID_CLIENT_METADATA,
                    "scope must be space-separated scope tokens");
    }
    return 0;
}

/* SEP-837 (see the header): only a declared "native" is taken as said; a
 * native app needs loopback or private-use redirects, a web client none. */
static void
set_application_type(const struct decoded *d, struct oauth_registration *out)
{
    bool web_only = true;
    for (size_t i = 0; i < out->redirect_uri_count; i++) {
        if (oauth_redirect_uri_kind(out->redirect_uris[i]) != OAUTH_REDIRECT_URI_WEB) {
            web_only = false;
        }
    }
    bool declared_native = slice_eq_cstr(d->application_type, "native");
    out->application_type = declared_native || !web_only ? "native" : "web";
    out->application_type_coerced = slice_eq_cstr(d->application_type, "web") && !web_only;
}

int
oauth_register_rules_parse(struct slice body, size_t cap, struct oauth_registration *out,
                           struct oauth_error *err)
{
    struct json_t *doc = NULL;
    int rc = -1;
    /* NUL-tolerant so that a "\u0000" in client_name is answered by rule 6
     * (invalid_client_metadata), as SPEC.md 3.2 pins, not as bad JSON. */
    switch (jsonx_parse_allow_nul(body, cap, &doc)) {
    case JSONX_OK:
        break;
    case JSONX_TOO_LARGE:
        return fail(err, 413, OAUTH_ERROR_INVALID_REQUEST,
                    "request body exceeds the " BOUNDS_OAUTH_BODY_MAX_TEXT " cap");
    case JSONX_MALFORMED:
    default:
        /* Includes an empty body and anything after the first value. */
        return fail(err, 400, OAUTH_ERROR_INVALID_REQUEST, "invalid JSON body");
    }
    struct decoded d;
    if (!decode(doc, &d)) {
        fail(err, 400, OAUTH_ERROR_INVALID_REQUEST, "invalid JSON body");
        goto out;
    }
    if (validate(&d, err) != 0) {
        goto out;
    }
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < d.uri_count; i++) {
        struct slice uri = uri_at(&d, i);
        out->redirect_uris[i] = xstrndup(uri.ptr, uri.len);
    }
    out->redirect_uri_count = d.uri_count;
    out->client_name = xstrndup(d.client_name.ptr, d.client_name.len);
    out->grant_types_set = d.grant_types != NULL;
    out->refresh_token_grant = array_has(d.grant_types, "refresh_token");
    out->response_types_set = d.response_types != NULL;
    out->scope = d.scope_set ? xstrndup(d.scope.ptr, d.scope.len) : NULL;
    out->auth_method_replaced = auth_method_is_replaceable(d.auth_method);
    set_application_type(&d, out);
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

void
oauth_register_rules_cleanup(struct oauth_registration *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < BOUNDS_REDIRECT_URIS_MAX; i++) {
        xfree(r->redirect_uris[i]);
    }
    xfree(r->client_name);
    xfree(r->scope);
    memset(r, 0, sizeof(*r));
}
