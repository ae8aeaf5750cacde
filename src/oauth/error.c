#include "oauth/error.h"

#include <assert.h>
#include <string.h>

#include "base/strtab.h"

/* RFC 6749 5.2 and 4.1.2.1, RFC 6750 3.1, RFC 7591 3.2.2, RFC 8707 2, plus
 * the proxy's own not_found (SPEC.md 3.0.2). */
static const char *const code_names[OAUTH_ERROR_CODE_COUNT] = {
    [OAUTH_ERROR_INVALID_REQUEST] = "invalid_request",
    [OAUTH_ERROR_INVALID_CLIENT] = "invalid_client",
    [OAUTH_ERROR_INVALID_GRANT] = "invalid_grant",
    [OAUTH_ERROR_UNAUTHORIZED_CLIENT] = "unauthorized_client",
    [OAUTH_ERROR_UNSUPPORTED_GRANT_TYPE] = "unsupported_grant_type",
    [OAUTH_ERROR_UNSUPPORTED_RESPONSE_TYPE] = "unsupported_response_type",
    [OAUTH_ERROR_INVALID_SCOPE] = "invalid_scope",
    [OAUTH_ERROR_INVALID_TARGET] = "invalid_target",
    [OAUTH_ERROR_INVALID_REDIRECT_URI] = "invalid_redirect_uri",
    [OAUTH_ERROR_INVALID_CLIENT_METADATA] = "invalid_client_metadata",
    [OAUTH_ERROR_ACCESS_DENIED] = "access_denied",
    [OAUTH_ERROR_SERVER_ERROR] = "server_error",
    [OAUTH_ERROR_TEMPORARILY_UNAVAILABLE] = "temporarily_unavailable",
    [OAUTH_ERROR_INVALID_TOKEN] = "invalid_token",
    [OAUTH_ERROR_INSUFFICIENT_SCOPE] = "insufficient_scope",
    [OAUTH_ERROR_NOT_FOUND] = "not_found",
};

const char *
oauth_error_code_str(enum oauth_error_code code)
{
    return strtab_name(code_names, OAUTH_ERROR_CODE_COUNT, (size_t)code, "server_error");
}

int
oauth_error_code_from_str(struct slice s)
{
    return (int)strtab_find(code_names, OAUTH_ERROR_CODE_COUNT, s);
}

void
oauth_error_set(struct oauth_error *err, int status, enum oauth_error_code code,
                const char *description)
{
    err->status = status;
    err->code = code;
    err->description = description;
    err->error_code = NULL;
}

