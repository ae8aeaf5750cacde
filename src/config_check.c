#include "config_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/buf.h"
#include "base/field.h"
#include "base/ipaddr.h"
#include "base/scan.h"
#include "base/url.h"
#include "base/xalloc.h"

/* A bare host name or IPv6 text fits comfortably; longer hosts are refused
 * by the loopback test (they cannot be localhost or an IP literal). */
#define HOST_TEXT_MAX 256

const char config_check_reason_origin_only[] =
    "must include an explicit path, the MCP mount (origin-only URLs are refused)";

static bool
is_host_name_byte(unsigned char c)
{
    return scan_is_alpha(c) || scan_is_digit(c) || c == '-' || c == '.';
}

static bool
is_port_text(struct slice s, uint16_t *out)
{
    struct scan sc = scan_init(s);
    uint64_t v = 0;
    if (s.len == 0 || s.len > 5 || !scan_u64(&sc, 65535, &v) || !scan_eof(&sc) || v == 0) {
        return false;
    }
    *out = (uint16_t)v;
    return true;
}

const char *
config_check_listen(const char *text, char **out_host, uint16_t *out_port)
{
    struct slice t = slice_from_cstr(text);
    struct slice host;
    struct slice port;
    if (t.len > 0 && t.ptr[0] == '[') {
        long close = slice_find_byte(t, ']');
        if (close < 0) {
            return "has '[' without ']'; write IPv6 addresses as [::1]:8080";
        }
        host = slice_make(t.ptr + 1, (size_t)close - 1);
        struct ipaddr a;
        if (!ipaddr_parse(host, &a) || a.family != AF_INET6) {
            return "has a bracketed host that is not an IPv6 address; use e.g. [::1]:8080";
        }
        struct slice rest = slice_skip(t, (size_t)close + 1);
        if (rest.len == 0 || rest.ptr[0] != ':') {
            return "has no port; use host:port, e.g. [::1]:8080";
        }
        port = slice_skip(rest, 1);
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL) {
            return "has no port; use host:port, e.g. :8080 or 127.0.0.1:8080";
        }
        host = slice_make(text, (size_t)(colon - text));
        port = slice_from_cstr(colon + 1);
        if (slice_find_byte(host, ':') >= 0) {
            return "has an IPv6 address without brackets; write it as [::1]:8080";
        }
        for (size_t i = 0; i < host.len; i++) {
            if (!is_host_name_byte((unsigned char)host.ptr[i])) {
                return "has a host that is not an IP address or host name; use e.g. "
                       "0.0.0.0:8080, 127.0.0.1:8080 or :8080";
            }
        }
    }
    uint16_t p;
    if (!is_port_text(port, &p)) {
        return "has a port that is not a number from 1 to 65535; use e.g. :8080";
    }
    *out_host = xstrndup(host.ptr, host.len);
    *out_port = p;
    return NULL;
}

/* SPEC.md 1.3: "localhost" (DNS names are case-insensitive) or a loopback
 * IP literal (127/8, ::1, ::ffff:127/104), after one trailing '.'. */
static bool
is_loopback_host(const struct url *u)
{
    char host[HOST_TEXT_MAX];
    if (!url_host_bare(u, host, sizeof(host))) {
        return false;
    }
    size_t len = strlen(host);
    if (len > 0 && host[len - 1] == '.') {
        host[--len] = '\0';
    }
    if (strcasecmp(host, "localhost") == 0) {
        return true;
    }
    struct ipaddr a;
    return ipaddr_parse(slice_make(host, len), &a) && ipaddr_is_loopback(&a);
}

/* Shared first steps of every URL rule: it parses, is not opaque, has a
 * host. Returns the reason or NULL with *u filled. */
static const char *
parse_absolute(const char *text, struct url *u)
{
    switch (url_parse(text, u)) {
    case URL_OK:
        return NULL;
    case URL_ERR_OPAQUE:
        return "must be an absolute URL with an authority (scheme://host...), not the "
               "opaque scheme:rest form";
    case URL_ERR_NO_HOST:
        return "must include a host (scheme://host...)";
    case URL_ERR_MALFORMED:
    case URL_RC_COUNT:
        break;
    }
    return "is not a valid absolute URL; write it as scheme://host[:port][/path]";
}

