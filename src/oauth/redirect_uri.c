#include "oauth/redirect_uri.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/form.h"
#include "base/idn.h"
#include "base/ipaddr.h"
#include "base/slice.h"
#include "base/strtab.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "bounds.h"

static const char *const rc_names[OAUTH_REDIRECT_URI_RC_COUNT] = {
    [OAUTH_REDIRECT_URI_OK] = "ok",
    [OAUTH_REDIRECT_URI_ERR_UNPARSEABLE] = "unparseable",
    [OAUTH_REDIRECT_URI_ERR_TOO_LONG] = "too_long",
};

const char *
oauth_redirect_uri_rc_str(enum oauth_redirect_uri_rc rc)
{
    return strtab_name(rc_names, OAUTH_REDIRECT_URI_RC_COUNT, (size_t)rc, "unknown");
}

/* The host exactly as written in text, which url_parse accepted (so it is
 * "scheme://authority..."): the authority ends at the first '/', '?' or '#';
 * userinfo ends at its last '@'; an IPv6 literal keeps its brackets; a
 * ":port" is cut. Example: "http://u@[::1]:8080/cb" gives "[::1]". */
static struct slice
raw_host(const char *text)
{
    const char *auth = strstr(text, "://");
    if (auth == NULL) {
        return SLICE_NULL;
    }
    auth += 3;
    struct slice a = slice_make(auth, strcspn(auth, "/?#"));
    for (size_t i = a.len; i > 0; i--) {
        if (a.ptr[i - 1] == '@') {
            a = slice_skip(a, i);
            break;
        }
    }
    if (a.len > 0 && a.ptr[0] == '[') {
        long close = slice_find_byte(a, ']');
        return close < 0 ? SLICE_NULL : slice_make(a.ptr, (size_t)close + 1);
    }
    long colon = slice_find_byte(a, ':');
    return colon < 0 ? a : slice_make(a.ptr, (size_t)colon);
}

static bool
is_bracketed(struct slice host)
{
    return host.len >= 2 && host.ptr[0] == '[' && host.ptr[host.len - 1] == ']';
}

/* The literal compared between loopback URIs: brackets and one trailing '.'
 * removed. */
static struct slice
host_literal(struct slice host)
{
    if (is_bracketed(host)) {
        return slice_make(host.ptr + 1, host.len - 2);
    }
    if (host.len > 0 && host.ptr[host.len - 1] == '.') {
        host.len--;
    }
    return host;
}

/* Loopback judged on the host as written, and only when curl read the same
 * host: a URL on which the two parsers disagree is never loopback, so no
 * parser differential can turn an "http" URI into a trusted one. */
static bool
is_loopback(const struct url *u, const char *text)
{
    struct slice raw = raw_host(text);
    struct slice parsed = slice_from_cstr(u->host);
    struct slice lit = host_literal(raw);
    if (is_bracketed(raw)) {
        struct ipaddr a;
        struct ipaddr b;
        return is_bracketed(parsed) && ipaddr_parse(lit, &a) && a.family == AF_INET6 &&
               ipaddr_is_loopback(&a) && ipaddr_parse(host_literal(parsed), &b) &&
               ipaddr_eq(&a, &b);
    }
    if (!slice_case_eq(raw, parsed)) {
        return false;
    }
    /* SPEC fix 7: "LOCALHOST" is loopback too (Go compared case-sensitively). */
    if (slice_case_eq_cstr(lit, "localhost")) {
        return true;
    }
    struct ipaddr a;
    return ipaddr_parse(lit, &a) && a.family == AF_INET && ipaddr_is_loopback(&a);
}

/* A host name a user could misread on the consent page, or that a browser
 * would turn into another name: percent-escapes (browsers decode them
 * before the lookup, so "%d0%b0pple.com" would bypass the rules below), a
 * non-ASCII or "xn--" name that is not valid IDNA2008, or a label mixing
 * scripts ("\u0430pple.com", a Cyrillic a among Latin letters). Not in
 * SPEC.md: docs/conformance.md. */
