#include "doctor/parse.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/scan.h"
#include "base/url.h"

/* Copies s into dst (capacity cap, NUL-terminated); refuses control bytes
 * (a NUL would cut the text, a newline would forge a report line). */
static bool
copy_field(char *dst, size_t cap, struct slice s)
{
    if (s.len >= cap) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
    }
    memcpy(dst, s.ptr, s.len);
    dst[s.len] = '\0';
    return true;
}

/* quoted-string (RFC 9110 5.6.4): '"' then qdtext or '\' pair, then '"'.
 * The unescaped text goes to dst (capacity cap). */
static const char *
scan_quoted(struct scan *s, char *dst, size_t cap)
{
    size_t n = 0;
    if (!scan_byte(s, '"')) {
        return "malformed quoted string";
    }
    for (;;) {
        if (scan_eof(s)) {
            return "unterminated quoted string";
        }
        unsigned char c = (unsigned char)*s->p++;
        if (c == '"') {
            break;
        }
        if (c == '\\') {
            if (scan_eof(s)) {
                return "unterminated quoted string";
            }
            c = (unsigned char)*s->p++;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return "control character in a quoted string";
        }
        if (n + 1 >= cap) {
            return "parameter value too long";
        }
        dst[n++] = (char)c;
    }
    dst[n] = '\0';
    return NULL;
}

/* One auth-param value: token or quoted-string. */
static const char *
scan_param_value(struct scan *s, char *dst, size_t cap)
{
    if (scan_peek(s) == '"') {
        return scan_quoted(s, dst, cap);
    }
    struct slice tok;
    if (!scan_token(s, &tok)) {
        return "missing parameter value";
    }
    return copy_field(dst, cap, tok) ? NULL : "parameter value too long";
}

/* Where a Bearer parameter goes; NULL for the ones the doctor ignores. */
static char *
bearer_slot(struct doctor_challenge *c, struct slice name, size_t *out_cap, bool **out_seen,
            bool seen[3])
{
    static const char *const names[3] = {"resource_metadata", "scope", "error"};
    char *slots[3] = {c->resource_metadata, c->scope, c->error};
    size_t caps[3] = {sizeof(c->resource_metadata), sizeof(c->scope), sizeof(c->error)};
    for (size_t i = 0; i < 3; i++) {
        if (slice_case_eq_cstr(name, names[i])) {
            *out_cap = caps[i];
            *out_seen = &seen[i];
            return slots[i];
        }
    }
    return NULL;
}

const char *
doctor_parse_challenge(struct slice value, struct doctor_challenge *out)
{
    memset(out, 0, sizeof(*out));
    struct scan s = scan_init(value);
    bool in_bearer = false;
    bool seen[3] = {false, false, false};
    char scratch[BOUNDS_DOCTOR_URL_MAX];
    const char *why = NULL;
    while (why == NULL) {
        /* Separators: OWS and the commas of #challenge and #auth-param. */
        while (!scan_eof(&s) &&
               (scan_peek(&s) == ',' || scan_peek(&s) == ' ' || scan_peek(&s) == '\t')) {
            s.p++;
        }
        if (scan_eof(&s)) {
            break;
        }
        struct slice name;
        if (!scan_token(&s, &name)) {
            why = "malformed challenge";
            break;
        }
        struct scan after = s;
        scan_ows(&after);
        if (!scan_byte(&after, '=')) {
            /* A new challenge: its scheme. (A token68 such as Basic's old
             * form reads as one more scheme: harmless, only Bearer counts.) */
            in_bearer = slice_case_eq_cstr(name, "Bearer");
            out->bearer = out->bearer || in_bearer;
            continue;
        }
        if (scan_eof(&after) || scan_peek(&after) == '=' || scan_peek(&after) == ',') {
            /* token68 padding ("dXNlcg=="), not a parameter. */
            while (!scan_eof(&after) && scan_peek(&after) == '=') {
                after.p++;
            }
            s = after;
            continue;
        }
        s = after;
        scan_ows(&s);
        size_t cap = sizeof(scratch);
        bool *seen_slot = NULL;
        char *dst = in_bearer ? bearer_slot(out, name, &cap, &seen_slot, seen) : NULL;
        if (dst != NULL && *seen_slot) {
            why = "duplicate Bearer parameter";
            break;
        }
        why =
            scan_param_value(&s, dst != NULL ? dst : scratch, dst != NULL ? cap : sizeof(scratch));
        if (why == NULL && dst != NULL) {
            *seen_slot = true;
        }
    }
    if (why != NULL) {
        memset(out, 0, sizeof(*out));
        return why;
    }
    out->has_scope = seen[1];
    return NULL;
}

