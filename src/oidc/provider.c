#include "oidc/provider.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/form.h"
#include "base/jsonx.h"
#include "base/strtab.h"
#include "base/url.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "fetch.h"
#include "log.h"
#include "base/pkce.h"

/* Untrusted text (a document's issuer) quoted in an error is cut here. */
#define PROVIDER_SAMPLE_MAX 200
/* Sleeps between attempts look at the stop flag this often. */
#define PROVIDER_STOP_POLL_MS 100

struct oidc_provider {
    char *issuer;
    char *authorization_endpoint;
    char *token_endpoint;
    char *jwks_uri;
    unsigned alg_mask; /* bit (1 << enum oidc_alg) */
    enum oidc_auth_method auth_method;
};

static const char *const alg_names[OIDC_ALG_COUNT] = {
    [OIDC_ALG_RS256] = "RS256", [OIDC_ALG_RS384] = "RS384", [OIDC_ALG_RS512] = "RS512",
    [OIDC_ALG_PS256] = "PS256", [OIDC_ALG_PS384] = "PS384", [OIDC_ALG_PS512] = "PS512",
    [OIDC_ALG_ES256] = "ES256", [OIDC_ALG_ES384] = "ES384", [OIDC_ALG_ES512] = "ES512",
};

static const char *const auth_method_names[OIDC_AUTH_METHOD_COUNT] = {
    [OIDC_AUTH_CLIENT_SECRET_BASIC] = "client_secret_basic",
    [OIDC_AUTH_CLIENT_SECRET_POST] = "client_secret_post",
};

const char *
oidc_alg_str(enum oidc_alg alg)
{
    return strtab_name(alg_names, OIDC_ALG_COUNT, alg, "unknown");
}

bool
oidc_alg_parse(struct slice name, enum oidc_alg *out)
{
    long i = strtab_find(alg_names, OIDC_ALG_COUNT, name);
    if (i < 0) {
        return false;
    }
    *out = (enum oidc_alg)i;
    return true;
}

const char *
oidc_auth_method_str(enum oidc_auth_method m)
{
    return strtab_name(auth_method_names, OIDC_AUTH_METHOD_COUNT, m, "unknown");
}

void
oidc_provider_free(struct oidc_provider *p)
{
    if (p == NULL) {
        return;
    }
    xfree(p->issuer);
    xfree(p->authorization_endpoint);
    xfree(p->token_endpoint);
    xfree(p->jwks_uri);
    xfree(p);
}

/* Quotes untrusted text: printable ASCII only, cut at a fixed length. */
static void
append_sample(struct buf *err, struct slice s)
{
    char clean[PROVIDER_SAMPLE_MAX + 1];
    size_t n = s.len < PROVIDER_SAMPLE_MAX ? s.len : PROVIDER_SAMPLE_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        clean[i] = c >= 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
    }
    clean[n] = '\0';
    buf_appendf_best(err, "\"%s%s\"", clean, s.len > n ? "..." : "");
}

static bool
differs_by_trailing_slash(struct slice a, struct slice b)
{
    if (a.len + 1 == b.len && b.ptr[a.len] == '/') {
        return memcmp(a.ptr, b.ptr, a.len) == 0;
    }
    if (b.len + 1 == a.len && a.ptr[b.len] == '/') {
        return memcmp(a.ptr, b.ptr, b.len) == 0;
    }
    return false;
}

enum parse_rc {
    PARSE_OK = 0,
    PARSE_BAD_DOCUMENT, /* may be transient (a proxy's error page) */
    PARSE_WRONG_ISSUER, /* configuration error: retrying cannot help */
};

