#include "base/url.h"

#include <curl/curl.h>
#include <string.h>

#include "base/buf.h"
#include "base/scan.h"
#include "base/xalloc.h"

/* Copies a curl-owned string into our allocator's memory, then frees it. */
static char *
take_part(CURLU *h, CURLUPart part)
{
    char *v = NULL;
    if (curl_url_get(h, part, &v, 0) != CURLUE_OK || v == NULL) {
        return NULL;
    }
    char *copy = xstrdup(v);
    curl_free(v);
    return copy;
}

/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":".
 * Returns the scheme's length, or 0 when text does not start with one
 * (curl 7.88 also takes "1http://" and "+x://", which RFC 3986 does not). */
static size_t
scheme_len(const char *text)
{
    const char *p = text;
    if (!scan_is_alpha((unsigned char)*p)) {
        return 0;
    }
    while (scan_is_alpha((unsigned char)*p) || scan_is_digit((unsigned char)*p) || *p == '+' ||
           *p == '-' || *p == '.') {
        p++;
    }
    return *p == ':' ? (size_t)(p - text) : 0;
}

/* The host exactly as written in the authority (after any userinfo, before
 * any port), e.g. "[::1]" from "u@[::1]:8443". curl's own host part is
 * normalised -- percent-decoded ("local%68ost" becomes "localhost"), IPv4
 * numbers rewritten ("0x7f.1" becomes "127.0.0.1"), zone id dropped -- which
 * would let a check on the host see something other than the text the
 * caller compares or forwards. */
static char *
host_as_written(const char *auth, size_t auth_len)
{
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++) {
        if (auth[i] == '@') {
            at = auth + i;
        }
    }
    const char *h = at != NULL ? at + 1 : auth;
    size_t left = auth_len - (size_t)(h - auth);
    size_t len;
    if (left > 0 && h[0] == '[') {
        const char *close = memchr(h, ']', left);
        len = close != NULL ? (size_t)(close - h) + 1 : left;
    } else {
        const char *colon = memchr(h, ':', left);
        len = colon != NULL ? (size_t)(colon - h) : left;
    }
    return xstrndup(h, len);
}

enum url_rc
url_parse(const char *text, struct url *out)
{
    memset(out, 0, sizeof(*out));
    size_t slen = scheme_len(text);
    if (slen == 0) {
        return URL_ERR_MALFORMED; /* not absolute */
    }
    if (strncmp(text + slen + 1, "//", 2) != 0) {
        return URL_ERR_OPAQUE; /* no "//" authority */
    }
    CURLU *h = curl_url();
    if (h == NULL) {
        return URL_ERR_MALFORMED;
    }
    enum url_rc rc = URL_OK;
    /* PATH_AS_IS: keep dot segments; NON_SUPPORT_SCHEME: parse any scheme so
     * the caller can name the scheme in its error. No default scheme: the
     * URL must be absolute. */
    CURLUcode cu =
        curl_url_set(h, CURLUPART_URL, text, CURLU_PATH_AS_IS | CURLU_NON_SUPPORT_SCHEME);
    if (cu == CURLUE_NO_HOST) {
        rc = URL_ERR_NO_HOST;
        goto out;
    }
    if (cu != CURLUE_OK) {
        rc = URL_ERR_MALFORMED;
        goto out;
    }
    out->scheme = take_part(h, CURLUPART_SCHEME);
    if (out->scheme == NULL) {
        rc = URL_ERR_MALFORMED;
        goto out;
    }
    /* curl reads "https:///x" as host "x" and reports a missing path as
     * "/"; the raw authority settles both. */
    const char *auth = text + slen + 3;
    size_t auth_len = strcspn(auth, "/?#");
    out->host = host_as_written(auth, auth_len);
    if (out->host[0] == '\0') {
        rc = URL_ERR_NO_HOST;
        goto out;
    }
    out->port = take_part(h, CURLUPART_PORT);
    out->path = auth[auth_len] == '/' ? take_part(h, CURLUPART_PATH) : NULL;
    if (out->path == NULL) {
        out->path = xstrdup("");
    }
    out->query = take_part(h, CURLUPART_QUERY);
    out->fragment = take_part(h, CURLUPART_FRAGMENT);
    /* curl 7.88 returns "" for a bare '?' (and may for '#'); the header
     * promises NULL, with has_query/has_fragment telling the two apart. */
    if (out->query != NULL && out->query[0] == '\0') {
        xfree(out->query);
        out->query = NULL;
    }
    if (out->fragment != NULL && out->fragment[0] == '\0') {
        xfree(out->fragment);
        out->fragment = NULL;
    }
    char *user = take_part(h, CURLUPART_USER);
    char *password = take_part(h, CURLUPART_PASSWORD);
    out->has_userinfo = user != NULL || password != NULL;
    xfree(user);
    xfree(password);
    if (!out->has_userinfo) {
        /* curl drops an empty "@" ("https://@host"); the text still has it. */
        out->has_userinfo = memchr(auth, '@', auth_len) != NULL;
    }
    out->has_fragment = strchr(text, '#') != NULL;
    const char *q = strchr(text, '?');
    const char *f = strchr(text, '#');
    out->has_query = q != NULL && (f == NULL || q < f);
out:
    curl_url_cleanup(h);
    if (rc != URL_OK) {
        url_cleanup(out);
    }
    return rc;
}

