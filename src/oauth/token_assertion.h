/* oauth/token_assertion: the asynchronous half of RFC 7523 client
 * authentication at POST /token (docs/cimd.md), for a client already
 * resolved: find its keys (the document's inline jwks, or its jwks_uri
 * through oauth/cimd, fetched again once for an unknown kid), check the
 * assertion (oauth/client_assertion), then spend its jti in the replay
 * store. The /token handler reads the form and answers; this step only
 * decides.
 *
 * Heap-owned by the step itself: freed when done runs or on cancel, so the
 * handler cancels it when the client leaves and forgets it once done ran.
 * Worker thread only. */
#pragma once

#include <stdbool.h>

#include "oauth/client_assertion.h"

struct oauth;
struct oauth_client;
struct worker;
struct oauth_token_assertion;

/* How the step ended. OAUTH_CLIENT_ASSERTION_OK: verified and its jti
 * spent (or no store: nothing is single-use, SPEC.md 5.4). store_error
 * non-NULL: the replay store failed (rc is then OK, nothing decided).
 * Otherwise a refusal, detail (may be NULL) saying more for the log. */
struct oauth_token_assertion_result {
    enum oauth_client_assertion_rc rc;
    const char *detail;
    const char *store_error;
    bool store_failed;
};

typedef void (*oauth_token_assertion_done_fn)(void *arg,
                                              const struct oauth_token_assertion_result *r);

/* Starts the step for client (borrowed; outlives the request) and
 * assertion (the form's value, borrowed from the request's arena). done
 * runs exactly once unless cancelled, always from the loop (never inside
 * this call); r and its strings live only for that call. Returns the
 * handle for oauth_token_assertion_cancel. */
struct oauth_token_assertion *
oauth_token_assertion_start(const struct oauth *oauth, struct worker *w,
                            const struct oauth_client *client, const char *assertion,
                            oauth_token_assertion_done_fn done, void *arg);

/* Cancels the outstanding key fetch or jti claim (a claim already sent
 * stands); NULL is a no-op. done will not run. */
void oauth_token_assertion_cancel(struct oauth_token_assertion *a);