static enum parse_rc
check_issuer(const char *configured, const json_t *doc, struct buf *err)
{
    struct slice got;
    if (jsonx_get_str(doc, "issuer", &got) != JSONX_FOUND) {
        buf_appendf_best(err, "%s", "the discovery document has no \"issuer\" string");
        return PARSE_BAD_DOCUMENT;
    }
    struct slice want = slice_from_cstr(configured);
    if (slice_eq(got, want)) {
        return PARSE_OK;
    }
    if (differs_by_trailing_slash(got, want)) {
        /* The one mismatch operators hit in practice (Auth0 and others end
         * their issuer with '/'): say exactly what to configure. */
        buf_appendf_best(err, "OIDC_ISSUER_URL is \"%s\" but the identity provider's issuer is ",
                         configured);
        append_sample(err, got);
        buf_appendf_best(err, "; set OIDC_ISSUER_URL=%.*s", (int)got.len, got.ptr);
        buf_appendf_best(err, "%s", " (the two must match exactly, including any trailing '/')");
        return PARSE_WRONG_ISSUER;
    }
    buf_appendf_best(err,
                     "issuer mismatch: OIDC_ISSUER_URL is \"%s\" but the discovery "
                     "document says ",
                     configured);
    append_sample(err, got);
    return PARSE_WRONG_ISSUER;
}

/* An endpoint must be an absolute http(s) URL with a host; under an https
 * issuer it must be https too (a downgrade would expose the code exchange
 * and the keys). */
static char *
get_endpoint(const json_t *doc, const char *name, bool require_https, struct buf *err)
{
    struct slice v;
    if (jsonx_get_str(doc, name, &v) != JSONX_FOUND || v.len == 0) {
        buf_appendf_best(err, "the discovery document has no \"%s\" string", name);
        return NULL;
    }
    struct url u;
    if (url_parse(v.ptr, &u) != URL_OK) {
        buf_appendf_best(err, "the discovery document's \"%s\" is not an absolute URL: ", name);
        append_sample(err, v);
        return NULL;
    }
    bool https = strcmp(u.scheme, "https") == 0;
    bool ok = (https || (!require_https && strcmp(u.scheme, "http") == 0)) && u.host != NULL &&
              !u.has_fragment;
    url_cleanup(&u);
    if (!ok) {
        buf_appendf_best(err,
                         "the discovery document's \"%s\" must be an %s URL without a "
                         "fragment: ",
                         name, require_https ? "https" : "http(s)");
        append_sample(err, v);
        return NULL;
    }
    return xstrndup(v.ptr, v.len);
}

/* A string array member: FOUND with the array, ABSENT/NULL when missing,
 * WRONG_TYPE for anything else (also an array holding a non-string). */