const char *
config_check_issuer_url(const char *text, bool allow_insecure_http)
{
    struct url u;
    const char *reason = parse_absolute(text, &u);
    if (reason != NULL) {
        return reason;
    }
    if (strcmp(u.scheme, "https") == 0) {
        reason = NULL;
    } else if (strcmp(u.scheme, "http") == 0) {
        if (!allow_insecure_http && !is_loopback_host(&u)) {
            reason = "uses http:// to a host that is not loopback (cleartext OIDC exposes the "
                     "client secret); use https://, or for a development IdP set "
                     "OIDC_ALLOW_INSECURE_HTTP=true (refused when PROD_MODE=true)";
        }
    } else {
        reason = "must use https:// (or http:// to localhost or a loopback IP); use the "
                 "issuer exactly as the IdP publishes it";
    }
    url_cleanup(&u);
    return reason;
}

const char *
config_check_base_url(const char *text)
{
    struct url u;
    const char *reason = parse_absolute(text, &u);
    if (reason != NULL) {
        return reason;
    }
    if (strcmp(u.scheme, "http") == 0 && !is_loopback_host(&u)) {
        reason = "uses http:// to a host that is not loopback; use https:// (http:// is only "
                 "for localhost, 127.0.0.1 or [::1])";
    } else if (strcmp(u.scheme, "https") != 0 && strcmp(u.scheme, "http") != 0) {
        reason = "must use https:// (or http:// to localhost or a loopback IP)";
    } else if (u.has_userinfo) {
        reason = "must not contain userinfo (user:password@); remove it";
    } else if (u.has_fragment) {
        reason = "must not contain a fragment (#...); remove it";
    } else if (u.has_query) {
        reason = "must not contain a query (?...), not even a bare '?'; remove it";
    } else if (u.path[0] != '\0' && strcmp(u.path, "/") != 0) {
        reason = "must not contain a path: the proxy serves at the root of its origin; use "
                 "scheme://host[:port] only";
    }
    url_cleanup(&u);
    return reason;
}

static bool
is_mount_byte(unsigned char c)
{
    return scan_is_unreserved(c) || c == '/';
}

/* Paths the proxy itself serves (SPEC.md 1.3 rule 7, plus /consent: the
 * preface's fix 2). A mount equal to one, or below one, would shadow it. */
static const char *const reserved_paths[] = {
    "/healthz", "/register", "/authorize", "/callback", "/token", "/.well-known", "/consent",
};

static const char *
check_mount(struct slice path)
{
    if (path.len == 0 || slice_eq_cstr(path, "/")) {
        return config_check_reason_origin_only;
    }
    for (size_t i = 0; i + 1 < path.len; i++) {
        if (path.ptr[i] == '/' && path.ptr[i + 1] == '/') {
            return "has an empty path segment (//); remove the extra '/'";
        }
    }
    for (size_t i = 0; i < path.len; i++) {
        if (!is_mount_byte((unsigned char)path.ptr[i])) {
            return "has a path with characters other than unreserved characters "
                   "(A-Z a-z 0-9 - . _ ~) and '/'; rename the mount, e.g. /mcp";
        }
    }
    /* Preface fix 3: "." and ".." segments would make the mount ambiguous
     * once a client or intermediary normalises the path. */
    struct scan s = scan_init(path);
    while (!scan_eof(&s)) {
        (void)scan_byte(&s, '/');
        struct slice seg;
        if (!scan_until(&s, '/', &seg)) {
            seg = scan_rest(&s);
            s.p = s.end;
        }
        if (slice_eq_cstr(seg, ".") || slice_eq_cstr(seg, "..")) {
            return "has a '.' or '..' path segment; use the plain path, e.g. /mcp";
        }
    }
    for (size_t i = 0; i < sizeof(reserved_paths) / sizeof(reserved_paths[0]); i++) {
        struct slice r = slice_from_cstr(reserved_paths[i]);
        if (slice_starts_with(path, r) && (path.len == r.len || path.ptr[r.len] == '/')) {
            return "has a path that collides with a route the proxy serves itself (/healthz, "
                   "/register, /authorize, /callback, /token, /consent, /.well-known); choose "
                   "another mount, e.g. /mcp";
        }
    }
    return NULL;
}

