#include "base/url.h"

#include <curl/curl.h>
#include <string.h>

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
 * Returns the length of text's scheme, or 0 when text does not start with
 * one followed by ':' (a relative reference, or a scheme curl would accept
 * but the RFC does not, such as "8ttp:"). */
static size_t
scheme_len(const char *text)
{
    const char *p = text;
    if (!scan_is_alpha((unsigned char)*p)) {
        return 0;
    }
    while (scan_is_alpha((unsigned char)*p) || scan_is_digit((unsigned char)*p) ||
           *p == '+' || *p == '-' || *p == '.') {
        p++;
    }
    return *p == ':' ? (size_t)(p - text) : 0;
}

enum url_rc
url_parse(const char *text, struct url *out)
{
    memset(out, 0, sizeof(*out));
    /* Decided on the raw text before curl sees it: curl 7.88 also takes
     * "8ttp:/host" or "C:/x" (one slash) as URLs with a host. A URL whose
     * scheme is not followed by "//" has no authority: opaque. */
    size_t slen = scheme_len(text);
    if (slen == 0) {
        return URL_ERR_MALFORMED;
    }
    if (strncmp(text + slen + 1, "//", 2) != 0) {
        return URL_ERR_OPAQUE;
    }
    CURLU *h = curl_url();
    if (h == NULL) {
        return URL_ERR_MALFORMED;
    }
    enum url_rc rc = URL_OK;
    /* PATH_AS_IS: keep dot segments; NON_SUPPORT_SCHEME: parse any scheme so
     * the caller can name the scheme in its error. No default scheme: the
     * URL must be absolute. */
    CURLUcode cu = curl_url_set(h, CURLUPART_URL, text,
                                CURLU_PATH_AS_IS | CURLU_NON_SUPPORT_SCHEME);
    if (cu == CURLUE_NO_HOST) {
        rc = URL_ERR_NO_HOST;
        goto out;
    }
    if (cu != CURLUE_OK) {
        rc = URL_ERR_MALFORMED;
        goto out;
    }
    out->scheme = take_part(h, CURLUPART_SCHEME);
    out->host = take_part(h, CURLUPART_HOST);
    if (out->scheme == NULL) {
        rc = URL_ERR_MALFORMED;
        goto out;
    }
    if (out->host == NULL || out->host[0] == '\0') {
        rc = URL_ERR_NO_HOST;
        goto out;
    }
    /* curl reads "https:///x" as host "x" and reports a missing path as
     * "/"; the raw authority settles both. */
    const char *auth = text + slen + 3;
    size_t auth_len = strcspn(auth, "/?#");
    if (auth_len == 0) {
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