static enum jsonx_get
get_string_array(const json_t *doc, const char *name, const json_t **out)
{
    enum jsonx_get g = jsonx_get_array(doc, name, out);
    if (g != JSONX_FOUND) {
        return g;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(*out, i, v)
    {
        if (!json_is_string(v)) {
            return JSONX_WRONG_TYPE;
        }
    }
    return JSONX_FOUND;
}

static int
read_algs(const json_t *doc, unsigned *out_mask, struct buf *err)
{
    const json_t *arr = NULL;
    enum jsonx_get g = get_string_array(doc, "id_token_signing_alg_values_supported", &arr);
    if (g == JSONX_WRONG_TYPE) {
        buf_appendf_best(err, "%s",
                         "the discovery document's "
                         "\"id_token_signing_alg_values_supported\" is not an array "
                         "of strings");
        return -1;
    }
    unsigned mask = 0;
    size_t i;
    const json_t *v;
    if (g == JSONX_FOUND) {
        json_array_foreach(arr, i, v)
        {
            enum oidc_alg alg;
            if (oidc_alg_parse(slice_make(json_string_value(v), json_string_length(v)), &alg)) {
                mask |= 1u << alg;
            }
        }
    }
    /* SPEC.md 6.4: RS256 when none of ours is listed. */
    *out_mask = mask != 0 ? mask : 1u << OIDC_ALG_RS256;
    return 0;
}

static int
read_auth_method(const json_t *doc, enum oidc_auth_method *out, struct buf *err)
{
    const json_t *arr = NULL;
    enum jsonx_get g = get_string_array(doc, "token_endpoint_auth_methods_supported", &arr);
    if (g == JSONX_WRONG_TYPE) {
        buf_appendf_best(err, "%s",
                         "the discovery document's "
                         "\"token_endpoint_auth_methods_supported\" is not an array "
                         "of strings");
        return -1;
    }
    bool basic = g != JSONX_FOUND;
    bool post = false;
    size_t i;
    const json_t *v;
    if (g == JSONX_FOUND) {
        json_array_foreach(arr, i, v)
        {
            basic = basic || strcmp(json_string_value(v), "client_secret_basic") == 0;
            post = post || strcmp(json_string_value(v), "client_secret_post") == 0;
        }
    }
    /* Basic when listed or when neither is (OIDC Core 9: the default). */
    *out = basic || !post ? OIDC_AUTH_CLIENT_SECRET_BASIC : OIDC_AUTH_CLIENT_SECRET_POST;
    return 0;
}

static enum parse_rc
parse_document(const char *configured_issuer, struct slice document, struct oidc_provider **out,
               struct buf *err)
{
    json_t *doc = NULL;
    struct oidc_provider *p = xcalloc(1, sizeof(*p));
    enum parse_rc rc = PARSE_BAD_DOCUMENT;
    if (jsonx_parse(document, BOUNDS_FETCH_RESPONSE_MAX, &doc) != JSONX_OK ||
        !json_is_object(doc)) {
        buf_appendf_best(err, "%s", "the discovery document is not a JSON object");
        goto out;
    }
    rc = check_issuer(configured_issuer, doc, err);
    if (rc != PARSE_OK) {
        goto out;
    }
    rc = PARSE_BAD_DOCUMENT;
    bool https = strncmp(configured_issuer, "https:", 6) == 0;
    p->issuer = xstrdup(configured_issuer);
    if ((p->authorization_endpoint = get_endpoint(doc, "authorization_endpoint", https, err)) ==
            NULL ||
        (p->token_endpoint = get_endpoint(doc, "token_endpoint", https, err)) == NULL ||
        (p->jwks_uri = get_endpoint(doc, "jwks_uri", https, err)) == NULL ||
        read_algs(doc, &p->alg_mask, err) != 0 ||
        read_auth_method(doc, &p->auth_method, err) != 0) {
        goto out;
    }
    *out = p;
    p = NULL;
    rc = PARSE_OK;
out:
    json_decref(doc);
    oidc_provider_free(p);
    return rc;
}

int
oidc_provider_parse(const char *configured_issuer, struct slice document,
                    struct oidc_provider **out, struct buf *err)
{
    return parse_document(configured_issuer, document, out, err) == PARSE_OK ? 0 : -1;
}

int
oidc_provider_discovery_url(const char *issuer, struct buf *out)
{
    struct slice base = slice_from_cstr(issuer);
    while (base.len > 0 && base.ptr[base.len - 1] == '/') {
        base.len--;
    }
    if (buf_append_slice(out, base) != 0 ||
        buf_append_str(out, "/.well-known/openid-configuration") != 0) {
        return -1;
    }
    return 0;
}

struct oidc_discovery_policy
oidc_provider_default_policy(void)
{
    return (struct oidc_discovery_policy){
        .attempts = BOUNDS_OIDC_DISCOVERY_ATTEMPTS,
        .timeout_ms = BOUNDS_OIDC_DISCOVERY_TIMEOUT_MS,
        .first_backoff_ms = BOUNDS_OIDC_DISCOVERY_BACKOFF_FIRST_MS,
        .max_backoff_ms = BOUNDS_OIDC_DISCOVERY_BACKOFF_MAX_MS,
    };
}

static bool
stopped(const atomic_bool *stop)
{
    return stop != NULL && atomic_load(stop);
}

/* Sleeps ms in short naps; a signal cuts a nap short (EINTR) and the flag
 * is read at once. Returns false when stop was raised. */
static bool
sleep_unless_stopped(uint64_t ms, const atomic_bool *stop)
{
    uint64_t end = clock_mono_ms() + ms;
    for (;;) {
        if (stopped(stop)) {
            return false;
        }
        uint64_t now = clock_mono_ms();
        if (now >= end) {
            return true;
        }
        uint64_t nap = end - now < PROVIDER_STOP_POLL_MS ? end - now : PROVIDER_STOP_POLL_MS;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(nap * 1000000)};
        (void)nanosleep(&ts, NULL);
    }
}

