#include "oauth/cimd_rules.h"

#include <ctype.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/jsonx.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "oauth/register_rules.h"
#include "oidc/jwks.h"

bool
oauth_cimd_rules_is_document_url(struct slice client_id)
{
    return client_id.len >= 8 && memcmp(client_id.ptr, "https://", 8) == 0;
}

/* A path segment that is "." or ".." once "%2e" (any case) is read as '.'. */
static bool
is_dot_segment(const char *seg, size_t len)
{
    size_t dots = 0;
    for (size_t i = 0; i < len;) {
        if (seg[i] == '.') {
            i++;
        } else if (i + 2 < len && seg[i] == '%' && seg[i + 1] == '2' &&
                   (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
            i += 3;
        } else {
            return false;
        }
        dots++;
    }
    return dots == 1 || dots == 2;
}

static bool
has_dot_segment(const char *path)
{
    const char *p = path;
    while (*p != '\0') {
        if (*p == '/') {
            p++;
            continue;
        }
        size_t len = strcspn(p, "/");
        if (is_dot_segment(p, len)) {
            return true;
        }
        p += len;
    }
    return false;
}

const char *
oauth_cimd_rules_check_url(struct slice client_id, char *host_out, size_t host_cap)
{
    if (client_id.len > BOUNDS_CIMD_URL_MAX_BYTES) {
        return "client_id URL exceeds maximum length";
    }
    if (memchr(client_id.ptr, '\0', client_id.len) != NULL) {
        return "client_id URL is malformed";
    }
    char text[BOUNDS_CIMD_URL_MAX_BYTES + 1];
    memcpy(text, client_id.ptr, client_id.len);
    text[client_id.len] = '\0';
    struct url u;
    if (url_parse(text, &u) != URL_OK) {
        return "client_id URL is malformed";
    }
    const char *reason = NULL;
    char host[256];
    /* Byte for byte, as the lookup routes it: "HTTPS://" parses, yet it is
     * another client_id than the one every document must name. */
    if (strcmp(u.scheme, "https") != 0 || !oauth_cimd_rules_is_document_url(client_id)) {
        reason = "client_id URL must use https";
    } else if (u.has_userinfo) {
        reason = "client_id URL must not contain userinfo";
    } else if (u.has_fragment) {
        reason = "client_id URL must not contain a fragment";
    } else if (u.path[0] == '\0' || strcmp(u.path, "/") == 0) {
        reason = "client_id URL must have a path";
    } else if (has_dot_segment(u.path)) {
        reason = "client_id URL must not contain dot segments";
    } else if (!url_host_bare(&u, host, sizeof(host)) || strchr(host, '%') != NULL) {
        reason = "client_id URL host is malformed";
    } else if (host_out != NULL) {
        if (strlen(host) >= host_cap) {
            reason = "client_id URL host is malformed";
        } else {
            for (char *p = host; *p != '\0'; p++) {
                *p = (char)tolower((unsigned char)*p);
            }
            memcpy(host_out, host, strlen(host) + 1);
        }
    }
    url_cleanup(&u);
    return reason;
}

bool
oauth_cimd_rules_host_allowed(const char *host, char *const *patterns, size_t count)
{
    if (count == 0) {
        return true;
    }
    size_t hlen = strlen(host);
    for (size_t i = 0; i < count; i++) {
        const char *p = patterns[i];
        if (strncmp(p, "*.", 2) == 0) {
            size_t slen = strlen(p + 1); /* ".example.com" */
            if (hlen > slen && strcmp(host + hlen - slen, p + 1) == 0) {
                return true;
            }
        } else if (strcmp(host, p) == 0) {
            return true;
        }
    }
    return false;
}

void
oauth_cimd_doc_cleanup(struct oauth_cimd_doc *d)
{
    if (d == NULL) {
        return;
    }
    xfree(d->client_id);
    xfree(d->client_name);
    for (size_t i = 0; i < BOUNDS_REDIRECT_URIS_MAX; i++) {
        xfree(d->redirect_uris[i]);
    }
    xfree(d->token_endpoint_auth_method);
    xfree(d->jwks_uri);
    xfree(d->jwks);
    memset(d, 0, sizeof(*d));
}

/* "application/json" or "application/<x>+json", parameters after ';'. */
static bool
content_type_is_json(const char *ct)
{
    if (ct == NULL) {
        return false;
    }
    size_t len = strcspn(ct, ";");
    while (len > 0 && (ct[len - 1] == ' ' || ct[len - 1] == '\t')) {
        len--;
    }
    if (len < 16 || strncasecmp(ct, "application/", 12) != 0) {
        return false;
    }
    const char *sub = ct + 12;
    size_t sub_len = len - 12;
    if (sub_len == 4 && strncasecmp(sub, "json", 4) == 0) {
        return true;
    }
    return sub_len > 5 && strncasecmp(sub + sub_len - 5, "+json", 5) == 0;
}

static enum oauth_cimd_rules_rc
refuse(const char **reason, enum oauth_cimd_rules_rc rc, const char *why)
{
    *reason = why;
    return rc;
}

/* Every element a string; NULL array means absent. */
static bool
all_strings(const struct json_t *arr)
{
    for (size_t i = 0; i < jsonx_array_len(arr); i++) {
        struct slice s;
        if (jsonx_array_get_str(arr, i, &s) != JSONX_FOUND) {
            return false;
        }
    }
    return true;
}

static bool
array_has(const struct json_t *arr, const char *want)
{
    for (size_t i = 0; i < jsonx_array_len(arr); i++) {
        struct slice s = SLICE_LIT("");
        if (jsonx_array_get_str(arr, i, &s) == JSONX_FOUND && slice_eq_cstr(s, want)) {
            return true;
        }
    }
    return false;
}

/* An optional array of strings: absent/null gives NULL; false when the
 * member has another shape. */
static bool
optional_string_array(const struct json_t *doc, const char *key, const struct json_t **out)
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
    return all_strings(*out);
}

