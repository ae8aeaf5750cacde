/* Header policy of the MCP route; the rules and their reasons are in
 * headers.h. Names in the tables below are written lowercase with '-';
 * fold() maps an inbound name onto that spelling byte by byte. */
#include "proxy/headers.h"

#include <string.h>

#include "base/scan.h"
#include "base/strtab.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "http/trace.h"
#include "identity.h"

static const char *const rc_names[PROXY_HEADERS_RC_COUNT] = {
    [PROXY_HEADERS_OK] = "ok",
    [PROXY_HEADERS_ERR_VALUE] = "bad_value",
    [PROXY_HEADERS_ERR_TOO_LARGE] = "too_large",
    [PROXY_HEADERS_ERR_BASE_URL] = "bad_base_url",
};

const char *
proxy_headers_rc_str(enum proxy_headers_rc rc)
{
    return strtab_name(rc_names, PROXY_HEADERS_RC_COUNT, (size_t)rc, "unknown");
}

/* A lowercase field name and its length, so a list is searched by
 * comparing lengths first: every request runs each of its fields past
 * these lists, and strlen per entry per field was a measurable share of a
 * proxied request (issue 13). */
struct canon_name {
    const char *s;
    size_t len;
};
#define CANON(lit)                                                                                 \
    {                                                                                              \
        lit, sizeof(lit) - 1                                                                       \
    }

/* RFC 9110 7.6.1 plus the de-facto ones Go's reverse proxy removes. */
static const struct canon_name hop_by_hop[] = {
    CANON("connection"),
    CANON("proxy-connection"),
    CANON("keep-alive"),
    CANON("proxy-authenticate"),
    CANON("proxy-authorization"),
    CANON("te"),
    CANON("trailer"),
    CANON("transfer-encoding"),
    CANON("upgrade"),
};

/* SPEC.md 4.2 and 3.0.1 item 2, plus the framing the forward writes. */
static const struct canon_name request_dropped[] = {
    CANON("expect"),
    CANON("authorization"),
    CANON("cookie"),
    CANON("forwarded"),
    CANON("x-real-ip"),
    CANON("true-client-ip"),
    CANON("x-original-uri"),
    CANON("x-original-host"),
    CANON("x-request-id"),
    CANON("host"),
    CANON("content-length"),
    /* W3C Trace Context: re-added from the validated values (http/trace.h). */
    CANON("traceparent"),
    CANON("tracestate"),
};

/* The proxy's signed identity (identity.h): a client's own copy could be a
 * replayed assertion of someone else, so it is dropped whether or not
 * UPSTREAM_IDENTITY_ASSERTION is on. */
static const struct canon_name request_dropped_identity[] = {
    CANON("x-mcp-identity-assertion"),
};

/* Whole families: nothing the client sends may look like an identity or
 * forwarding header the proxy vouches for. */
static const struct canon_name request_dropped_prefixes[] = {
    CANON("x-forwarded-"),
    CANON("x-user-"),
};

/* Set by the proxy on every response (SPEC.md 3.0.1 item 6, fixes 5 and 9). */
static const struct canon_name response_replaced[] = {
    CANON("strict-transport-security"), CANON("x-content-type-options"),  CANON("x-frame-options"),
    CANON("referrer-policy"),           CANON("content-security-policy"), CANON("x-request-id"),
};

/* SPEC.md 3.0.3: removed from every response that passed a limiter. */
static const struct canon_name response_rate_limit[] = {
    CANON("x-ratelimit-limit"),
    CANON("x-ratelimit-remaining"),
    CANON("x-ratelimit-reset"),
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* fold() as a table: ASCII upper case to lower case, '_' to '-', every
 * other byte itself. The drop lists run every field name of every request
 * and response through it. */
static const unsigned char fold_table[256] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
    0x40, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x5b, 0x5c, 0x5d, 0x5e, 0x2d,
    0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
    0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
    0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};

static unsigned char
fold(unsigned char c)
{
    return fold_table[c];
}

/* Are the first canon_len bytes of name equal to canon under fold()? */
static bool
folded_prefix_eq(struct slice name, const char *canon, size_t canon_len)
{
    if (name.len < canon_len) {
        return false;
    }
    for (size_t i = 0; i < canon_len; i++) {
        if (fold((unsigned char)name.ptr[i]) != fold((unsigned char)canon[i])) {
            return false;
        }
    }
    return true;
}

/* Is name "connection" under fold()? Asked of every field of every
 * request and response. */
static bool
is_connection(struct slice name)
{
    return name.len == sizeof("connection") - 1 &&
           folded_prefix_eq(name, "connection", sizeof("connection") - 1);
}