/* The same origin (scheme, host, effective port) and a path of `mount`
 * that starts with `prefix`'s path: "https://h/" covers "https://h/mcp". */
static bool
covers(const char *prefix, const char *mount)
{
    struct url p;
    struct url m;
    if (url_parse(prefix, &p) != URL_OK) {
        return false;
    }
    if (url_parse(mount, &m) != URL_OK) {
        url_cleanup(&p);
        return false;
    }
    bool ok = strcmp(p.scheme, m.scheme) == 0 &&
              slice_case_eq_cstr(slice_from_cstr(p.host), m.host) &&
              url_effective_port(&p) == url_effective_port(&m) && !p.has_query;
    if (ok) {
        struct slice pp = slice_from_cstr(p.path);
        struct slice mp = slice_from_cstr(m.path);
        if (pp.len > 0 && pp.ptr[pp.len - 1] == '/') {
            pp.len--;
        }
        ok = slice_starts_with(mp, pp) && (mp.len == pp.len || mp.ptr[pp.len] == '/');
    }
    url_cleanup(&p);
    url_cleanup(&m);
    return ok;
}

static const char *
load_object(struct slice body, struct json_t **out)
{
    if (jsonx_parse(body, BOUNDS_DOCTOR_BODY_MAX, out) != JSONX_OK) {
        return "not JSON";
    }
    if (!jsonx_is_object(*out)) {
        return "not a JSON object";
    }
    return NULL;
}

const char *
doctor_parse_prm(struct slice body, const char *mount, bool root, struct doctor_prm *out)
{
    memset(out, 0, sizeof(*out));
    struct json_t *doc = NULL;
    const char *why = load_object(body, &doc);
    struct slice v;
    const struct json_t *servers = NULL;
    if (why == NULL && (jsonx_get_str(doc, "resource", &v) != JSONX_FOUND ||
                        !copy_field(out->resource, sizeof(out->resource), v))) {
        why = "no usable \"resource\"";
    }
    if (why == NULL &&
        (jsonx_get_array(doc, "authorization_servers", &servers) != JSONX_FOUND ||
         jsonx_array_get_str(servers, 0, &v) != JSONX_FOUND ||
         !copy_field(out->authorization_server, sizeof(out->authorization_server), v))) {
        why = "no usable \"authorization_servers\"";
    }
    if (why == NULL && strcmp(out->resource, mount) != 0 &&
        !(root && covers(out->resource, mount))) {
        why = "\"resource\" is not the URL the clients connect to";
    }
    json_decref(doc);
    if (why != NULL) {
        char keep[sizeof(out->resource)];
        memcpy(keep, out->resource, sizeof(keep));
        memset(out, 0, sizeof(*out));
        memcpy(out->resource, keep, sizeof(keep));
    }
    return why;
}

/* Whether array `key` of doc holds the string want. */
static bool
array_has(const struct json_t *doc, const char *key, const char *want)
{
    const struct json_t *arr = NULL;
    if (jsonx_get_array(doc, key, &arr) != JSONX_FOUND) {
        return false;
    }
    for (size_t i = 0; i < jsonx_array_len(arr) && i < BOUNDS_DOCTOR_ARRAY_MAX; i++) {
        struct slice v;
        if (jsonx_array_get_str(arr, i, &v) == JSONX_FOUND && slice_eq_cstr(v, want)) {
            return true;
        }
    }
    return false;
}

