/* The authorization-code exchange with the IdP (SPEC.md 6.3), asynchronous
 * on a worker's fetch.
 *
 * POST <token_endpoint> with grant_type=authorization_code, code,
 * redirect_uri and code_verifier, authenticated once by the method chosen
 * at discovery (SPEC preface fix 6: never a second try with the other):
 * client_secret_basic sends Authorization: Basic
 * base64(urlencode(id) ":" urlencode(secret)) (RFC 6749 2.3.1);
 * client_secret_post puts client_id and client_secret in the body. The
 * answer is JSON, or form-encoded when its Content-Type is
 * application/x-www-form-urlencoded or text/plain; at most
 * BOUNDS_FETCH_RESPONSE_MAX bytes. Nothing here logs; the result carries
 * what the handler needs to log. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "fetch.h"

struct oidc_provider;

struct oidc_exchange_request {
    const char *client_id;     /* OIDC_CLIENT_ID */
    const char *client_secret; /* OIDC_CLIENT_SECRET */
    const char *code;          /* the IdP's code from /callback */
    const char *redirect_uri;  /* <base>/callback, as sent at /authorize */
    const char *code_verifier; /* the upstream PKCE verifier (session pv) */
    uint64_t timeout_ms;       /* 0 = BOUNDS_OIDC_EXCHANGE_TIMEOUT_MS (10 s) */
};

enum oidc_exchange_rc {
    OIDC_EXCHANGE_OK = 0,
    OIDC_EXCHANGE_ERR_TRANSPORT,       /* no response: see fetch_rc */
    OIDC_EXCHANGE_ERR_HTTP_STATUS,     /* a status outside 2xx */
    OIDC_EXCHANGE_ERR_IDP_ERROR,       /* a 2xx carrying "error" */
    OIDC_EXCHANGE_ERR_MALFORMED,       /* not a JSON object / not a form */
    OIDC_EXCHANGE_ERR_NO_ACCESS_TOKEN, /* access_token absent, empty or not a string */
    OIDC_EXCHANGE_ERR_NO_ID_TOKEN,     /* id_token absent or not a string (SPEC.md
                                        * 3.7 step 10 answers this one apart) */
    OIDC_EXCHANGE_RC_COUNT,
};

const char *oidc_exchange_rc_str(enum oidc_exchange_rc rc);

/* Everything is borrowed and valid only during the callback. */
struct oidc_exchange_result {
    enum oidc_exchange_rc rc;
    enum fetch_rc fetch_rc; /* FETCH_OK unless rc is TRANSPORT */
    long status;            /* HTTP status, 0 on TRANSPORT */
    const char *id_token;   /* the id_token (a secret: never log it), on OK only */
    size_t id_token_len;
    const char *idp_error; /* the IdP's "error" code when it sent one, else NULL;
                            * untrusted: log it through log_sample */
    const char *detail;    /* transport detail for logs, else NULL */
};

/* Called once on the fetch's loop, unless cancelled first. The exchange
 * handle is already gone when this runs. */
typedef void (*oidc_exchange_done_fn)(void *arg, const struct oidc_exchange_result *r);

struct oidc_exchange;

/* Starts the exchange; every string of req is copied (and the copies with
 * the secret wiped once curl holds its own). provider must outlive the
 * exchange. Returns the handle (owned by the module until cb runs), or NULL
 * when the request could not be set up at all; then cb never runs and the
 * caller answers as for a failed exchange. */
struct oidc_exchange *oidc_exchange_start(struct fetch *f, const struct oidc_provider *provider,
                                          const struct oidc_exchange_request *req,
                                          oidc_exchange_done_fn cb, void *arg)
    __attribute__((warn_unused_result));
/* cb will not run. Before cb has run, on the fetch's loop. NULL is a no-op. */
void oidc_exchange_cancel(struct oidc_exchange *x);