static bool
name_in(struct slice name, const struct canon_name *list, size_t count)
{
    if (name.len == 0) {
        return false;
    }
    /* Length and first byte rule out nearly every entry before the loop. */
    unsigned char first = fold((unsigned char)name.ptr[0]);
    for (size_t i = 0; i < count; i++) {
        if (name.len == list[i].len && first == (unsigned char)list[i].s[0] &&
            folded_prefix_eq(name, list[i].s, list[i].len)) {
            return true;
        }
    }
    return false;
}

/* Does the comma-separated list `value` (RFC 9110 5.6.1: elements with
 * optional whitespace, empty elements allowed) hold `token`, compared with
 * fold() when `folded`, else ASCII case-insensitively? */
static bool
list_has(struct slice value, struct slice token, bool folded)
{
    struct scan s = scan_init(value);
    struct slice elem;
    while (scan_list_next(&s, ',', &elem)) {
        elem = slice_trim_ows(elem);
        if (elem.len == 0) {
            continue;
        }
        bool eq = folded ? elem.len == token.len && folded_prefix_eq(elem, token.ptr, token.len)
                         : slice_case_eq(elem, token);
        if (eq) {
            return true;
        }
    }
    return false;
}

/* Clears keep[j] of every field a Connection field of the message names
 * (RFC 9110 7.6.1): one pass over the Connection tokens, not a search of
 * every Connection field per field. */
static void
drop_connection_named(const struct field *in, size_t n, bool *keep)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_connection(in[i].name)) {
            continue;
        }
        struct scan s = scan_init(in[i].value);
        struct slice token;
        while (scan_list_next(&s, ',', &token)) {
            token = slice_trim_ows(token);
            for (size_t j = 0; token.len > 0 && j < n; j++) {
                if (keep[j] && in[j].name.len == token.len &&
                    folded_prefix_eq(in[j].name, token.ptr, token.len)) {
                    keep[j] = false;
                }
            }
        }
    }
}

static bool
request_drops(struct slice name)
{
    if (name_in(name, hop_by_hop, COUNT_OF(hop_by_hop)) ||
        name_in(name, request_dropped, COUNT_OF(request_dropped)) ||
        name_in(name, request_dropped_identity, COUNT_OF(request_dropped_identity))) {
        return true;
    }
    for (size_t i = 0; i < COUNT_OF(request_dropped_prefixes); i++) {
        const struct canon_name *p = &request_dropped_prefixes[i];
        if (folded_prefix_eq(name, p->s, p->len)) {
            return true;
        }
    }
    return false;
}

void
proxy_headers_request_filter(const struct field *in, size_t n, bool *out_keep)
{
    for (size_t i = 0; i < n; i++) {
        out_keep[i] = !request_drops(in[i].name);
    }
    drop_connection_named(in, n, out_keep);
}

bool
proxy_headers_request_wants_trailers(const struct field *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (slice_case_eq_cstr(in[i].name, "te") &&
            list_has(in[i].value, SLICE_LIT("trailers"), false)) {
            return true;
        }
    }
    return false;
}

/* RFC 9110 5.5 (base/field.h): a CR or LF in a value we inject would split
 * the header (request smuggling). */
static bool
is_field_value(const char *s)
{
    return field_value_is_valid(slice_from_cstr(s));
}

/* "name: value\r\n" without printf: these go out on every request. */
static int
append_field(struct buf *b, const char *name, const char *value)
{
    /* A failure may leave part of the field: every caller then throws
     * the whole block away. */
    if (buf_append_str(b, name) != 0 || buf_append(b, ": ", 2) != 0 ||
        buf_append_str(b, value) != 0 || buf_append(b, "\r\n", 2) != 0) {
        return -1;
    }
    return 0;
}

/* Appends "X-User-Groups: g1,g2" after checking every group. */
static enum proxy_headers_rc
append_groups(struct buf *b, const struct proxy_headers_identity *id)
{
    if (id->group_count == 0) {
        return PROXY_HEADERS_OK;
    }
    if (buf_append_str(b, "X-User-Groups: ") != 0) {
        return PROXY_HEADERS_ERR_TOO_LARGE;
    }
    for (size_t i = 0; i < id->group_count; i++) {
        if (!is_field_value(id->groups[i])) {
            return PROXY_HEADERS_ERR_VALUE;
        }
        if ((i > 0 && buf_append_byte(b, ',') != 0) || buf_append_str(b, id->groups[i]) != 0) {
            return PROXY_HEADERS_ERR_TOO_LARGE;
        }
    }
    return buf_append_str(b, "\r\n") == 0 ? PROXY_HEADERS_OK : PROXY_HEADERS_ERR_TOO_LARGE;
}