enum attempt_rc {
    ATTEMPT_OK = 0,
    ATTEMPT_RETRY, /* transport, status or document problem */
    ATTEMPT_FATAL, /* issuer mismatch: retrying cannot help */
    ATTEMPT_STOPPED,
};

static enum attempt_rc
attempt(const char *issuer, const char *url, uint64_t timeout_ms, const atomic_bool *stop,
        struct oidc_provider **out, struct buf *err)
{
    const char *headers[] = {"Accept: application/json", NULL};
    struct fetch_options opt = {
        .method = FETCH_GET,
        .url = url,
        .headers = headers,
        .timeout_ms = timeout_ms,
    };
    struct fetch_response resp;
    enum attempt_rc rc = ATTEMPT_RETRY;
    enum fetch_rc frc = fetch_blocking(&opt, stop, &resp);
    if (frc == FETCH_ERR_STOPPED) {
        buf_appendf_best(err, "%s", "interrupted by a signal");
        rc = ATTEMPT_STOPPED;
    } else if (frc != FETCH_OK) {
        buf_appendf_best(err, "%s: %s", fetch_rc_str(frc), resp.detail ? resp.detail : "");
    } else if (resp.status != 200) {
        buf_appendf_best(err, "HTTP status %ld", resp.status);
    } else {
        switch (parse_document(issuer, buf_slice(&resp.body), out, err)) {
        case PARSE_OK:
            rc = ATTEMPT_OK;
            break;
        case PARSE_WRONG_ISSUER:
            rc = ATTEMPT_FATAL;
            break;
        case PARSE_BAD_DOCUMENT:
            rc = ATTEMPT_RETRY;
            break;
        }
    }
    fetch_response_cleanup(&resp);
    return rc;
}

static void
log_retry(unsigned n, uint64_t backoff_ms, const struct buf *why)
{
    struct log_line l;
    log_begin(&l, LOG_WARN, "oidc_discovery_retry");
    log_uint(&l, "attempt", n);
    log_uint(&l, "backoff_ms", backoff_ms);
    log_str(&l, "error", buf_cstr(why));
    log_end(&l);
}

int
oidc_provider_discover(const char *issuer, const struct oidc_discovery_policy *policy,
                       const atomic_bool *stop, struct oidc_provider **out, struct buf *err)
{
    struct oidc_discovery_policy pol = policy ? *policy : oidc_provider_default_policy();
    struct buf url, why;
    buf_init(&url, BOUNDS_URL_MAX);
    buf_init(&why, 4096);
    int rc = -1;
    if (oidc_provider_discovery_url(issuer, &url) != 0) {
        buf_appendf_best(err, "%s", "OIDC_ISSUER_URL is too long to build a discovery URL");
        goto out;
    }
    uint64_t backoff = pol.first_backoff_ms;
    for (unsigned n = 1; n <= pol.attempts; n++) {
        buf_reset(&why);
        enum attempt_rc arc = attempt(issuer, buf_cstr(&url), pol.timeout_ms, stop, out, &why);
        if (arc == ATTEMPT_OK) {
            rc = 0;
            goto out;
        }
        if (arc == ATTEMPT_FATAL || arc == ATTEMPT_STOPPED || n == pol.attempts) {
            break;
        }
        log_retry(n, backoff, &why);
        if (!sleep_unless_stopped(backoff, stop)) {
            buf_reset(&why);
            buf_appendf_best(&why, "%s", "interrupted by a signal");
            break;
        }
        backoff = backoff * 2 > pol.max_backoff_ms ? pol.max_backoff_ms : backoff * 2;
    }
    buf_appendf_best(err, "OIDC discovery at %s failed: %s", buf_cstr(&url), buf_cstr(&why));
out:
    buf_cleanup(&url);
    buf_cleanup(&why);
    return rc;
}