static char *
join_origin(const struct url *u)
{
    struct buf b;
    buf_init(&b, strlen(u->scheme) + strlen(u->host) + (u->port ? strlen(u->port) : 0) + 8);
    int rc = buf_appendf(&b, "%s://%s", u->scheme, u->host);
    if (rc == 0 && u->port != NULL) {
        rc = buf_appendf(&b, ":%s", u->port);
    }
    if (rc != 0) {
        abort(); /* the cap above is exact */
    }
    return buf_take(&b);
}

const char *
config_check_upstream_url(const char *text, struct config_upstream *out)
{
    struct url u;
    const char *reason = parse_absolute(text, &u);
    if (reason != NULL) {
        return reason;
    }
    struct slice path = slice_from_cstr(u.path);
    if (strcmp(u.scheme, "http") != 0 && strcmp(u.scheme, "https") != 0) {
        reason = "must use http:// or https://";
    } else if (u.has_userinfo) {
        reason = "must not contain userinfo (user:password@); send upstream credentials with "
                 "UPSTREAM_AUTHORIZATION_HEADER instead";
    } else if (u.has_fragment) {
        reason = "must not contain a fragment (#...); remove it";
    } else if (u.has_query) {
        reason = "must not contain a query (?...), not even a bare '?'; remove it";
    } else {
        /* Rule 3: "/mcp/" and "/mcp//" mount as "/mcp"; a lone "/" stays
         * and is refused as origin-only below. */
        if (path.len > 1) {
            while (path.len > 0 && path.ptr[path.len - 1] == '/') {
                path.len--;
            }
        }
        reason = check_mount(path);
    }
    if (reason == NULL) {
        char *origin = join_origin(&u);
        struct buf full;
        buf_init(&full, strlen(origin) + path.len + 1);
        if (buf_append_str(&full, origin) != 0 || buf_append_slice(&full, path) != 0) {
            abort(); /* the cap above is exact */
        }
        out->origin = origin;
        out->url = buf_take(&full);
        out->mount = xstrndup(path.ptr, path.len);
    }
    url_cleanup(&u);
    return reason;
}

void
config_check_upstream_cleanup(struct config_upstream *u)
{
    xfree(u->url);
    xfree(u->origin);
    xfree(u->mount);
    memset(u, 0, sizeof(*u));
}

static bool
is_scheme_byte(unsigned char c)
{
    return scan_is_alpha(c) || scan_is_digit(c) || c == '+' || c == '-' || c == '.';
}

/* What follows scheme://host[:port] decides the reason; any byte at all is
 * refused. */
static const char *
csp_trailer_reason(struct slice rest)
{
    switch (rest.ptr[0]) {
    case '/':
        return "has a path (not even a trailing '/' is allowed); use scheme://host[:port]";
    case '?':
        return "has a query; use scheme://host[:port]";
    case '#':
        return "has a fragment; use scheme://host[:port]";
    default:
        return "has a host with characters other than letters, digits, '-' and '.' (or a "
               "bracketed IPv6 address); use scheme://host[:port]";
    }
}