static const char *
check_host_name(const struct url *u)
{
    if (u->host[0] == '[') {
        return NULL; /* IP literal */
    }
    if (strchr(u->host, '%') != NULL) {
        return "redirect_uri host must not be percent-encoded";
    }
    char *ascii = NULL;
    char *unicode = NULL;
    enum idn_rc rc = idn_host_parse(u->host, &ascii, &unicode);
    xfree(ascii);
    xfree(unicode);
    switch (rc) {
    case IDN_ERR_INVALID:
        return "redirect_uri host is not a valid internationalized domain name (IDNA2008)";
    case IDN_ERR_MIXED_SCRIPT:
        return "redirect_uri host mixes scripts (such as Latin and Cyrillic) in one label";
    case IDN_OK:
    case IDN_ASCII:
    case IDN_RC_COUNT:
        break;
    }
    return NULL;
}

/* Schemes a redirect may never use, whatever the registration says: they
 * run code in the page or the browser (javascript, data, vbscript, blob,
 * about), read local files (file), are not a navigation a native app can
 * receive (ws, wss, ftp), or open the browser's own pages and extensions
 * rather than an app. Compared case-insensitively. */
static const char *const forbidden_schemes[] = {
    "javascript",    "data",        "vbscript", "file",
    "about",         "blob",        "ws",       "wss",
    "ftp",           "view-source", "chrome",   "chrome-extension",
    "moz-extension", "resource",
};

/* RFC 3986 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":". Returns the
 * scheme without its ':', or SLICE_NULL. */
static struct slice
scheme_of(const char *uri)
{
    size_t n = 0;
    while (uri[n] != '\0' && uri[n] != ':') {
        char c = uri[n];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool rest = (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
        if (!alpha && !(n > 0 && rest)) {
            return SLICE_NULL;
        }
        n++;
    }
    return uri[n] == ':' && n > 0 ? slice_make(uri, n) : SLICE_NULL;
}

static bool
is_forbidden_scheme(struct slice scheme)
{
    /* A one-letter scheme is a Windows drive letter ("C:/x"), a path. */
    if (scheme.len < 2) {
        return true;
    }
    for (size_t i = 0; i < sizeof(forbidden_schemes) / sizeof(forbidden_schemes[0]); i++) {
        if (slice_case_eq_cstr(scheme, forbidden_schemes[i])) {
            return true;
        }
    }
    return false;
}

static bool
is_web_scheme(struct slice scheme)
{
    return slice_case_eq_cstr(scheme, "http") || slice_case_eq_cstr(scheme, "https");
}

static bool
is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 3986's unreserved, gen-delims and sub-delims, and '%' only before two
 * hex digits: no space, control, quote, '<', '>', '\' or non-ASCII byte, so
 * the URI is fit for a Location header and an HTML attribute as it is. */
static bool
is_uri_text(const char *s)
{
    for (size_t i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        if (c == '%') {
            if (!is_hex(s[i + 1]) || !is_hex(s[i + 2])) {
                return false;
            }
            continue;
        }
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~:/?#[]@!$&'()*+,;=", c) != NULL) {
            continue;
        }
        return false;
    }
    return true;
}

/* A native app's private-use scheme (RFC 8252 7.1): "cursor://host/path"
 * or "com.example.app:/path". The scheme was checked by the caller. Not
 * parsed by curl: whoever registered the scheme on the user's computer
 * receives the whole URI, so there is no host to look up or to misread,
 * only text to keep well-formed. */
static const char *
check_private_use(const char *uri, struct slice scheme)
{
    const char *rest = uri + scheme.len + 1;
    if (rest[0] == '\0' || !is_uri_text(uri)) {
        return "malformed redirect_uri";
    }
    if (strchr(rest, '#') != NULL) {
        return "redirect_uri must not contain a fragment";
    }
    if (rest[0] == '/' && rest[1] == '/') {
        const char *auth = rest + 2;
        if (memchr(auth, '@', strcspn(auth, "/?")) != NULL) {
            return "redirect_uri must not contain userinfo";
        }
    }
    return NULL;
}