/* client_secret_post, _basic, _jwt and any future member of the family:
 * a document is public, so no secret can belong to it (draft 4.1). */
static bool
is_shared_secret_method(struct slice m)
{
    return slice_starts_with(m, slice_from_cstr("client_secret_"));
}

/* The members, in the order the header lists them; doc is an object. */
static enum oauth_cimd_rules_rc
check_members(const char *url, const struct json_t *doc, const char **reason)
{
    const enum oauth_cimd_rules_rc bad = OAUTH_CIMD_RULES_INVALID;
    struct slice s;
    if (jsonx_get_str(doc, "client_id", &s) != JSONX_FOUND) {
        return refuse(reason, bad, "client metadata document has no client_id");
    }
    if (!slice_eq_cstr(s, url)) {
        return refuse(reason, bad, "client metadata document client_id does not match its URL");
    }
    if (jsonx_get_str(doc, "client_name", &s) != JSONX_FOUND || s.len == 0) {
        return refuse(reason, bad, "client metadata document has no client_name");
    }
    const char *why = oauth_register_rules_check_client_name(s);
    if (why != NULL) {
        return refuse(reason, bad, why);
    }
    const struct json_t *uris = NULL;
    if (jsonx_get_array(doc, "redirect_uris", &uris) != JSONX_FOUND || jsonx_array_len(uris) == 0) {
        return refuse(reason, bad, "client metadata document has no redirect_uris");
    }
    if (jsonx_array_len(uris) > BOUNDS_REDIRECT_URIS_MAX) {
        return refuse(reason, bad, "redirect_uris exceeds maximum count");
    }
    for (size_t i = 0; i < jsonx_array_len(uris); i++) {
        if (jsonx_array_get_str(uris, i, &s) != JSONX_FOUND) {
            return refuse(reason, bad, "redirect_uris must be an array of strings");
        }
        why = oauth_register_rules_check_redirect_uri(s);
        if (why != NULL) {
            return refuse(reason, bad, why);
        }
    }
    enum jsonx_get g = jsonx_get_str(doc, "token_endpoint_auth_method", &s);
    if (g == JSONX_WRONG_TYPE || (g == JSONX_FOUND && is_shared_secret_method(s))) {
        return refuse(reason, bad,
                      "client metadata document must not use a shared-secret "
                      "token_endpoint_auth_method");
    }
    const struct json_t *member = NULL;
    if (jsonx_get(doc, "client_secret", &member) == JSONX_FOUND) {
        return refuse(reason, bad, "client metadata document must not contain client_secret");
    }
    const struct json_t *grants = NULL;
    const struct json_t *responses = NULL;
    if (!optional_string_array(doc, "grant_types", &grants) ||
        !optional_string_array(doc, "response_types", &responses)) {
        return refuse(reason, bad, "grant_types and response_types must be arrays of strings");
    }
    if (grants != NULL && !array_has(grants, "authorization_code")) {
        return refuse(reason, bad, "grant_types must include \"authorization_code\"");
    }
    if (responses != NULL && !array_has(responses, "code")) {
        return refuse(reason, bad, "response_types must include \"code\"");
    }
    g = jsonx_get_str(doc, "jwks_uri", &s);
    bool has_jwks_uri = g == JSONX_FOUND;
    if (g == JSONX_WRONG_TYPE) {
        return refuse(reason, bad, "jwks_uri must be a string");
    }
    g = jsonx_get_object(doc, "jwks", &member);
    if (g == JSONX_WRONG_TYPE) {
        return refuse(reason, bad, "jwks must be a JSON object");
    }
    if (g == JSONX_FOUND && has_jwks_uri) {
        return refuse(reason, bad, "jwks_uri and jwks must not both be present");
    }
    return OAUTH_CIMD_RULES_OK;
}

