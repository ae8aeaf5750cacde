#include "oidc/exchange.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "base/form.h"
#include "base/jsonx.h"
#include "base/strtab.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "oidc/form.h"
#include "oidc/provider.h"

/* Room for the form body and the Authorization header: the code, verifier
 * and URIs are bounded by the request caps long before this. */
#define EXCHANGE_BODY_MAX (64 * 1024)

static const char *const rc_names[OIDC_EXCHANGE_RC_COUNT] = {
    [OIDC_EXCHANGE_OK] = "ok",
    [OIDC_EXCHANGE_ERR_TRANSPORT] = "transport",
    [OIDC_EXCHANGE_ERR_HTTP_STATUS] = "http_status",
    [OIDC_EXCHANGE_ERR_IDP_ERROR] = "idp_error",
    [OIDC_EXCHANGE_ERR_MALFORMED] = "malformed",
    [OIDC_EXCHANGE_ERR_NO_ACCESS_TOKEN] = "no_access_token",
    [OIDC_EXCHANGE_ERR_NO_ID_TOKEN] = "no_id_token",
};

const char *
oidc_exchange_rc_str(enum oidc_exchange_rc rc)
{
    return strtab_name(rc_names, OIDC_EXCHANGE_RC_COUNT, rc, "unknown");
}

struct oidc_exchange {
    struct fetch_request *req;
    oidc_exchange_done_fn cb;
    void *arg;
};

/* Wipes then frees a buffer that held a secret. */
static void
buf_wipe(struct buf *b)
{
    if (b->ptr != NULL) {
        OPENSSL_cleanse(b->ptr, b->alloc);
    }
    buf_cleanup(b);
}

/* Token responses are JSON unless the IdP says form (x/oauth2's rule, kept
 * for IdPs such as GitHub's OAuth that answer form-encoded). */
static bool
is_form_response(const char *content_type)
{
    if (content_type == NULL) {
        return false;
    }
    struct slice ct = slice_from_cstr(content_type);
    long semi = slice_find_byte(ct, ';');
    if (semi >= 0) {
        ct.len = (size_t)semi;
    }
    ct = slice_trim_ows(ct);
    return slice_case_eq_cstr(ct, "application/x-www-form-urlencoded") ||
           slice_case_eq_cstr(ct, "text/plain");
}