const char *
config_check_csp_source(struct slice entry, char **out_source)
{
    if (slice_find_byte(entry, '*') >= 0) {
        return "has a '*' wildcard; list each origin as scheme://host[:port]";
    }
    if (slice_find_byte(entry, '@') >= 0) {
        return "has userinfo (user@); use scheme://host[:port]";
    }
    struct scan s = scan_init(entry);
    struct slice scheme = scan_while(&s, is_scheme_byte);
    if (scheme.len == 0 || !scan_is_alpha((unsigned char)scheme.ptr[0]) || !scan_lit(&s, "://")) {
        return "must be scheme://host[:port] (a value with '/' must contain ://)";
    }
    if (scan_peek(&s) == '[') {
        struct slice inner;
        s.p++;
        struct ipaddr a;
        if (!scan_until(&s, ']', &inner) || !ipaddr_parse(inner, &a) || a.family != AF_INET6) {
            return "has a bracketed host that is not an IPv6 address; use scheme://host[:port]";
        }
        s.p++; /* the ']' */
    } else if (scan_while(&s, is_host_name_byte).len == 0) {
        return "has no host; use scheme://host[:port]";
    }
    uint16_t port = 0;
    if (scan_byte(&s, ':')) {
        struct slice digits = scan_rest(&s);
        size_t n = 0;
        while (n < digits.len && scan_is_digit((unsigned char)digits.ptr[n])) {
            n++;
        }
        if (!is_port_text(slice_make(digits.ptr, n), &port)) {
            return "has a port that is not a number from 1 to 65535";
        }
        s.p += n;
    }
    if (!scan_eof(&s)) {
        return csp_trailer_reason(scan_rest(&s));
    }
    struct buf b;
    buf_init(&b, entry.len + 1);
    for (size_t i = 0; i < entry.len; i++) {
        unsigned char c = (unsigned char)entry.ptr[i];
        if (buf_append_byte(&b, (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c)) != 0) {
            abort(); /* the cap above is exact */
        }
    }
    *out_source = buf_take(&b);
    return NULL;
}

const char *
config_check_origin(struct slice entry, char **out_origin)
{
    if (slice_eq_cstr(entry, "*")) {
        return "is '*'; a wildcard would switch off the Origin check that stops DNS "
               "rebinding: list each origin as scheme://host[:port]";
    }
    if (slice_case_eq_cstr(entry, "null")) {
        return "is \"null\", the opaque origin every sandboxed frame and file: page "
               "shares; list real origins as scheme://host[:port]";
    }
    char *source = NULL;
    const char *reason = config_check_csp_source(entry, &source);
    if (reason != NULL) {
        return reason;
    }
    bool https = strncmp(source, "https://", 8) == 0;
    if (!https && strncmp(source, "http://", 7) != 0) {
        xfree(source);
        return "must be an http:// or https:// origin (the only ones a web page sends)";
    }
    /* Browsers send the port in decimal and leave out the default one:
     * store what they send, so matching is a plain comparison. */
    char *host = strstr(source, "://") + 3;
    char *bracket = strchr(host, ']');
    char *colon = strrchr(bracket != NULL ? bracket : host, ':');
    if (colon != NULL) {
        struct scan ps = scan_init(slice_from_cstr(colon + 1));
        uint64_t port = 0;
        if (!scan_u64(&ps, 65535, &port)) {
            abort(); /* config_check_csp_source checked it: 1..65535 */
        }
        *colon = '\0';
        if (port != (https ? 443u : 80u)) {
            struct buf b;
            buf_init(&b, strlen(source) + sizeof(":65535"));
            if (buf_appendf(&b, "%s:%u", source, (unsigned)port) != 0) {
                abort(); /* sized above */
            }
            xfree(source);
            source = buf_take(&b);
        }
    }
    *out_origin = source;
    return NULL;
}

const char *
config_check_redis_key_prefix(struct slice prefix, size_t *out_offset)
{
    for (size_t i = 0; i < prefix.len; i++) {
        unsigned char c = (unsigned char)prefix.ptr[i];
        if (c < 0x20 || c > 0x7e || c == '{' || c == '}') {
            *out_offset = i;
            return "has a forbidden byte: only printable ASCII (0x20-0x7E) without '{' or "
                   "'}' is allowed (no Redis Cluster hash tags, no CR/LF/TAB/DEL, no non-ASCII)";
        }
    }
    return NULL;
}

const char *
config_check_header_value(struct slice value)
{
    if (!field_value_is_valid(value)) {
        return "contains a control character (CR, LF, NUL, ...) that an HTTP header value "
               "cannot carry; set the exact header value, e.g. \"Bearer <token>\"";
    }
    return NULL;
}

/* 2^53: every integer up to it is exact in a double. */
#define DECIMAL_INT_MAX 9007199254740992ULL
#define DECIMAL_FRACTION_DIGITS 18

