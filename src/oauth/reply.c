#include "oauth/reply.h"

#include <assert.h>
#include <string.h>

#include "base/utf8.h"
#include "base/buf.h"
#include "bounds.h"
#include "http/output.h"
#include "http/reply.h"
#include "http/request.h"
#include "log.h"

/* An envelope is at most ~460 bytes: a code, a 200-byte description and an
 * error_code, each possibly \u00XX-escaped on '<', '>', '&'. */
#define ENVELOPE_MAX 2048
/* Basic realm="...", error="...", error_description="..." (200 bytes of
 * description, each possibly backslash-escaped). */
#define CHALLENGE_MAX 1024

/* The rejection's fields, added to the one log line of this reply. Only
 * our own static strings go in (code, description, error_code), sanitised
 * as in the body, so no request byte reaches the log. */
static void
log_error_fields(struct log_line *l, const struct oauth_error *err)
{
    char desc[OAUTH_ERROR_DESCRIPTION_BUF];
    char code[OAUTH_ERROR_DESCRIPTION_BUF];
    oauth_error_sanitize_description(slice_from_cstr(err->description), desc);
    oauth_error_sanitize_description(slice_from_cstr(err->error_code), code);
    log_int(l, "status", err->status);
    log_str(l, "oauth_error", oauth_error_code_str(err->code));
    if (desc[0] != '\0') {
        log_str(l, "description", desc);
    }
    if (code[0] != '\0') {
        log_str(l, "error_code", code);
    }
}

static int
send_envelope(struct http_request *req, const struct oauth_error *err)
{
    struct buf body;
    buf_init(&body, ENVELOPE_MAX);
    /* ENVELOPE_MAX holds every envelope (each input is cut to 200 bytes). */
    int formatted = oauth_error_format_json(err, &body);
    assert(formatted == 0);
    (void)formatted;
    int rc = http_reply_json(req, err->status, body.ptr, body.len);
    buf_cleanup(&body);
    return rc;
}

int
oauth_reply_error_event(struct http_request *req, const struct oauth_error *err,
                        struct log_line *event)
{
    log_error_fields(event, err);
    log_end(event);
    return send_envelope(req, err);
}

int
oauth_reply_error(struct http_request *req, const struct oauth_error *err)
{
    struct log_line l;
    http_request_log_begin(&l, req, LOG_DEBUG, "oauth_error");
    return oauth_reply_error_event(req, err, &l);
}

int
oauth_reply_error_simple(struct http_request *req, int status, enum oauth_error_code code,
                         const char *description)
{
    struct oauth_error err;
    oauth_error_set(&err, status, code, description);
    return oauth_reply_error(req, &err);
}

/* RFC 9110 5.6.4 quoted-string body: '"' and '\' escaped. The inputs are
 * our own printable ASCII (sanitised), so nothing else needs care. */
static int
append_quoted(struct buf *b, const char *s)
{
    if (buf_append_byte(b, '"') != 0) {
        return -1;
    }
    for (; *s != '\0'; s++) {
        if ((*s == '"' || *s == '\\') && buf_append_byte(b, '\\') != 0) {
            return -1;
        }
        if (buf_append_byte(b, *s) != 0) {
            return -1;
        }
    }
    return buf_append_byte(b, '"');
}

int
oauth_reply_format_basic_challenge(const struct oauth_error *err, const char *realm, struct buf *b)
{
    char desc[OAUTH_ERROR_DESCRIPTION_BUF];
    oauth_error_sanitize_description(slice_from_cstr(err->description), desc);
    if (buf_append_str(b, "Basic realm=") != 0 || append_quoted(b, realm) != 0 ||
        buf_append_str(b, ", error=") != 0 ||
        append_quoted(b, oauth_error_code_str(err->code)) != 0) {
        return -1;
    }
    if (desc[0] != '\0' &&
        (buf_append_str(b, ", error_description=") != 0 || append_quoted(b, desc) != 0)) {
        return -1;
    }
    return 0;
}

int
oauth_reply_error_basic(struct http_request *req, const struct oauth_error *err, const char *realm)
{
    struct buf challenge;
    buf_init(&challenge, CHALLENGE_MAX);
    int rc = -1;
    if (oauth_reply_format_basic_challenge(err, realm, &challenge) == 0 &&
        http_output_header_set(req, "WWW-Authenticate", buf_cstr(&challenge)) == 0) {
        rc = oauth_reply_error(req, err);
    } else if (!http_output_is_started(req)) {
        /* Only a realm with a control byte (our mistake) gets here. */
        rc = http_reply_error(req, 500);
    }
    buf_cleanup(&challenge);
    return rc;
}

void
oauth_reply_too_large(struct http_request *req, void *arg)
{
    (void)arg;
    (void)oauth_reply_error_simple(req, 413, OAUTH_ERROR_INVALID_REQUEST,
                                   "request body exceeds the " BOUNDS_OAUTH_BODY_MAX_TEXT " cap");
}

int
oauth_reply_not_found(struct http_request *req)
{
    static const char body[] = "{\"error\":\"not_found\"}";
    return http_reply_json(req, 404, body, sizeof(body) - 1);
}

int
oauth_reply_json_nostore(struct http_request *req, int status, const char *json_body)
{
    /* Constant values: a set fails only once the head is sent, and then
     * the reply fails too. */
    (void)http_output_header_set(req, "Cache-Control", "no-store");
    (void)http_output_header_set(req, "Pragma", "no-cache");
    return http_reply_json(req, status, json_body, strlen(json_body));
}

/* The escape for the character of n bytes at p, or NULL to copy it. */
static const char *
json_escape_for(const unsigned char *p, size_t n, char tmp[8])
{
    static const char hexdig[] = "0123456789abcdef";
    unsigned char c = p[0];
    if (n == 0) {
        return "\\ufffd";
    }
    if (n == 3 && c == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
        return p[2] == 0xa8 ? "\\u2028" : "\\u2029";
    }
    if (n > 1) {
        return NULL;
    }
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case '<':
        return "\\u003c";
    case '>':
        return "\\u003e";
    case '&':
        return "\\u0026";
    default:
        break;
    }
    if (c >= 0x20) {
        return NULL;
    }
    memcpy(tmp, "\\u00", 4);
    tmp[4] = hexdig[c >> 4];
    tmp[5] = hexdig[c & 15];
    tmp[6] = '\0';
    return tmp;
}

int
oauth_reply_append_json_string(struct buf *b, struct slice s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t run = 0; /* start of the pending run copied verbatim */
    if (buf_append_byte(b, '"') != 0) {
        return -1;
    }
    for (size_t i = 0; i < s.len;) {
        size_t n = p[i] < 0x80 ? 1 : utf8_seq_len(p + i, s.len - i);
        char tmp[8];
        const char *esc = json_escape_for(p + i, n, tmp);
        size_t step = n == 0 ? 1 : n;
        if (esc != NULL) {
            if (buf_append(b, p + run, i - run) != 0 || buf_append_str(b, esc) != 0) {
                return -1;
            }
            run = i + step;
        }
        i += step;
    }
    if (buf_append(b, p + run, s.len - run) != 0) {
        return -1;
    }
    return buf_append_byte(b, '"');
}