const char *
oidc_provider_get_issuer(const struct oidc_provider *p)
{
    return p->issuer;
}

const char *
oidc_provider_get_authorization_endpoint(const struct oidc_provider *p)
{
    return p->authorization_endpoint;
}

const char *
oidc_provider_get_token_endpoint(const struct oidc_provider *p)
{
    return p->token_endpoint;
}

const char *
oidc_provider_get_jwks_uri(const struct oidc_provider *p)
{
    return p->jwks_uri;
}

enum oidc_auth_method
oidc_provider_get_auth_method(const struct oidc_provider *p)
{
    return p->auth_method;
}

bool
oidc_provider_allows_alg(const struct oidc_provider *p, enum oidc_alg alg)
{
    return alg < OIDC_ALG_COUNT && (p->alg_mask & (1u << alg)) != 0;
}

int
oidc_provider_authorization_url(const struct oidc_provider *p,
                                const struct oidc_authorize_request *r, struct buf *out)
{
    char challenge[PKCE_S256_LEN + 1];
    pkce_challenge_s256(slice_from_cstr(r->pkce_verifier), challenge);
    const char *ep = p->authorization_endpoint;
    if (buf_append_str(out, ep) != 0 || buf_append_byte(out, strchr(ep, '?') ? '&' : '?') != 0) {
        return -1;
    }
    /* A fresh buffer for the query so the first pair starts without '&'. */
    struct buf q;
    buf_init(&q, out->max);
    /* Keys in sorted order, as Go's url.Values.Encode writes them. */
    char max_age[24] = "";
    if (r->max_age > 0) {
        snprintf(max_age, sizeof(max_age), "%" PRId64, r->max_age);
    }
    bool acr = r->acr_values != NULL && r->acr_values[0] != '\0';
    int rc =
        (acr ? form_append_encoded(&q, SLICE_LIT("acr_values"), slice_from_cstr(r->acr_values))
             : 0) |
        form_append_encoded(&q, SLICE_LIT("client_id"), slice_from_cstr(r->client_id)) |
        form_append_encoded(&q, SLICE_LIT("code_challenge"), slice_from_cstr(challenge)) |
        form_append_encoded(&q, SLICE_LIT("code_challenge_method"), SLICE_LIT("S256")) |
        (max_age[0] != '\0'
             ? form_append_encoded(&q, SLICE_LIT("max_age"), slice_from_cstr(max_age))
             : 0) |
        form_append_encoded(&q, SLICE_LIT("nonce"), slice_from_cstr(r->nonce)) |
        (r->prompt_login ? form_append_encoded(&q, SLICE_LIT("prompt"), SLICE_LIT("login")) : 0) |
        form_append_encoded(&q, SLICE_LIT("redirect_uri"), slice_from_cstr(r->redirect_uri)) |
        form_append_encoded(&q, SLICE_LIT("response_mode"), SLICE_LIT("query")) |
        form_append_encoded(&q, SLICE_LIT("response_type"), SLICE_LIT("code")) |
        form_append_encoded(&q, SLICE_LIT("scope"), SLICE_LIT("openid email profile")) |
        form_append_encoded(&q, SLICE_LIT("state"), slice_from_cstr(r->state));
    if (rc == 0) {
        rc = buf_append_slice(out, buf_slice(&q));
    }
    buf_cleanup(&q);
    return rc;
}