size_t
oauth_error_sanitize_description(struct slice in, char *out)
{
    /* Cut first, then filter (SPEC.md 3.0.5): a multi-byte character
     * straddling byte 200 disappears entirely, as in Go. */
    size_t cut = in.len < BOUNDS_ERROR_DESCRIPTION_MAX ? in.len : BOUNDS_ERROR_DESCRIPTION_MAX;
    size_t n = 0;
    for (size_t i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)in.ptr[i];
        if (c >= 0x20 && c <= 0x7e) {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return n;
}

/* A JSON string body for text that is already printable ASCII. Go's
 * encoder escapes the HTML-special bytes too; doing the same keeps bodies
 * byte-identical with the Go binary's. */
static int
append_json_text(struct buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        int rc;
        switch (*s) {
        case '"':
            rc = buf_append_str(b, "\\\"");
            break;
        case '\\':
            rc = buf_append_str(b, "\\\\");
            break;
        case '<':
            rc = buf_append_str(b, "\\u003c");
            break;
        case '>':
            rc = buf_append_str(b, "\\u003e");
            break;
        case '&':
            rc = buf_append_str(b, "\\u0026");
            break;
        default:
            rc = buf_append_byte(b, *s);
            break;
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

static int
append_member(struct buf *b, const char *key, const char *value)
{
    if (buf_appendf(b, ",\"%s\":\"", key) != 0 || append_json_text(b, value) != 0 ||
        buf_append_byte(b, '"') != 0) {
        return -1;
    }
    return 0;
}

int
oauth_error_format_json(const struct oauth_error *err, struct buf *b)
{
    char desc[OAUTH_ERROR_DESCRIPTION_BUF];
    char code[OAUTH_ERROR_DESCRIPTION_BUF];
    oauth_error_sanitize_description(slice_from_cstr(err->description), desc);
    /* error_code values are our own constants; filtering them too means no
     * caller mistake can put a raw byte into the body. */
    oauth_error_sanitize_description(slice_from_cstr(err->error_code), code);
    if (buf_append_str(b, "{\"error\":\"") != 0 ||
        append_json_text(b, oauth_error_code_str(err->code)) != 0 || buf_append_byte(b, '"') != 0) {
        return -1;
    }
    if (desc[0] != '\0' && append_member(b, "error_description", desc) != 0) {
        return -1;
    }
    if (code[0] != '\0' && append_member(b, "error_code", code) != 0) {
        return -1;
    }
    return buf_append_str(b, "}\n");
}

enum oauth_error_code
oauth_error_from_idp(struct slice idp_error)
{
    static const enum oauth_error_code passed_through[] = {
        OAUTH_ERROR_INVALID_REQUEST,
        OAUTH_ERROR_INVALID_CLIENT,
        OAUTH_ERROR_UNAUTHORIZED_CLIENT,
        OAUTH_ERROR_ACCESS_DENIED,
        OAUTH_ERROR_UNSUPPORTED_RESPONSE_TYPE,
        OAUTH_ERROR_INVALID_SCOPE,
        OAUTH_ERROR_SERVER_ERROR,
        OAUTH_ERROR_TEMPORARILY_UNAVAILABLE,
    };
    for (size_t i = 0; i < sizeof(passed_through) / sizeof(passed_through[0]); i++) {
        if (slice_eq_cstr(idp_error, code_names[passed_through[i]])) {
            return passed_through[i];
        }
    }
    return OAUTH_ERROR_SERVER_ERROR;
}

/* One row per token; the three descriptions a client can read for it. */
struct grants_errors {
    enum oauth_error_code code;
    const char *audience; /* GRANTS_ERR_AUDIENCE */
    const char *expired;  /* GRANTS_ERR_EXPIRED */
    const char *invalid;  /* every other failure */
};

static const struct grants_errors grants_errors[OAUTH_ERROR_TOKEN_COUNT] = {
    [OAUTH_ERROR_TOKEN_CONSENT] = {OAUTH_ERROR_INVALID_REQUEST,
                                   "consent token bound to a different audience",
                                   "consent token expired", "consent token invalid or expired"},
    [OAUTH_ERROR_TOKEN_SESSION] = {OAUTH_ERROR_INVALID_REQUEST,
                                   "session bound to a different audience", "session expired",
                                   "unknown or expired state"},
    [OAUTH_ERROR_TOKEN_CODE] = {OAUTH_ERROR_INVALID_GRANT,
                                "authorization code bound to a different audience",
                                "authorization code expired",
                                "invalid or expired authorization code"},
    [OAUTH_ERROR_TOKEN_REFRESH] = {OAUTH_ERROR_INVALID_GRANT,
                                   "refresh token bound to a different audience",
                                   "refresh token expired", "invalid or expired refresh token"},
};

bool
oauth_error_from_grants(enum oauth_error_token token, enum grants_rc rc, struct oauth_error *err)
{
    assert((unsigned)token < OAUTH_ERROR_TOKEN_COUNT);
    if (rc == GRANTS_OK) {
        return true;
    }
    const struct grants_errors *row = &grants_errors[token];
    const char *description = row->invalid;
    if (rc == GRANTS_ERR_AUDIENCE) {
        description = row->audience;
    } else if (rc == GRANTS_ERR_EXPIRED) {
        description = row->expired;
    }
    oauth_error_set(err, 400, row->code, description);
    return false;
}