static char *
dup_str_member(const struct json_t *doc, const char *key)
{
    struct slice s;
    if (jsonx_get_str(doc, key, &s) != JSONX_FOUND) {
        return NULL;
    }
    return xstrndup(s.ptr, s.len);
}

static void
fill(const struct json_t *doc, struct oauth_cimd_doc *out)
{
    memset(out, 0, sizeof(*out));
    out->client_id = dup_str_member(doc, "client_id");
    out->client_name = dup_str_member(doc, "client_name");
    const struct json_t *uris = NULL;
    (void)jsonx_get_array(doc, "redirect_uris", &uris);
    for (size_t i = 0; i < jsonx_array_len(uris); i++) {
        struct slice s = SLICE_LIT("");
        (void)jsonx_array_get_str(uris, i, &s);
        out->redirect_uris[i] = xstrndup(s.ptr, s.len);
    }
    out->redirect_uri_count = jsonx_array_len(uris);
    out->token_endpoint_auth_method = dup_str_member(doc, "token_endpoint_auth_method");
    out->jwks_uri = dup_str_member(doc, "jwks_uri");
    const struct json_t *jwks = NULL;
    if (jsonx_get_object(doc, "jwks", &jwks) == JSONX_FOUND) {
        struct buf b;
        buf_init(&b, BOUNDS_CIMD_DOCUMENT_MAX * 2);
        if (jsonx_dump(jwks, true, &b) == 0) {
            out->jwks = xstrdup(buf_cstr(&b));
        }
        buf_cleanup(&b);
    }
    const struct json_t *grants = NULL;
    bool have = jsonx_get_array(doc, "grant_types", &grants) == JSONX_FOUND;
    out->refresh_token_grant = !have || array_has(grants, "refresh_token");
}

enum oauth_cimd_rules_rc
oauth_cimd_rules_parse(const char *url, long status, const char *content_type, struct slice body,
                       struct oauth_cimd_doc *out, const char **reason)
{
    if (status >= 300 && status < 400) {
        return refuse(reason, OAUTH_CIMD_RULES_REDIRECT,
                      "client metadata document URL answered with a redirect");
    }
    if (status != 200) {
        return refuse(reason, OAUTH_CIMD_RULES_HTTP_STATUS,
                      "client metadata document URL did not answer 200");
    }
    if (!content_type_is_json(content_type)) {
        return refuse(reason, OAUTH_CIMD_RULES_NOT_JSON,
                      "client metadata document is not served as application/json");
    }
    if (body.len > BOUNDS_CIMD_DOCUMENT_MAX) {
        return refuse(reason, OAUTH_CIMD_RULES_TOO_LARGE,
                      "client metadata document exceeds " BOUNDS_CIMD_DOCUMENT_MAX_TEXT);
    }
    struct json_t *doc = NULL;
    if (jsonx_parse(body, BOUNDS_CIMD_DOCUMENT_MAX, &doc) != JSONX_OK) {
        return refuse(reason, OAUTH_CIMD_RULES_NOT_JSON, "client metadata document is not JSON");
    }
    enum oauth_cimd_rules_rc rc;
    if (!jsonx_is_object(doc)) {
        rc = refuse(reason, OAUTH_CIMD_RULES_NOT_JSON,
                    "client metadata document is not a JSON object");
    } else {
        rc = check_members(url, doc, reason);
    }
    if (rc == OAUTH_CIMD_RULES_OK) {
        fill(doc, out);
        *reason = NULL;
    }
    json_decref(doc);
    return rc;
}