const char *
doctor_parse_as(struct slice body, const char *issuer, struct doctor_as *out)
{
    memset(out, 0, sizeof(*out));
    struct json_t *doc = NULL;
    const char *why = load_object(body, &doc);
    struct slice v;
    if (why == NULL && (jsonx_get_str(doc, "issuer", &v) != JSONX_FOUND ||
                        !copy_field(out->issuer, sizeof(out->issuer), v))) {
        why = "no usable \"issuer\"";
    }
    if (why == NULL && strcmp(out->issuer, issuer) != 0) {
        why = "\"issuer\" differs from the URL it was fetched for";
    }
    if (why == NULL) {
        if (jsonx_get_str(doc, "registration_endpoint", &v) == JSONX_FOUND &&
            !copy_field(out->registration_endpoint, sizeof(out->registration_endpoint), v)) {
            out->registration_endpoint[0] = '\0';
        }
        out->pkce_s256 = array_has(doc, "code_challenge_methods_supported", "S256");
        /* RFC 8414 2: absent means client_secret_basic only. */
        out->auth_none = array_has(doc, "token_endpoint_auth_methods_supported", "none");
        bool b = false;
        out->iss_parameter = jsonx_get_bool(doc, "authorization_response_iss_parameter_supported",
                                            &b) == JSONX_FOUND &&
                             b;
        b = false;
        out->cimd =
            jsonx_get_bool(doc, "client_id_metadata_document_supported", &b) == JSONX_FOUND && b;
    }
    json_decref(doc);
    if (why != NULL) {
        char keep[sizeof(out->issuer)];
        memcpy(keep, out->issuer, sizeof(keep));
        memset(out, 0, sizeof(*out));
        memcpy(out->issuer, keep, sizeof(keep));
    }
    return why;
}

const char *
doctor_parse_registration(struct slice body, size_t redirect_count)
{
    struct json_t *doc = NULL;
    const char *why = load_object(body, &doc);
    struct slice v;
    const struct json_t *uris = NULL;
    if (why == NULL && (jsonx_get_str(doc, "client_id", &v) != JSONX_FOUND || v.len == 0)) {
        why = "the answer has no client_id";
    }
    if (why == NULL && (jsonx_get_array(doc, "redirect_uris", &uris) != JSONX_FOUND ||
                        jsonx_array_len(uris) != redirect_count)) {
        why = "the answer does not list the redirect URIs sent";
    }
    json_decref(doc);
    return why;
}

bool
doctor_parse_list_has(struct slice list, const char *token, bool star_ok)
{
    struct scan s = scan_init(list);
    struct slice item;
    while (scan_list_next(&s, ',', &item)) {
        item = slice_trim_ows(item);
        if (slice_case_eq_cstr(item, token) || (star_ok && slice_eq_cstr(item, "*"))) {
            return true;
        }
    }
    return false;
}

void
doctor_parse_oauth_error(struct slice body, char *out, size_t cap)
{
    out[0] = '\0';
    struct json_t *doc = NULL;
    if (load_object(body, &doc) == NULL) {
        char error[BOUNDS_DOCTOR_SCOPE_MAX] = "";
        char desc[BOUNDS_DOCTOR_SCOPE_MAX] = "";
        struct slice v;
        if (jsonx_get_str(doc, "error", &v) == JSONX_FOUND && copy_field(error, sizeof(error), v)) {
            if (jsonx_get_str(doc, "error_description", &v) != JSONX_FOUND ||
                !copy_field(desc, sizeof(desc), v)) {
                desc[0] = '\0';
            }
            (void)snprintf(out, cap, "%s%s%s", error, desc[0] != '\0' ? ": " : "", desc);
        }
    }
    json_decref(doc);
}