static enum proxy_headers_rc
append_injected(const struct proxy_headers_upstream *up, const struct proxy_headers_identity *id,
                bool te_trailers, struct buf *b)
{
    const char *email = id->email != NULL ? id->email : "";
    const char *ip = id->client_ip != NULL ? id->client_ip : "";
    if (id->sub == NULL || !is_field_value(id->sub) || !is_field_value(email) ||
        !is_field_value(ip)) {
        return PROXY_HEADERS_ERR_VALUE;
    }
    if (append_field(b, "X-User-Sub", id->sub) != 0 ||
        append_field(b, "X-User-Email", email) != 0) {
        return PROXY_HEADERS_ERR_TOO_LARGE;
    }
    enum proxy_headers_rc rc = append_groups(b, id);
    if (rc != PROXY_HEADERS_OK) {
        return rc;
    }
    if (id->assertion != NULL) {
        if (!is_field_value(id->assertion)) {
            return PROXY_HEADERS_ERR_VALUE;
        }
        /* Plain appends: through printf this ~700-byte value cost more
         * than the rest of the block (bench/identity-sign.sh). */
        if (buf_append_str(b, IDENTITY_ASSERTION_HEADER ": ") != 0 ||
            buf_append_str(b, id->assertion) != 0 || buf_append(b, "\r\n", 2) != 0) {
            return PROXY_HEADERS_ERR_TOO_LARGE;
        }
    }
    if (up->authorization != NULL && append_field(b, "Authorization", up->authorization) != 0) {
        return PROXY_HEADERS_ERR_TOO_LARGE;
    }
    if (append_field(b, "X-Forwarded-For", ip) != 0 ||
        append_field(b, "X-Forwarded-Proto", up->forwarded_proto) != 0 ||
        append_field(b, "X-Forwarded-Host", up->forwarded_host) != 0) {
        return PROXY_HEADERS_ERR_TOO_LARGE;
    }
    if (te_trailers && append_field(b, "TE", "trailers") != 0) {
        return PROXY_HEADERS_ERR_TOO_LARGE;
    }
    return PROXY_HEADERS_OK;
}

/* traceparent (validated or generated, http/trace.h) and, beside an
 * incoming traceparent, tracestate: its lines joined with ',' when every
 * line is well formed and the whole stays within the bounds; else none. */
static enum proxy_headers_rc
append_trace(const struct field *in, size_t n, const struct proxy_headers_identity *id,
             struct buf *b)
{
    if (id->traceparent == NULL) {
        return PROXY_HEADERS_OK;
    }
    if (append_field(b, "traceparent", id->traceparent) != 0) {
        return PROXY_HEADERS_ERR_TOO_LARGE;
    }
    if (!id->traceparent_incoming) {
        return PROXY_HEADERS_OK;
    }
    size_t total = 0;
    size_t members = 0;
    size_t lines = 0;
    for (size_t i = 0; i < n; i++) {
        if (!slice_case_eq_cstr(in[i].name, "tracestate")) {
            continue;
        }
        size_t m = 0;
        if (http_trace_check_tracestate(in[i].value, &m) != NULL) {
            return PROXY_HEADERS_OK;
        }
        members += m;
        total += in[i].value.len + (lines > 0 ? 1 : 0);
        lines++;
    }
    if (lines == 0 || members == 0 || members > BOUNDS_TRACESTATE_MEMBERS_MAX ||
        total > BOUNDS_TRACESTATE_MAX) {
        return PROXY_HEADERS_OK;
    }
    if (buf_append_str(b, "tracestate: ") != 0) {
        return PROXY_HEADERS_ERR_TOO_LARGE;
    }
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (slice_case_eq_cstr(in[i].name, "tracestate")) {
            if ((!first && buf_append_byte(b, ',') != 0) || buf_append_slice(b, in[i].value) != 0) {
                return PROXY_HEADERS_ERR_TOO_LARGE;
            }
            first = false;
        }
    }
    return buf_append(b, "\r\n", 2) == 0 ? PROXY_HEADERS_OK : PROXY_HEADERS_ERR_TOO_LARGE;
}

/* Moves tmp's bytes onto the end of out in one append (all or nothing). */
static enum proxy_headers_rc
commit(struct buf *tmp, enum proxy_headers_rc rc, struct buf *out)
{
    if (rc == PROXY_HEADERS_OK && buf_append_slice(out, buf_slice(tmp)) != 0) {
        rc = PROXY_HEADERS_ERR_TOO_LARGE;
    }
    buf_cleanup(tmp);
    return rc;
}