static const char *
check_web(const char *uri)
{
    struct url u;
    switch (url_parse(uri, &u)) {
    case URL_OK:
        break;
    case URL_ERR_OPAQUE:
        return "redirect_uri must be an absolute URI with authority, not opaque";
    case URL_ERR_NO_HOST:
        return "redirect_uri must include a host";
    case URL_ERR_MALFORMED:
    default:
        return "malformed redirect_uri";
    }
    const char *reason = NULL;
    struct slice host = raw_host(uri);
    if (is_bracketed(host) && memchr(host.ptr, '%', host.len) != NULL) {
        /* An IPv6 zone id ("[fe80::1%25eth0]"): browsers refuse to navigate
         * to one, and curl's length limit on it can make the rebuilt,
         * escaped redirect unparseable. */
        reason = "malformed redirect_uri";
    } else if ((reason = check_host_name(&u)) != NULL) {
        /* reason set */
    } else if (u.has_fragment) {
        reason = "redirect_uri must not contain a fragment";
    } else if (u.has_userinfo) {
        reason = "redirect_uri must not contain userinfo";
    } else if (strcmp(u.scheme, "http") == 0 && !is_loopback(&u, uri)) {
        reason = "redirect_uri must use HTTPS for non-loopback addresses";
    }
    url_cleanup(&u);
    return reason;
}

const char *
oauth_redirect_uri_check(const char *uri)
{
    if (strlen(uri) > BOUNDS_REDIRECT_URI_MAX_BYTES) {
        return "redirect_uri exceeds maximum length";
    }
    struct slice scheme = scheme_of(uri);
    if (scheme.ptr == NULL) {
        return "malformed redirect_uri";
    }
    if (is_web_scheme(scheme)) {
        return check_web(uri);
    }
    if (is_forbidden_scheme(scheme)) {
        return "redirect_uri scheme is not allowed";
    }
    return check_private_use(uri, scheme);
}

bool
oauth_redirect_uri_is_private_use(const char *uri)
{
    struct slice scheme = scheme_of(uri);
    return scheme.ptr != NULL && !is_web_scheme(scheme) && !is_forbidden_scheme(scheme) &&
           check_private_use(uri, scheme) == NULL;
}

enum oauth_redirect_uri_kind
oauth_redirect_uri_kind(const char *uri)
{
    if (oauth_redirect_uri_is_private_use(uri)) {
        return OAUTH_REDIRECT_URI_PRIVATE_USE;
    }
    return oauth_redirect_uri_is_loopback(uri) ? OAUTH_REDIRECT_URI_LOOPBACK
                                               : OAUTH_REDIRECT_URI_WEB;
}

bool
oauth_redirect_uri_is_loopback(const char *uri)
{
    struct url u;
    if (url_parse(uri, &u) != URL_OK) {
        return false;
    }
    bool yes = is_loopback(&u, uri);
    url_cleanup(&u);
    return yes;
}

