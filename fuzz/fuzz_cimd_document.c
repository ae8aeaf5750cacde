/* Fuzz target: a fetched client ID metadata document (oauth/cimd_rules.h),
 * plus the client_id URL rules and the Cache-Control/Expires lifetime.
 *
 * Input layout: the first line is the Cache-Control value, the second the
 * Expires value, the rest the document body. The document is judged
 * against its own client_id (when it has one) so inputs can reach every
 * rule past the byte-for-byte check. Whatever is accepted must hold every
 * rule on its own; the lifetime must stay within its floor and ceiling. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/jsonx.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "oauth/cimd_rules.h"
#include "oauth/redirect_uri.h"
#include "oauth/register_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
take_line(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl != NULL ? nl : end;
    char *line = xstrndup(*p, (size_t)(stop - *p));
    *p = nl != NULL ? nl + 1 : end;
    return line;
}

static void
check_accepted(const char *url, const struct oauth_cimd_doc *d)
{
    if (strcmp(d->client_id, url) != 0 || d->client_name == NULL || d->client_name[0] == '\0' ||
        oauth_register_rules_check_client_name(slice_from_cstr(d->client_name)) != NULL) {
        abort();
    }
    if (d->redirect_uri_count < 1 || d->redirect_uri_count > BOUNDS_REDIRECT_URIS_MAX) {
        abort();
    }
    for (size_t i = 0; i < d->redirect_uri_count; i++) {
        if (oauth_redirect_uri_check(d->redirect_uris[i]) != NULL) {
            abort();
        }
    }
    const char *m = d->token_endpoint_auth_method;
    if (m != NULL && strncmp(m, "client_secret_", 14) == 0) {
        abort();
    }
    if (d->jwks != NULL && d->jwks_uri != NULL) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *end = p + size;
    char *cc = take_line(&p, end);
    char *expires = take_line(&p, end);
    struct slice body = slice_make(p, (size_t)(end - p));

    uint64_t ttl = oauth_cimd_rules_ttl(cc, expires, 1700000000, 300, 86400);
    if (ttl < 300 || ttl > 86400) {
        abort();
    }
    /* The client_id the document names, if any, is the URL it is judged for. */
    char *url = NULL;
    json_t *doc = NULL;
    struct slice id;
    if (jsonx_parse(body, BOUNDS_CIMD_DOCUMENT_MAX, &doc) == JSONX_OK &&
        jsonx_get_str(doc, "client_id", &id) == JSONX_FOUND) {
        url = xstrndup(id.ptr, id.len);
        char host[256];
        const char *why = oauth_cimd_rules_check_url(id, host, sizeof(host));
        if (why == NULL && (!oauth_cimd_rules_is_document_url(id) || host[0] == '\0')) {
            abort();
        }
    }
    json_decref(doc);
    struct oauth_cimd_doc d;
    const char *reason = NULL;
    enum oauth_cimd_rules_rc rc = oauth_cimd_rules_parse(
        url != NULL ? url : "https://x.example/c", 200, "application/json", body, &d, &reason);
    if (rc == OAUTH_CIMD_RULES_OK) {
        if (reason != NULL) {
            abort();
        }
        check_accepted(url != NULL ? url : "https://x.example/c", &d);
        oauth_cimd_doc_cleanup(&d);
    } else if (reason == NULL || rc >= OAUTH_CIMD_RULES_RC_COUNT) {
        abort();
    }
    xfree(url);
    xfree(cc);
    xfree(expires);
    return 0;
}