static json_t *
parse_body(const struct fetch_response *resp)
{
    json_t *v = NULL;
    if (is_form_response(resp->content_type)) {
        return oidc_form_to_json(buf_slice(&resp->body), &v) == 0 ? v : NULL;
    }
    if (jsonx_parse(buf_slice(&resp->body), BOUNDS_FETCH_RESPONSE_MAX, &v) != JSONX_OK) {
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* RFC 6749 5.1 / 5.2, OIDC Core 3.1.3.3. */
static void
judge(const struct fetch_response *resp, const json_t *body, struct oidc_exchange_result *r)
{
    struct slice err, at, idt;
    bool has_error = jsonx_get_str(body, "error", &err) == JSONX_FOUND && err.len > 0;
    if (has_error) {
        r->idp_error = err.ptr;
    }
    if (resp->status < 200 || resp->status > 299) {
        r->rc = OIDC_EXCHANGE_ERR_HTTP_STATUS;
    } else if (body == NULL) {
        r->rc = OIDC_EXCHANGE_ERR_MALFORMED;
    } else if (has_error) {
        r->rc = OIDC_EXCHANGE_ERR_IDP_ERROR;
    } else if (jsonx_get_str(body, "access_token", &at) != JSONX_FOUND || at.len == 0) {
        r->rc = OIDC_EXCHANGE_ERR_NO_ACCESS_TOKEN;
    } else if (jsonx_get_str(body, "id_token", &idt) != JSONX_FOUND) {
        r->rc = OIDC_EXCHANGE_ERR_NO_ID_TOKEN;
    } else {
        r->rc = OIDC_EXCHANGE_OK;
        r->id_token = idt.ptr;
        r->id_token_len = idt.len;
    }
}

static void
on_fetched(void *arg, struct fetch_response *resp)
{
    struct oidc_exchange *x = arg;
    struct oidc_exchange_result r = {.fetch_rc = resp->rc, .status = resp->status};
    json_t *body = NULL;
    if (resp->rc != FETCH_OK) {
        r.rc = OIDC_EXCHANGE_ERR_TRANSPORT;
        r.detail = resp->detail;
    } else {
        body = parse_body(resp);
        judge(resp, body, &r);
    }
    x->cb(x->arg, &r);
    /* The response body held tokens: wipe before the fetch frees it. */
    if (resp->body.ptr != NULL) {
        OPENSSL_cleanse(resp->body.ptr, resp->body.alloc);
    }
    json_decref(body);
    xfree(x);
}

/* RFC 6749 2.3.1: the client id and secret are form-encoded before they
 * are joined and base64-encoded (x/oauth2 does the same). */
static int
basic_header(const struct oidc_exchange_request *req, struct buf *out)
{
    struct buf cred;
    buf_init(&cred, EXCHANGE_BODY_MAX);
    int rc = -1;
    if (form_append_escaped(&cred, slice_from_cstr(req->client_id)) != 0 ||
        buf_append_byte(&cred, ':') != 0 ||
        form_append_escaped(&cred, slice_from_cstr(req->client_secret)) != 0) {
        goto out;
    }
    size_t enc_len = 4 * ((cred.len + 2) / 3);
    uint8_t *enc = xmalloc(enc_len + 1);
    EVP_EncodeBlock(enc, (const unsigned char *)cred.ptr, (int)cred.len);
    rc = buf_appendf(out, "Authorization: Basic %s", (const char *)enc);
    OPENSSL_cleanse(enc, enc_len + 1);
    xfree(enc);
out:
    buf_wipe(&cred);
    return rc;
}

static int
form_body(const struct oidc_exchange_request *req, enum oidc_auth_method method, struct buf *out)
{
    int rc =
        form_append_encoded(out, SLICE_LIT("grant_type"), SLICE_LIT("authorization_code")) |
        form_append_encoded(out, SLICE_LIT("code"), slice_from_cstr(req->code)) |
        form_append_encoded(out, SLICE_LIT("redirect_uri"), slice_from_cstr(req->redirect_uri)) |
        form_append_encoded(out, SLICE_LIT("code_verifier"), slice_from_cstr(req->code_verifier));
    if (method == OIDC_AUTH_CLIENT_SECRET_POST) {
        rc |= form_append_encoded(out, SLICE_LIT("client_id"), slice_from_cstr(req->client_id)) |
              form_append_encoded(out, SLICE_LIT("client_secret"),
                                  slice_from_cstr(req->client_secret));
    }
    return rc;
}

struct oidc_exchange *
oidc_exchange_start(struct fetch *f, const struct oidc_provider *provider,
                    const struct oidc_exchange_request *req, oidc_exchange_done_fn cb, void *arg)
{
    enum oidc_auth_method method = oidc_provider_get_auth_method(provider);
    struct buf body, auth;
    buf_init(&body, EXCHANGE_BODY_MAX);
    buf_init(&auth, EXCHANGE_BODY_MAX);
    struct oidc_exchange *x = NULL;
    if (form_body(req, method, &body) != 0 ||
        (method == OIDC_AUTH_CLIENT_SECRET_BASIC && basic_header(req, &auth) != 0)) {
        goto out;
    }
    const char *headers[] = {
        "Content-Type: application/x-www-form-urlencoded",
        "Accept: application/json",
        auth.len > 0 ? buf_cstr(&auth) : NULL,
        NULL,
    };
    struct fetch_options opt = {
        .method = FETCH_POST,
        .url = oidc_provider_get_token_endpoint(provider),
        .headers = headers,
        .body = buf_cstr(&body),
        .body_len = body.len,
        .timeout_ms = req->timeout_ms ? req->timeout_ms : BOUNDS_OIDC_EXCHANGE_TIMEOUT_MS,
    };
    x = xcalloc(1, sizeof(*x));
    x->cb = cb;
    x->arg = arg;
    x->req = fetch_start(f, &opt, on_fetched, x);
    if (x->req == NULL) {
        xfree(x);
        x = NULL;
    }
out:
    /* curl copied both; ours held the secret (and the code). */
    buf_wipe(&body);
    buf_wipe(&auth);
    return x;
}

void
oidc_exchange_cancel(struct oidc_exchange *x)
{
    if (x == NULL) {
        return;
    }
    fetch_cancel(x->req);
    xfree(x);
}