static bool
str_eq_or_both_null(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether uri parses as a URL curl reads. */
static bool
parses(const char *uri)
{
    struct url u;
    if (url_parse(uri, &u) != URL_OK) {
        return false;
    }
    url_cleanup(&u);
    return true;
}

/* RFC 8252 7.3: a native app's loopback listener gets a port at run time,
 * so every part but the port must match. Only for http: an https listener
 * on loopback has a certificate for a fixed origin, and 7.3 speaks of
 * http. */
static bool
loopback_parts_match(const struct url *reg, const char *reg_text, const struct url *req,
                     const char *req_text)
{
    return is_loopback(reg, reg_text) && is_loopback(req, req_text) &&
           strcmp(reg->scheme, "http") == 0 && strcmp(req->scheme, "http") == 0 &&
           slice_case_eq(host_literal(raw_host(reg_text)), host_literal(raw_host(req_text))) &&
           !reg->has_userinfo && !req->has_userinfo && strcmp(reg->path, req->path) == 0 &&
           reg->has_query == req->has_query && str_eq_or_both_null(reg->query, req->query) &&
           !reg->has_fragment && !req->has_fragment;
}

bool
oauth_redirect_uri_matches(const char *registered, const char *requested)
{
    if (strcmp(registered, requested) == 0) {
        return true;
    }
    struct url reg;
    struct url req;
    if (url_parse(registered, &reg) != URL_OK) {
        return false;
    }
    if (url_parse(requested, &req) != URL_OK) {
        url_cleanup(&reg);
        return false;
    }
    bool yes = loopback_parts_match(&reg, registered, &req, requested);
    url_cleanup(&reg);
    url_cleanup(&req);
    return yes;
}

struct entry {
    struct slice name;
    struct slice value;
    size_t order; /* input position: keeps the sort stable */
};

static int
cmp_entry(const void *pa, const void *pb)
{
    const struct entry *a = pa;
    const struct entry *b = pb;
    size_t n = a->name.len < b->name.len ? a->name.len : b->name.len;
    int c = n ? memcmp(a->name.ptr, b->name.ptr, n) : 0;
    if (c == 0 && a->name.len != b->name.len) {
        c = a->name.len < b->name.len ? -1 : 1;
    }
    if (c == 0) {
        c = a->order < b->order ? -1 : a->order > b->order ? 1 : 0;
    }
    return c;
}

static bool
param_is_set(const struct oauth_param *p)
{
    return p->name != NULL && p->value != NULL && p->value[0] != '\0';
}

/* Whether params[from..n) sets name. */
static bool
is_overridden(struct slice name, const struct oauth_param *params, size_t from, size_t n)
{
    for (size_t j = from; j < n; j++) {
        if (param_is_set(&params[j]) && slice_eq_cstr(name, params[j].name)) {
            return true;
        }
    }
    return false;
}

/* The merged, sorted parameter list; returns its length. */
static size_t
merge_params(const struct form_params *existing, const struct oauth_param *params, size_t n,
             struct entry *out)
{
    size_t count = 0;
    for (size_t i = 0; i < existing->count; i++) {
        if (!is_overridden(existing->items[i].name, params, 0, n)) {
            out[count] = (struct entry){existing->items[i].name, existing->items[i].value, count};
            count++;
        }
    }
    for (size_t j = 0; j < n; j++) {
        struct slice name = slice_from_cstr(params[j].name);
        if (param_is_set(&params[j]) && !is_overridden(name, params, j + 1, n)) {
            out[count] = (struct entry){name, slice_from_cstr(params[j].value), count};
            count++;
        }
    }
    qsort(out, count, sizeof(*out), cmp_entry);
    return count;
}

/* Go's http.Redirect escapes non-ASCII bytes of a Location the same way. */
static int
append_ascii_only(struct buf *b, struct slice s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        int rc = c < 0x80 ? buf_append_byte(b, (char)c)
                          : buf_appendf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

enum oauth_redirect_uri_rc
oauth_redirect_uri_with_params(const char *uri, const struct oauth_param *params, size_t n,
                               struct buf *out)
{
    /* A private-use URI is not curl's to read; it must stay one. Any other
     * must parse, before and after. */
    bool private_use = oauth_redirect_uri_is_private_use(uri);
    if (!private_use && !parses(uri)) {
        return OAUTH_REDIRECT_URI_ERR_UNPARSEABLE;
    }
    size_t prefix_len = strcspn(uri, "?#");
    struct slice query = SLICE_NULL;
    if (uri[prefix_len] == '?') {
        const char *q = uri + prefix_len + 1;
        query = slice_make(q, strcspn(q, "#"));
    }
    struct form_params existing;
    if (form_parse(query, FORM_MODE_QUERY, BOUNDS_QUERY_PARAMS_MAX, &existing) != FORM_OK) {
        return OAUTH_REDIRECT_URI_ERR_UNPARSEABLE;
    }
    struct entry *entries = xcalloc(existing.count + n + 1, sizeof(*entries));
    size_t count = merge_params(&existing, params, n, entries);
    struct buf tmp;
    buf_init(&tmp, out->max - out->len);
    enum oauth_redirect_uri_rc rc = OAUTH_REDIRECT_URI_ERR_TOO_LONG;
    if (append_ascii_only(&tmp, slice_make(uri, prefix_len)) != 0) {
        goto out;
    }
    if (count > 0 && buf_append_byte(&tmp, '?') != 0) {
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        if (form_append_encoded(&tmp, entries[i].name, entries[i].value) != 0) {
            goto out;
        }
    }
    /* Escaping can lengthen parts past what the parser allows (an IPv6
     * zone id, say); promise only URLs that parse. */
    if (private_use ? !oauth_redirect_uri_is_private_use(buf_cstr(&tmp))
                    : !parses(buf_cstr(&tmp))) {
        rc = OAUTH_REDIRECT_URI_ERR_UNPARSEABLE;
        goto out;
    }
    if (buf_append_slice(out, buf_slice(&tmp)) != 0) {
        goto out;
    }
    rc = OAUTH_REDIRECT_URI_OK;
out:
    buf_cleanup(&tmp);
    xfree(entries);
    form_params_cleanup(&existing);
    return rc;
}