const char *
config_check_decimal(struct slice text, double *out)
{
    static const char *const not_number =
        "must be a non-negative decimal number such as 0, 2.5 or 20 (no sign other than a "
        "leading '+', no exponent)";
    struct scan s = scan_init(text);
    if (scan_peek(&s) == '-') {
        return "must not be negative; use 0 to disable, or a positive rate such as 20";
    }
    (void)scan_byte(&s, '+');
    uint64_t whole = 0;
    bool has_whole = false;
    if (scan_is_digit((unsigned char)scan_peek(&s))) {
        if (!scan_u64(&s, DECIMAL_INT_MAX, &whole)) {
            return "is too large; use a rate below 9007199254740992";
        }
        has_whole = true;
    }
    uint64_t frac = 0;
    uint64_t scale = 1;
    bool has_frac = false;
    if (scan_byte(&s, '.')) {
        while (scan_is_digit((unsigned char)scan_peek(&s))) {
            if (scale < 1000000000000000000ULL) {
                frac = frac * 10 + (uint64_t)(*s.p - '0');
                scale *= 10;
            }
            s.p++;
            has_frac = true;
        }
    }
    if ((!has_whole && !has_frac) || !scan_eof(&s)) {
        return not_number;
    }
    *out = (double)whole + (double)frac / (double)scale;
    return NULL;
}

const char *
config_check_integer(struct slice text, bool *out_negative, uint64_t *out_magnitude)
{
    struct scan s = scan_init(text);
    bool neg = false;
    if (scan_byte(&s, '-')) {
        neg = true;
    } else {
        (void)scan_byte(&s, '+');
    }
    uint64_t v = 0;
    if (!scan_is_digit((unsigned char)scan_peek(&s))) {
        return "must be a whole number (decimal digits, optionally signed)";
    }
    if (!scan_u64(&s, UINT64_MAX, &v)) {
        return "is out of range";
    }
    if (!scan_eof(&s)) {
        return "must be a whole number (decimal digits, optionally signed)";
    }
    *out_negative = neg && v > 0;
    *out_magnitude = v;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Weak secrets (SPEC.md 1.4)                                          */

static const char weak_single[] = "copies of a single byte";
static const char weak_period[] = "repeats with period";
static const char weak_alphabet[] = "distinct byte values";

/* Fewer distinct byte values than this is a tiny alphabet. */
#define CONFIG_CHECK_WEAK_MIN_DISTINCT 8

const char *
config_check_secret_weakness(const char *secret, size_t len, size_t *detail)
{
    if (len < 2) {
        return NULL;
    }
    /* The smallest p with b[i] == b[i - p] for all i >= p is len minus the
     * longest proper border (prefix function). Go tries p = 1, 2, ... while
     * 2p <= len, which finds the same p in quadratic time. */
    size_t *border = xmalloc(len * sizeof(size_t));
    border[0] = 0;
    for (size_t i = 1; i < len; i++) {
        size_t k = border[i - 1];
        while (k > 0 && secret[i] != secret[k]) {
            k = border[k - 1];
        }
        border[i] = secret[i] == secret[k] ? k + 1 : k;
    }
    size_t period = len - border[len - 1];
    xfree(border);
    if (2 * period <= len) {
        *detail = period == 1 ? len : period;
        return period == 1 ? weak_single : weak_period;
    }
    bool seen[256] = {false};
    size_t distinct = 0;
    for (size_t i = 0; i < len && distinct < CONFIG_CHECK_WEAK_MIN_DISTINCT; i++) {
        unsigned char ch = (unsigned char)secret[i];
        if (!seen[ch]) {
            seen[ch] = true;
            distinct++;
        }
    }
    if (distinct < CONFIG_CHECK_WEAK_MIN_DISTINCT) {
        *detail = distinct;
        return weak_alphabet;
    }
    return NULL;
}

void
config_check_secret_weakness_text(const char *secret, size_t len, char *out, size_t cap)
{
    size_t detail = 0;
    const char *reason = config_check_secret_weakness(secret, len, &detail);
    if (cap == 0) {
        return;
    }
    out[0] = '\0';
    if (reason == weak_single) {
        snprintf(out, cap, "is %zu copies of a single byte", detail);
    } else if (reason == weak_period) {
        snprintf(out, cap, "repeats with period %zu", detail);
    } else if (reason == weak_alphabet) {
        snprintf(out, cap, "uses only %zu distinct byte values", detail);
    }
}

/* ---- Redis Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER) ---------- */

static bool
is_redis_host_char(unsigned char c)
{
    return scan_is_alpha(c) || scan_is_digit(c) || c == '-' || c == '.' || c == '_';
}

/* 1..65535 in at most five ASCII digits, nothing else. */
bool
config_check_port(struct slice s, unsigned *out)
{
    if (s.len == 0 || s.len > 5) {
        return false;
    }
    unsigned v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (!scan_is_digit((unsigned char)s.ptr[i])) {
            return false;
        }
        v = v * 10 + (unsigned)(s.ptr[i] - '0');
    }
    if (v == 0 || v > 65535) {
        return false;
    }
    *out = v;
    return true;
}