enum oauth_cimd_rules_rc
oauth_cimd_rules_parse_jwks(long status, const char *content_type, struct slice body,
                            struct oidc_jwks_set **out, const char **reason)
{
    if (status >= 300 && status < 400) {
        return refuse(reason, OAUTH_CIMD_RULES_REDIRECT, "jwks_uri answered with a redirect");
    }
    if (status != 200) {
        return refuse(reason, OAUTH_CIMD_RULES_HTTP_STATUS, "jwks_uri did not answer 200");
    }
    if (!content_type_is_json(content_type)) {
        return refuse(reason, OAUTH_CIMD_RULES_NOT_JSON,
                      "jwks_uri is not served as application/json or application/jwk-set+json");
    }
    if (body.len > BOUNDS_CIMD_JWKS_MAX) {
        return refuse(reason, OAUTH_CIMD_RULES_TOO_LARGE, "jwks_uri answer is too large");
    }
    struct buf err;
    buf_init(&err, 256);
    int rc = oidc_jwks_set_parse(body, out, &err);
    buf_cleanup(&err);
    if (rc != 0) {
        return refuse(reason, OAUTH_CIMD_RULES_INVALID,
                      "jwks_uri holds no JWK Set with a usable signing key");
    }
    *reason = NULL;
    return OAUTH_CIMD_RULES_OK;
}

/* The value of directive name (delta-seconds) in a Cache-Control list;
 * -1 when absent or malformed. */
static int64_t
directive_seconds(const char *cc, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = cc;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        size_t len = strcspn(p, ",");
        if (len > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            if (*v == '"') {
                v++;
            }
            int64_t n = 0;
            bool any = false;
            while (*v >= '0' && *v <= '9') {
                n = n < (INT64_MAX / 10 - 10) ? n * 10 + (*v - '0') : INT64_MAX / 10;
                v++;
                any = true;
            }
            return any ? n : -1;
        }
        p += len;
    }
    return -1;
}

static bool
has_directive(const char *cc, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = cc;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        size_t len = strcspn(p, ",");
        size_t tok = strcspn(p, ",= \t");
        if (tok == nlen && strncasecmp(p, name, nlen) == 0) {
            return true;
        }
        p += len;
    }
    return false;
}

/* RFC 9110 5.6.7 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); -1 when
 * it is not one (RFC 9111 5.3: an invalid Expires means already expired). */
static int64_t
parse_http_date(const char *text)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0') {
        return -1;
    }
    return (int64_t)timegm(&tm);
}

uint64_t
oauth_cimd_rules_ttl(const char *cache_control, const char *expires, int64_t now_s,
                     uint64_t floor_s, uint64_t ceil_s)
{
    int64_t ttl = -1;
    if (cache_control != NULL) {
        if (has_directive(cache_control, "no-store") || has_directive(cache_control, "no-cache")) {
            ttl = 0;
        } else {
            ttl = directive_seconds(cache_control, "s-maxage");
            if (ttl < 0) {
                ttl = directive_seconds(cache_control, "max-age");
            }
        }
    }
    if (ttl < 0 && expires != NULL) {
        int64_t at = parse_http_date(expires);
        ttl = at > now_s ? at - now_s : 0;
    }
    uint64_t t = ttl > 0 ? (uint64_t)ttl : 0;
    if (t < floor_s) {
        t = floor_s;
    }
    if (t > ceil_s) {
        t = ceil_s;
    }
    return t;
}
