/* Fuzz target: redirect URI check, matching and redirect construction
 * (SPEC.md 3.2 step 7, 3.3.1, 3.3.2).
 *
 * Input: "registered\nrequested\nstate" (missing parts are empty; bytes
 * after a NUL are ignored, as a C string would). Beyond memory safety it
 * checks the properties handlers rely on: matching is reflexive and
 * symmetric and relaxes only between http loopback URIs; no accepted URI
 * has a script or local-content scheme; a built redirect is ASCII, has no
 * fragment, parses again (or stays a valid private-use URI), carries the state exactly once and,
 * for a URI that passes the check, renders as an interstitial; and the
 * consent page's "Will redirect to" text of a URI that passes the check
 * starts with an ASCII host (an internationalized one as its xn-- form). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/form.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "oauth/page.h"
#include "oauth/redirect_uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ISS "https://auth.example.com"

/* The next '\n'-terminated part of the input as an owned C string. */
static char *
next_part(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    char *part = xstrndup(*p, (size_t)(stop - *p));
    *p = nl ? nl + 1 : end;
    return part;
}

static void
check_built(const char *requested, const char *built, const char *state)
{
    for (const char *c = built; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f || *c == '#') {
            abort();
        }
    }
    /* A private-use URI stays one (curl is not asked about those); any
     * other built URL parses. */
    if (oauth_redirect_uri_is_private_use(requested)) {
        if (!oauth_redirect_uri_is_private_use(built)) {
            abort();
        }
    } else {
        struct url u;
        if (url_parse(built, &u) != URL_OK) {
            abort();
        }
        url_cleanup(&u);
    }
    const char *q = strchr(built, '?');
    if (q == NULL) {
        abort(); /* iss is always set */
    }
    /* The requested URI may already hold BOUNDS_QUERY_PARAMS_MAX parameters
     * and the four above are added to them. */
    struct form_params params;
    if (form_parse(slice_from_cstr(q + 1), FORM_MODE_BODY, BOUNDS_QUERY_PARAMS_MAX + 4, &params) !=
        FORM_OK) {
        abort();
    }
    size_t count = 0;
    const char *iss = form_params_get(&params, "iss", &count);
    if (count != 1 || strcmp(iss, ISS) != 0) {
        abort();
    }
    const char *got_state = form_params_get(&params, "state", &count);
    if (state[0] != '\0' && (count != 1 || strcmp(got_state, state) != 0)) {
        abort();
    }
    form_params_cleanup(&params);
    /* Handlers only redirect to URIs that passed the registration check;
     * for those the interstitial must always render. */
    if (oauth_redirect_uri_check(requested) != NULL) {
        return;
    }
    struct buf page;
    buf_init(&page, 1 << 20);
    if (oauth_page_interstitial(built, &page) != 0) {
        abort();
    }
    buf_cleanup(&page);
}

/* Room for any display of uri: every byte as %HH, twice (both forms),
 * plus the markers. */
static size_t
display_cap(const char *uri)
{
    return 6 * strlen(uri) + 64;
}

/* An accepted URI is shown as an ASCII host[:port], optionally followed by
 * " (Unicode: ...)": nothing before that marker may be non-ASCII. */
static void
check_display(const char *uri)
{
    struct buf display;
    buf_init(&display, display_cap(uri));
    if (oauth_page_redirect_display(uri, &display) != 0) {
        abort();
    }
    const char *d = buf_cstr(&display);
    const char *marker = strstr(d, " (Unicode: ");
    size_t ascii_len = marker != NULL ? (size_t)(marker - d) : strlen(d);
    for (size_t i = 0; i < ascii_len; i++) {
        if ((unsigned char)d[i] >= 0x80) {
            abort();
        }
    }
    buf_cleanup(&display);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *end = p + size;
    char *registered = next_part(&p, end);
    char *requested = next_part(&p, end);
    char *state = next_part(&p, end);

    (void)oauth_redirect_uri_check(registered);
    if (oauth_redirect_uri_check(requested) == NULL) {
        check_display(requested);
    } else {
        struct buf display;
        buf_init(&display, display_cap(requested));
        if (oauth_page_redirect_display(requested, &display) != 0) {
            abort();
        }
        buf_cleanup(&display);
    }
    bool m = oauth_redirect_uri_matches(registered, requested);
    if (strcmp(registered, requested) == 0 && !m) {
        abort();
    }
    if (m != oauth_redirect_uri_matches(requested, registered)) {
        abort();
    }
    if (m && strcmp(registered, requested) != 0 &&
        (!oauth_redirect_uri_is_loopback(registered) ||
         !oauth_redirect_uri_is_loopback(requested) ||
         oauth_redirect_uri_kind(registered) != OAUTH_REDIRECT_URI_LOOPBACK ||
         strncasecmp(registered, "http:", 5) != 0 || strncasecmp(requested, "http:", 5) != 0)) {
        abort(); /* only http loopback URIs match on another port */
    }
    /* Nothing accepted is a script or local-content URL, in any case. */
    if (oauth_redirect_uri_check(requested) == NULL) {
        static const char *const bad[] = {
            "javascript:", "data:", "vbscript:", "file:", "about:", "blob:", "ws:", "wss:"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            if (strncasecmp(requested, bad[i], strlen(bad[i])) == 0) {
                abort();
            }
        }
    }

    const struct oauth_param params[] = {
        {"error", "access_denied"},
        {"error_description", "user declined to authorize this client"},
        {"state", state},
        {"iss", ISS},
    };
    struct buf out;
    buf_init(&out, 1 << 20);
    enum oauth_redirect_uri_rc rc = oauth_redirect_uri_with_params(requested, params, 4, &out);
    if (rc == OAUTH_REDIRECT_URI_OK) {
        check_built(requested, buf_cstr(&out), state);
    }
    buf_cleanup(&out);
    xfree(registered);
    xfree(requested);
    xfree(state);
    return 0;
}