/* A bare host: an IP literal (IPv6 unbracketed) or a name of host bytes. */
bool
config_check_redis_host(struct slice host, struct config_redis_addr *out)
{
    if (host.len == 0 || host.len > BOUNDS_REDIS_SENTINEL_HOST_MAX) {
        return false;
    }
    struct ipaddr a;
    out->host_is_ip = ipaddr_parse(host, &a);
    if (!out->host_is_ip) {
        for (size_t i = 0; i < host.len; i++) {
            if (!is_redis_host_char((unsigned char)host.ptr[i])) {
                return false;
            }
        }
    }
    memcpy(out->host, host.ptr, host.len);
    out->host[host.len] = '\0';
    return true;
}

/* "host:port" or "[v6]:port". */
static const char *
parse_sentinel_entry(struct slice e, struct config_redis_addr *out)
{
    struct slice host;
    struct slice port;
    if (e.len > 0 && e.ptr[0] == '[') {
        long close = slice_find_byte(e, ']');
        if (close < 0) {
            return "has an unclosed '[' (write [v6]:port)";
        }
        host = slice_make(e.ptr + 1, (size_t)close - 1);
        struct ipaddr a;
        if (!ipaddr_parse(host, &a) || a.family != AF_INET6) {
            return "has a host in brackets that is not an IPv6 address";
        }
        struct slice rest = slice_skip(e, (size_t)close + 1);
        if (rest.len == 0 || rest.ptr[0] != ':') {
            return "has an entry without a port (write host:port, Sentinel's is usually 26379)";
        }
        port = slice_skip(rest, 1);
    } else {
        long colon = slice_find_byte(e, ':');
        if (colon < 0) {
            return "has an entry without a port (write host:port, Sentinel's is usually 26379)";
        }
        host = slice_make(e.ptr, (size_t)colon);
        port = slice_skip(e, (size_t)colon + 1);
        if (slice_find_byte(port, ':') >= 0) {
            return "has an IPv6 address without brackets (write [v6]:port)";
        }
    }
    if (!config_check_port(port, &out->port)) {
        return "has a port that is not a number from 1 to 65535";
    }
    if (!config_check_redis_host(host, out)) {
        return "has an empty, overlong or malformed host";
    }
    return NULL;
}

const char *
config_check_redis_sentinels(struct slice text, struct config_redis_addr *out, size_t *count)
{
    *count = 0;
    struct slice rest = text;
    size_t n = 0;
    for (;;) {
        long comma = slice_find_byte(rest, ',');
        struct slice e = slice_trim_space(comma < 0 ? rest : slice_make(rest.ptr, (size_t)comma));
        if (e.len == 0) {
            return "has an empty entry (write host:port,host:port)";
        }
        if (n == BOUNDS_REDIS_SENTINELS_MAX) {
            return "names more than 16 sentinels";
        }
        const char *reason = parse_sentinel_entry(e, &out[n]);
        if (reason != NULL) {
            return reason;
        }
        n++;
        if (comma < 0) {
            break;
        }
        rest = slice_skip(rest, (size_t)comma + 1);
    }
    *count = n;
    return NULL;
}

const char *
config_check_redis_sentinel_master(struct slice name)
{
    if (name.len == 0) {
        return "is empty";
    }
    if (name.len > BOUNDS_REDIS_SENTINEL_MASTER_MAX) {
        return "is longer than 128 bytes";
    }
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        if (c <= 0x20 || c >= 0x7f) {
            return "holds a space, a control byte or a non-ASCII byte";
        }
    }
    return NULL;
}
