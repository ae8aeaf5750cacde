/* Client ID Metadata Documents, the fetching half: a process-wide cache of
 * documents keyed by their URL, filled through each worker's libcurl fetch
 * under the SSRF rules, and read by oauth/client.c (the only caller) as
 * the second source of client registrations. docs/cimd.md has the trust
 * model; oauth/cimd_rules.h has every rule a document must pass.
 *
 * One struct oauth_cimd per process, shared by every worker, locked
 * inside. For one URL at most one fetch is in flight in the process: a
 * lookup that finds a fetch under way waits for it (a waiter on its own
 * worker's loop, woken with event_active), whichever worker started it.
 *
 * The answer for a URL, in order:
 *   - an operator-pinned document (CIMD_PINNED_DIR), never fetched;
 *   - the cached document while fresh (Cache-Control/Expires within
 *     CIMD_CACHE_TTL_MIN..MAX);
 *   - within BOUNDS_CIMD_FAILURE_BACKOFF_S of a failed fetch: the
 *     last-known-good document if there is one, else that failure;
 *   - otherwise a fetch: a valid document replaces the cached one; a
 *     failure serves the last-known-good document when there is one
 *     (vendors' CDNs answer datacenter addresses with 403s for weeks), else
 *     the failure. A failure is remembered only for the back-off, never
 *     in place of a good document (the draft, 4.4, says errors are not to
 *     be cached).
 * Before any of that: CIMD_ALLOWED_HOSTS, and the URL rules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"
#include "oauth/cimd_rules.h"

struct config;
struct worker;
struct oauth_cimd;
struct oauth_cimd_wait;

/* A document shared between the cache and the requests using it; counted,
 * released on any thread. */
struct oauth_cimd_ref;
const struct oauth_cimd_doc *oauth_cimd_ref_doc(const struct oauth_cimd_ref *r);
/* NULL is a no-op. */
void oauth_cimd_ref_release(struct oauth_cimd_ref *r);

/* Builds the cache from cfg (borrowed for the cache's life): the policy
 * variables, and every "*.json" file of CIMD_PINNED_DIR, each checked with
 * oauth_cimd_rules_parse against its own client_id. A pinned file that
 * cannot be read or fails a rule is a start-up error: NULL is returned and
 * *why (static) says which rule; the file's name goes to the log. Without
 * a pinned directory it never fails. */
struct oauth_cimd *oauth_cimd_new(const struct config *cfg, const char **why);
/* Call after every worker has stopped. NULL is a no-op. */
void oauth_cimd_free(struct oauth_cimd *c);

/* The answer: ref is the document (owned by the callee now; release it
 * with oauth_cimd_ref_release), or NULL and reason (static) says why the
 * client_id is refused. Runs on w's loop, never inside
 * oauth_cimd_resolve_start; the wait is gone when it runs. */
typedef void (*oauth_cimd_done_fn)(void *arg, struct oauth_cimd_ref *ref, const char *reason);

/* Starts resolving url (borrowed for this call) for a request on worker w
 * (its loop and its fetch). Never NULL; the callback runs exactly once
 * unless the wait is cancelled first. */
struct oauth_cimd_wait *oauth_cimd_resolve_start(struct oauth_cimd *c, struct worker *w,
                                                 struct slice url, oauth_cimd_done_fn cb,
                                                 void *arg);
/* A CIMD client's key set from its document's jwks_uri (borrowed for this
 * call), for private_key_jwt (oauth/client_assertion.h): the same cache,
 * single flight, SSRF-checked fetch (https only, no redirects, the
 * resolved address checked and connected to, CIMD_CA_FILE), TTL
 * (Cache-Control/Expires within CIMD_CACHE_TTL_MIN..MAX), failure back-off
 * and last-known-good rules as a document, a cap of BOUNDS_CIMD_JWKS_MAX,
 * and no CIMD_ALLOWED_HOSTS check (the document, whose host was allowed,
 * chose the URL). refetch: the caller's copy lacked the assertion's kid;
 * a cached copy older than BOUNDS_CIMD_JWKS_REFETCH_FLOOR_S is then fetched
 * again, a younger one is answered as is (so made-up kids cannot make us
 * fetch in a loop). The answer's oauth_cimd_ref_keys is the set. */
struct oauth_cimd_wait *oauth_cimd_keys_start(struct oauth_cimd *c, struct worker *w,
                                              struct slice jwks_uri, bool refetch,
                                              oauth_cimd_done_fn cb, void *arg);
struct oidc_jwks_set;
/* A key-set answer's keys (borrowed while r is held); NULL for a document. */
const struct oidc_jwks_set *oauth_cimd_ref_keys(const struct oauth_cimd_ref *r);

/* On w's thread, before the callback ran; NULL is a no-op. The fetch, if
 * one was started, goes on for the cache's sake. */
void oauth_cimd_resolve_cancel(struct oauth_cimd_wait *wait);

/* The file in dir (CIMD_PINNED_DIR) that pins url: a "*.json" file the
 * start-up loader would accept whose client_id is url. Its name goes to
 * file_out (capacity cap); false when none does or dir cannot be read.
 * For `mcp-auth-proxy doctor --server-side`, which must agree with the
 * loader. */
bool oauth_cimd_pinned_file(const char *dir, const char *url, char *file_out, size_t cap);

/* Tests: documents cached (pinned ones included) and fetches started since
 * the cache was built. */
size_t oauth_cimd_entry_count(struct oauth_cimd *c);