enum proxy_headers_rc
proxy_headers_request_append_injected(const struct proxy_headers_upstream *up,
                                      const struct proxy_headers_identity *id, bool te_trailers,
                                      struct buf *out)
{
    struct buf tmp;
    buf_init(&tmp, out->max);
    return commit(&tmp, append_injected(up, id, te_trailers, &tmp), out);
}

/* The kept inbound fields as received, then the added ones. */
static enum proxy_headers_rc
format_request(const struct proxy_headers_upstream *up, const struct field *in, size_t n,
               const struct proxy_headers_identity *id, struct buf *b)
{
    bool keep[BOUNDS_HEADER_COUNT_MAX];
    if (n > BOUNDS_HEADER_COUNT_MAX) {
        return PROXY_HEADERS_ERR_TOO_LARGE; /* the request parser allows no more */
    }
    proxy_headers_request_filter(in, n, keep);
    for (size_t i = 0; i < n; i++) {
        if (!keep[i]) {
            continue;
        }
        if (buf_append_slice(b, in[i].name) != 0 || buf_append(b, ": ", 2) != 0 ||
            buf_append_slice(b, in[i].value) != 0 || buf_append(b, "\r\n", 2) != 0) {
            return PROXY_HEADERS_ERR_TOO_LARGE;
        }
    }
    enum proxy_headers_rc rc =
        append_injected(up, id, proxy_headers_request_wants_trailers(in, n), b);
    return rc == PROXY_HEADERS_OK ? append_trace(in, n, id, b) : rc;
}

enum proxy_headers_rc
proxy_headers_request_format(const struct proxy_headers_upstream *up, const struct field *in,
                             size_t n, const struct proxy_headers_identity *id, struct buf *out)
{
    if (out->len == 0) {
        /* The forward's case, once per request: written in place, and
         * "unchanged on error" is simply empty again. */
        enum proxy_headers_rc rc = format_request(up, in, n, id, out);
        if (rc != PROXY_HEADERS_OK) {
            buf_reset(out);
        }
        return rc;
    }
    struct buf tmp;
    buf_init(&tmp, out->max);
    return commit(&tmp, format_request(up, in, n, id, &tmp), out);
}

enum proxy_headers_rc
proxy_headers_upstream_init(struct proxy_headers_upstream *out, const char *proxy_base_url,
                            const char *upstream_authorization)
{
    memset(out, 0, sizeof(*out));
    if (upstream_authorization != NULL && !is_field_value(upstream_authorization)) {
        return PROXY_HEADERS_ERR_VALUE;
    }
    struct url u;
    if (url_parse(proxy_base_url, &u) != URL_OK) {
        return PROXY_HEADERS_ERR_BASE_URL;
    }
    out->forwarded_proto = xstrdup(u.scheme);
    struct buf host;
    buf_init(&host, BOUNDS_URL_MAX);
    if (buf_append_str(&host, u.host) != 0 ||
        (u.port != NULL && buf_appendf(&host, ":%s", u.port) != 0)) {
        buf_cleanup(&host);
        url_cleanup(&u);
        proxy_headers_upstream_cleanup(out);
        return PROXY_HEADERS_ERR_BASE_URL;
    }
    out->forwarded_host = buf_take(&host);
    if (upstream_authorization != NULL && upstream_authorization[0] != '\0') {
        out->authorization = xstrdup(upstream_authorization);
    }
    url_cleanup(&u);
    return PROXY_HEADERS_OK;
}

void
proxy_headers_upstream_cleanup(struct proxy_headers_upstream *u)
{
    xfree(u->forwarded_proto);
    xfree(u->forwarded_host);
    xfree(u->authorization);
    memset(u, 0, sizeof(*u));
}

bool
proxy_headers_response_keep(struct slice name, bool rate_limit_enabled)
{
    if (name_in(name, hop_by_hop, COUNT_OF(hop_by_hop)) ||
        name_in(name, response_replaced, COUNT_OF(response_replaced))) {
        return false;
    }
    /* The proxy owns CORS on the mount (proxy/cors.h): an upstream's own
     * Access-Control-* would give a browser two answers (two
     * Access-Control-Allow-Origin values fail the CORS check) or a wider
     * one than MCP_ALLOWED_ORIGINS (its "*"). */
    if (folded_prefix_eq(name, "access-control-", sizeof("access-control-") - 1)) {
        return false;
    }
    return !(rate_limit_enabled &&
             name_in(name, response_rate_limit, COUNT_OF(response_rate_limit)));
}

void
proxy_headers_response_filter(const struct field *in, size_t n, bool rate_limit_enabled,
                              bool *out_keep)
{
    for (size_t i = 0; i < n; i++) {
        out_keep[i] = proxy_headers_response_keep(in[i].name, rate_limit_enabled);
    }
    drop_connection_named(in, n, out_keep);
}