enum url_rc
url_resolve(const char *base, const char *ref, char **out)
{
    *out = NULL;
    size_t slen = scheme_len(ref);
    if (slen > 0 && strncmp(ref + slen + 1, "//", 2) != 0) {
        return URL_ERR_OPAQUE; /* "scheme:rest": curl would guess at it */
    }
    CURLU *h = curl_url();
    if (h == NULL) {
        return URL_ERR_MALFORMED;
    }
    enum url_rc rc = URL_ERR_MALFORMED;
    if (curl_url_set(h, CURLUPART_URL, base, 0) != CURLUE_OK) {
        goto out;
    }
    /* RFC 3986 5.2.2: an empty reference is the base, a fragment-only one
     * the base with that fragment. curl 7.88 drops the base's last path
     * segment in both cases, so they are done by hand. Otherwise, setting
     * CURLUPART_URL on a handle that already holds a URL resolves a relative
     * reference against it (curl >= 7.62); an absolute one replaces it. */
    CURLUcode cu;
    if (ref[0] == '\0') {
        cu = curl_url_set(h, CURLUPART_FRAGMENT, NULL, 0);
    } else if (ref[0] == '#') {
        cu = curl_url_set(h, CURLUPART_FRAGMENT, ref + 1, 0);
    } else {
        cu = curl_url_set(h, CURLUPART_URL, ref, 0);
    }
    if (cu != CURLUE_OK) {
        goto out;
    }
    *out = take_part(h, CURLUPART_URL);
    if (*out != NULL) {
        rc = URL_OK;
    }
out:
    curl_url_cleanup(h);
    return rc;
}

void
url_cleanup(struct url *u)
{
    xfree(u->scheme);
    xfree(u->host);
    xfree(u->port);
    xfree(u->path);
    xfree(u->query);
    xfree(u->fragment);
    memset(u, 0, sizeof(*u));
}

unsigned
url_default_port(const char *scheme)
{
    if (scheme != NULL && strcmp(scheme, "https") == 0) {
        return 443;
    }
    if (scheme != NULL && strcmp(scheme, "http") == 0) {
        return 80;
    }
    return 0;
}

unsigned
url_effective_port(const struct url *u)
{
    if (u->port != NULL) {
        uint64_t v = 0;
        struct scan s = scan_init(slice_from_cstr(u->port));
        if (scan_u64(&s, 65535, &v) && scan_eof(&s)) {
            return (unsigned)v;
        }
        return 0;
    }
    return url_default_port(u->scheme);
}

bool
url_host_bare(const struct url *u, char *out, unsigned long cap)
{
    if (u->host == NULL) {
        return false;
    }
    const char *h = u->host;
    size_t len = strlen(h);
    if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
        h++;
        len -= 2;
    }
    if (len + 1 > cap) {
        return false;
    }
    memcpy(out, h, len);
    out[len] = '\0';
    return true;
}

int
url_join(struct buf *out, const char *base, const char *path)
{
    return buf_appendf(out, "%s%s", base, path);
}
