/* The document cache: entries in one array under one mutex, each with its
 * last-known-good document (a counted ref), its freshness, its failure
 * back-off, its fetch-in-flight flag and the list of waiters.
 *
 * Threads: any worker may start a lookup. The worker that finds no usable
 * answer and no fetch in flight starts the fetch on its own loop and
 * marks the entry; its completion (on that loop) updates the entry under
 * the lock and wakes every waiter with event_active on the waiter's own
 * loop (libevent's pthread locking makes that safe across threads). A
 * waiter is unlinked under the lock by whichever comes first, the
 * completion or its cancel, so neither touches it after the other. */
#include "oauth/cimd.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/ipaddr.h"
#include "base/jsonx.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "config.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "oidc/jwks.h"
#include "worker.h"

struct oauth_cimd_ref {
    atomic_uint refs;
    struct oauth_cimd_doc doc;  /* a document entry's */
    struct oidc_jwks_set *keys; /* a jwks_uri entry's */
};

struct entry {
    bool keys; /* a client's jwks_uri (its key set), not a document */
    char *url;
    char host[256];
    struct oauth_cimd_ref *doc; /* last known good (or pinned); NULL when none */
    bool pinned;
    int64_t fresh_until;   /* Unix s: doc served without a fetch until then */
    int64_t backoff_until; /* Unix s: no new fetch until then (after a failure) */
    int64_t fetched_at;    /* Unix s of the last good fetch (the refetch floor) */
    const char *failure;   /* static reason of the last failure */
    bool inflight;
    uint64_t last_used; /* lookup sequence number, for eviction */
    struct oauth_cimd_wait *waiters;
};

struct oauth_cimd_wait {
    struct oauth_cimd *c;
    struct event *ev;
    oauth_cimd_done_fn cb;
    void *arg;
    bool linked; /* in an entry's waiter list (under the lock) */
    struct oauth_cimd_wait *prev;
    struct oauth_cimd_wait *next;
    struct oauth_cimd_ref *ref; /* the answer: a document ... */
    const char *reason;         /* ... or why not */
};

struct oauth_cimd {
    const struct config *cfg;
    pthread_mutex_t lock;
    struct entry *entries[BOUNDS_CIMD_CACHE_ENTRIES_MAX];
    size_t count;
    uint64_t seq;
};

/* ---- refs ---- */

static struct oauth_cimd_ref *
ref_new(void)
{
    struct oauth_cimd_ref *r = xcalloc(1, sizeof(*r));
    atomic_init(&r->refs, 1);
    return r;
}

static struct oauth_cimd_ref *
ref_take(struct oauth_cimd_ref *r)
{
    if (r != NULL) {
        atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    }
    return r;
}

const struct oauth_cimd_doc *
oauth_cimd_ref_doc(const struct oauth_cimd_ref *r)
{
    return &r->doc;
}

const struct oidc_jwks_set *
oauth_cimd_ref_keys(const struct oauth_cimd_ref *r)
{
    return r->keys;
}

void
oauth_cimd_ref_release(struct oauth_cimd_ref *r)
{
    if (r == NULL || atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    oauth_cimd_doc_cleanup(&r->doc);
    oidc_jwks_set_unref(r->keys);
    xfree(r);
}

/* ---- entries (lock held) ---- */

static struct entry *
find(struct oauth_cimd *c, bool keys, struct slice url)
{
    for (size_t i = 0; i < c->count; i++) {
        if (c->entries[i]->keys == keys && slice_eq_cstr(url, c->entries[i]->url)) {
            return c->entries[i];
        }
    }
    return NULL;
}

static void
entry_free(struct entry *e)
{
    oauth_cimd_ref_release(e->doc);
    xfree(e->url);
    xfree(e);
}

/* Room for one more: the least recently used entry that is neither
 * pinned, nor being fetched, nor waited for goes. false when all are busy. */
static bool
make_room(struct oauth_cimd *c)
{
    if (c->count < BOUNDS_CIMD_CACHE_ENTRIES_MAX) {
        return true;
    }
    size_t victim = c->count;
    for (size_t i = 0; i < c->count; i++) {
        const struct entry *e = c->entries[i];
        if (e->pinned || e->inflight || e->waiters != NULL) {
            continue;
        }
        if (victim == c->count || e->last_used < c->entries[victim]->last_used) {
            victim = i;
        }
    }
    if (victim == c->count) {
        return false;
    }
    entry_free(c->entries[victim]);
    c->entries[victim] = c->entries[--c->count];
    return true;
}

static struct entry *
entry_add(struct oauth_cimd *c, bool keys, struct slice url, const char *host)
{
    if (!make_room(c)) {
        return NULL;
    }
    struct entry *e = xcalloc(1, sizeof(*e));
    e->keys = keys;
    e->url = xstrndup(url.ptr, url.len);
    snprintf(e->host, sizeof(e->host), "%s", host);
    c->entries[c->count++] = e;
    return e;
}

static void
waiter_link(struct entry *e, struct oauth_cimd_wait *w)
{
    w->linked = true;
    w->prev = NULL;
    w->next = e->waiters;
    if (e->waiters != NULL) {
        e->waiters->prev = w;
    }
    e->waiters = w;
}

/* Answers every waiter of e with e's document, or with reason when e has
 * none, and empties the list. Lock held. */
static void
wake_waiters(struct entry *e, const char *reason)
{
    struct oauth_cimd_wait *w = e->waiters;
    e->waiters = NULL;
    while (w != NULL) {
        struct oauth_cimd_wait *next = w->next;
        w->linked = false;
        w->prev = w->next = NULL;
        w->ref = ref_take(e->doc);
        w->reason = e->doc != NULL ? NULL : reason;
        event_active(w->ev, 0, 0);
        w = next;
    }
}

/* ---- the SSRF guard (fetch.h check_addr) ---- */

static bool
address_allowed(void *arg, const struct sockaddr *sa)
{
    const struct oauth_cimd *c = arg;
    struct ipaddr a;
    memset(&a, 0, sizeof(a));
    if (sa->sa_family == AF_INET) {
        a.family = AF_INET;
        memcpy(a.bytes, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        a.family = AF_INET6;
        memcpy(a.bytes, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    } else {
        return false; /* a Unix socket or anything else: never */
    }
    return ipaddr_special_use(&a) == NULL || c->cfg->cimd_allow_private_addresses;
}

/* ---- the fetch ---- */

struct fetch_job {
    struct oauth_cimd *c;
    struct entry *e; /* stays: an entry being fetched is never evicted */
};

/* A jwks_uri's failures, worded for the key set. */
static const char *
keys_reason_of_fetch_rc(enum fetch_rc rc)
{
    switch (rc) {
    case FETCH_ERR_TIMEOUT:
        return "jwks_uri fetch timed out";
    case FETCH_ERR_TOO_LARGE:
        return "jwks_uri answer is too large";
    case FETCH_ERR_ADDRESS:
        return "jwks_uri host resolves to a private or special-use address";
    case FETCH_ERR_TLS:
        return "jwks_uri server failed TLS verification";
    default:
        return "jwks_uri could not be fetched";
    }
}

static enum metrics_cimd_fetch
metric_of_fetch_rc(enum fetch_rc rc)
{
    switch (rc) {
    case FETCH_ERR_TIMEOUT:
        return METRICS_CIMD_FETCH_TIMEOUT;
    case FETCH_ERR_TOO_LARGE:
        return METRICS_CIMD_FETCH_TOO_LARGE;
    case FETCH_ERR_ADDRESS:
        return METRICS_CIMD_FETCH_ADDRESS_REFUSED;
    default:
        return METRICS_CIMD_FETCH_NETWORK;
    }
}

static const char *
reason_of_fetch_rc(enum fetch_rc rc)
{
    switch (rc) {
    case FETCH_ERR_TIMEOUT:
        return "client metadata document fetch timed out";
    case FETCH_ERR_TOO_LARGE:
        return "client metadata document exceeds " BOUNDS_CIMD_DOCUMENT_MAX_TEXT;
    case FETCH_ERR_ADDRESS:
        return "client metadata document host resolves to a private or special-use address";
    case FETCH_ERR_TLS:
        return "client metadata document server failed TLS verification";
    default:
        return "client metadata document could not be fetched";
    }
}

static const enum metrics_cimd_fetch metric_of_rules[OAUTH_CIMD_RULES_RC_COUNT] = {
    [OAUTH_CIMD_RULES_OK] = METRICS_CIMD_FETCH_OK,
    [OAUTH_CIMD_RULES_REDIRECT] = METRICS_CIMD_FETCH_REDIRECT,
    [OAUTH_CIMD_RULES_HTTP_STATUS] = METRICS_CIMD_FETCH_HTTP_STATUS,
    [OAUTH_CIMD_RULES_NOT_JSON] = METRICS_CIMD_FETCH_NOT_JSON,
    [OAUTH_CIMD_RULES_TOO_LARGE] = METRICS_CIMD_FETCH_TOO_LARGE,
    [OAUTH_CIMD_RULES_INVALID] = METRICS_CIMD_FETCH_INVALID,
};

static const char *const result_names[METRICS_CIMD_FETCH_COUNT] = {
    [METRICS_CIMD_FETCH_OK] = "ok",
    [METRICS_CIMD_FETCH_REDIRECT] = "redirect",
    [METRICS_CIMD_FETCH_HTTP_STATUS] = "http_status",
    [METRICS_CIMD_FETCH_NOT_JSON] = "not_json",
    [METRICS_CIMD_FETCH_TOO_LARGE] = "too_large",
    [METRICS_CIMD_FETCH_INVALID] = "invalid_document",
    [METRICS_CIMD_FETCH_TIMEOUT] = "timeout",
    [METRICS_CIMD_FETCH_ADDRESS_REFUSED] = "address_refused",
    [METRICS_CIMD_FETCH_NETWORK] = "network",
};

/* One line per failed fetch: the host, the result, the reason; never the
 * body. Whether a last-known-good copy covers it. */
static void
log_fetch_failure(const struct entry *e, enum metrics_cimd_fetch result, long status,
                  const char *reason, bool stale_served)
{
    struct log_line l;
    if (e->keys) {
        log_begin(&l, LOG_WARN,
                  stale_served ? "cimd_jwks_fetch_failed_stale_served" : "cimd_jwks_fetch_failed");
    } else {
        log_begin(&l, LOG_WARN,
                  stale_served ? "cimd_fetch_failed_stale_served" : "cimd_fetch_failed");
    }
    log_sample(&l, "host", slice_from_cstr(e->host));
    log_str(&l, "result", result_names[result]);
    if (status != 0) {
        log_int(&l, "status", status);
    }
    log_str(&l, "reason", reason);
    log_end(&l);
}

static void
on_fetched(void *arg, struct fetch_response *resp)
{
    struct fetch_job *job = arg;
    struct oauth_cimd *c = job->c;
    struct entry *e = job->e;
    xfree(job);
    const struct config *cfg = c->cfg;
    struct oauth_cimd_ref *fresh = NULL;
    const char *reason = NULL;
    enum metrics_cimd_fetch result;
    if (resp->rc != FETCH_OK) {
        result = metric_of_fetch_rc(resp->rc);
        reason = e->keys ? keys_reason_of_fetch_rc(resp->rc) : reason_of_fetch_rc(resp->rc);
    } else if (e->keys) {
        fresh = ref_new();
        enum oauth_cimd_rules_rc rrc = oauth_cimd_rules_parse_jwks(
            resp->status, resp->content_type, buf_slice(&resp->body), &fresh->keys, &reason);
        result = metric_of_rules[rrc];
        if (rrc != OAUTH_CIMD_RULES_OK) {
            xfree(fresh);
            fresh = NULL;
        }
    } else {
        fresh = ref_new();
        /* e->url is stable: the entry is not evicted while in flight. */
        enum oauth_cimd_rules_rc rrc = oauth_cimd_rules_parse(
            e->url, resp->status, resp->content_type, buf_slice(&resp->body), &fresh->doc, &reason);
        result = metric_of_rules[rrc];
        if (rrc != OAUTH_CIMD_RULES_OK) {
            xfree(fresh);
            fresh = NULL;
        }
    }
    if (e->keys) {
        metrics_inc_cimd_jwks_fetch(result);
    } else {
        metrics_inc_cimd_fetch(result);
    }
    int64_t now = clock_unix_s();
    pthread_mutex_lock(&c->lock);
    e->inflight = false;
    if (fresh != NULL) {
        oauth_cimd_ref_release(e->doc);
        e->doc = fresh;
        e->fresh_until = now + (int64_t)oauth_cimd_rules_ttl(resp->cache_control, resp->expires,
                                                             now, cfg->cimd_cache_ttl_min_s,
                                                             cfg->cimd_cache_ttl_max_s);
        e->backoff_until = 0;
        e->failure = NULL;
        e->fetched_at = now;
    } else {
        e->backoff_until = now + BOUNDS_CIMD_FAILURE_BACKOFF_S;
        e->failure = reason;
        /* Last-known-good covers an outage (a timeout, a CDN's 403 or HTML
         * challenge), not a document its publisher changed into one we
         * refuse, and not for ever: one ceiling past its expiry at most. */
        if (e->doc != NULL && (result == METRICS_CIMD_FETCH_INVALID ||
                               now >= e->fresh_until + (int64_t)cfg->cimd_cache_ttl_max_s)) {
            oauth_cimd_ref_release(e->doc);
            e->doc = NULL;
        }
    }
    bool stale = fresh == NULL && e->doc != NULL;
    wake_waiters(e, reason);
    pthread_mutex_unlock(&c->lock);
    if (fresh == NULL) {
        log_fetch_failure(e, result, resp->rc == FETCH_OK ? resp->status : 0, reason, stale);
    }
}

/* Starts the fetch for e (marked in flight by the caller) on w's fetch;
 * false when it could not even be set up. */
static bool
start_fetch(struct oauth_cimd *c, struct worker *w, struct entry *e, const char *url)
{
    static const char *const headers[] = {"Accept: application/json", NULL};
    static const char *const jwks_headers[] = {"Accept: application/jwk-set+json, application/json",
                                               NULL};
    /* A jwks_uri is fetched exactly as a document is (docs/cimd.md): only
     * the answer's cap and media type differ. */
    struct fetch_options opt = {
        .method = FETCH_GET,
        .url = url,
        .headers = e->keys ? jwks_headers : headers,
        .timeout_ms = BOUNDS_CIMD_FETCH_TIMEOUT_MS,
        .connect_timeout_ms = BOUNDS_CIMD_CONNECT_TIMEOUT_MS,
        .max_response_bytes = e->keys ? BOUNDS_CIMD_JWKS_MAX : BOUNDS_CIMD_DOCUMENT_MAX,
        .https_only = true,
        .ca_file = c->cfg->cimd_ca_file,
        .check_addr = address_allowed,
        .check_arg = c,
    };
    struct fetch *f = fetch_of_worker(w);
    if (f == NULL) {
        return false;
    }
    struct fetch_job *job = xcalloc(1, sizeof(*job));
    job->c = c;
    job->e = e;
    if (fetch_start(f, &opt, on_fetched, job) == NULL) {
        xfree(job);
        return false;
    }
    return true;
}

/* ---- lookups ---- */

static void
on_wait_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct oauth_cimd_wait *w = arg;
    w->cb(w->arg, w->ref, w->reason);
    event_free(w->ev);
    xfree(w);
}

/* Answers w now (through its event): ref taken, or reason. */
static void
answer(struct oauth_cimd_wait *w, struct oauth_cimd_ref *ref, const char *reason)
{
    w->ref = ref_take(ref);
    w->reason = ref != NULL ? NULL : reason;
    event_active(w->ev, 0, 0);
}

/* The lookup of both kinds. refetch (keys only): the caller's copy lacked
 * a kid, so a copy older than BOUNDS_CIMD_JWKS_REFETCH_FLOOR_S counts as
 * stale. */
static struct oauth_cimd_wait *
lookup_start(struct oauth_cimd *c, struct worker *worker, bool keys, bool refetch, struct slice url,
             oauth_cimd_done_fn cb, void *arg)
{
    struct oauth_cimd_wait *w = xcalloc(1, sizeof(*w));
    w->c = c;
    w->cb = cb;
    w->arg = arg;
    w->ev = event_new(worker->base, -1, 0, on_wait_event, w);
    if (w->ev == NULL) {
        abort(); /* allocation only: OOM is fatal (STYLE.md 3.5) */
    }
    char host[256];
    const char *why = oauth_cimd_rules_check_url(url, host, sizeof(host));
    if (why != NULL) {
        answer(w, NULL, keys ? "jwks_uri must be an https URL with a path" : why);
        return w;
    }
    pthread_mutex_lock(&c->lock);
    struct entry *e = find(c, keys, url);
    /* A jwks_uri is the document's choice, under its (allowed) host. */
    if (!keys && (e == NULL || !e->pinned)) {
        if (!oauth_cimd_rules_host_allowed(host, c->cfg->cimd_allowed_hosts,
                                           c->cfg->cimd_allowed_host_count)) {
            pthread_mutex_unlock(&c->lock);
            answer(w, NULL, "client_id URL host is not in CIMD_ALLOWED_HOSTS");
            return w;
        }
    }
    int64_t now = clock_unix_s();
    if (e != NULL) {
        e->last_used = ++c->seq;
        bool floor_passed = now - e->fetched_at >= BOUNDS_CIMD_JWKS_REFETCH_FLOOR_S;
        if (e->pinned || (e->doc != NULL && now < e->fresh_until && !(refetch && floor_passed))) {
            answer(w, e->doc, NULL);
            pthread_mutex_unlock(&c->lock);
            return w;
        }
        if (e->inflight) {
            waiter_link(e, w);
            pthread_mutex_unlock(&c->lock);
            return w;
        }
        if (now < e->backoff_until) {
            /* Last-known-good if any, else the failure, until the back-off ends. */
            answer(w, e->doc, e->failure);
            pthread_mutex_unlock(&c->lock);
            return w;
        }
    } else {
        e = entry_add(c, keys, url, host);
        if (e == NULL) {
            pthread_mutex_unlock(&c->lock);
            answer(w, NULL, "too many client metadata documents are being fetched; retry later");
            return w;
        }
        e->last_used = ++c->seq;
    }
    e->inflight = true;
    waiter_link(e, w);
    if (!start_fetch(c, worker, e, e->url)) {
        e->inflight = false;
        e->backoff_until = now + BOUNDS_CIMD_FAILURE_BACKOFF_S;
        e->failure = "client metadata document could not be fetched";
        wake_waiters(e, e->failure);
    }
    pthread_mutex_unlock(&c->lock);
    return w;
}

struct oauth_cimd_wait *
oauth_cimd_resolve_start(struct oauth_cimd *c, struct worker *worker, struct slice url,
                         oauth_cimd_done_fn cb, void *arg)
{
    return lookup_start(c, worker, false, false, url, cb, arg);
}

struct oauth_cimd_wait *
oauth_cimd_keys_start(struct oauth_cimd *c, struct worker *worker, struct slice jwks_uri,
                      bool refetch, oauth_cimd_done_fn cb, void *arg)
{
    return lookup_start(c, worker, true, refetch, jwks_uri, cb, arg);
}

void
oauth_cimd_resolve_cancel(struct oauth_cimd_wait *w)
{
    if (w == NULL) {
        return;
    }
    struct oauth_cimd *c = w->c;
    pthread_mutex_lock(&c->lock);
    if (w->linked) {
        /* Still waiting: find its entry through the neighbours' list. */
        if (w->prev != NULL) {
            w->prev->next = w->next;
        } else {
            for (size_t i = 0; i < c->count; i++) {
                if (c->entries[i]->waiters == w) {
                    c->entries[i]->waiters = w->next;
                    break;
                }
            }
        }
        if (w->next != NULL) {
            w->next->prev = w->prev;
        }
        w->linked = false;
    }
    pthread_mutex_unlock(&c->lock);
    /* Any activation already queued goes with the event. */
    event_free(w->ev);
    oauth_cimd_ref_release(w->ref);
    xfree(w);
}

/* ---- pinned documents ---- */

static bool
has_json_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* Reads path whole, at most BOUNDS_CIMD_DOCUMENT_MAX + 1 bytes (so a larger
 * file is seen as too large). */
static bool
read_small_file(const char *path, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    char chunk[BOUNDS_CIMD_DOCUMENT_MAX + 1];
    size_t have = 0;
    ssize_t n;
    while (have < sizeof(chunk) && (n = read(fd, chunk + have, sizeof(chunk) - have)) != 0) {
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            close(fd);
            return false;
        }
        have += (size_t)n;
    }
    close(fd);
    return buf_append(out, chunk, have) == 0;
}

static void
log_pinned_problem(const char *file, const char *why)
{
    struct log_line l;
    log_begin(&l, LOG_ERROR, "cimd_pinned_invalid");
    log_sample(&l, "file", slice_from_cstr(file));
    log_str(&l, "reason", why);
    log_end(&l);
}

/* One pinned file: its own client_id is its URL. */
static const char *
load_pinned_file(struct oauth_cimd *c, const char *dir, const char *name)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
        return "pinned document path is too long";
    }
    struct buf body;
    buf_init(&body, BOUNDS_CIMD_DOCUMENT_MAX + 1);
    const char *why = NULL;
    struct json_t *doc = NULL;
    if (!read_small_file(path, &body)) {
        why = "pinned document cannot be read";
        goto out;
    }
    struct slice id = SLICE_LIT("");
    if (jsonx_parse(buf_slice(&body), BOUNDS_CIMD_DOCUMENT_MAX + 1, &doc) != JSONX_OK ||
        jsonx_get_str(doc, "client_id", &id) != JSONX_FOUND) {
        why = "pinned document is not JSON with a client_id";
        goto out;
    }
    char host[256];
    why = oauth_cimd_rules_check_url(id, host, sizeof(host));
    if (why != NULL) {
        goto out;
    }
    char *url = xstrndup(id.ptr, id.len);
    struct oauth_cimd_ref *ref = ref_new();
    if (oauth_cimd_rules_parse(url, 200, "application/json", buf_slice(&body), &ref->doc, &why) !=
        OAUTH_CIMD_RULES_OK) {
        xfree(ref);
        xfree(url);
        goto out;
    }
    if (find(c, false, slice_from_cstr(url)) != NULL || c->count >= BOUNDS_CIMD_PINNED_MAX) {
        why = find(c, false, slice_from_cstr(url)) != NULL
                  ? "two pinned documents have one client_id"
                  : "too many pinned documents";
        oauth_cimd_ref_release(ref);
        xfree(url);
        goto out;
    }
    struct entry *e = entry_add(c, false, slice_from_cstr(url), host);
    e->pinned = true;
    e->doc = ref;
    xfree(url);
out:
    json_decref(doc);
    buf_cleanup(&body);
    if (why != NULL) {
        log_pinned_problem(name, why);
    }
    return why;
}

static const char *
load_pinned(struct oauth_cimd *c, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return "CIMD_PINNED_DIR cannot be opened";
    }
    const char *why = NULL;
    struct dirent *de;
    while (why == NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !has_json_suffix(de->d_name)) {
            continue;
        }
        why = load_pinned_file(c, dir, de->d_name);
    }
    closedir(d);
    return why;
}

bool
oauth_cimd_pinned_file(const char *dir, const char *url, char *file_out, size_t cap)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return false;
    }
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL) {
        char path[4096];
        if (de->d_name[0] == '.' || !has_json_suffix(de->d_name) ||
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path)) {
            continue;
        }
        struct buf body;
        buf_init(&body, BOUNDS_CIMD_DOCUMENT_MAX + 1);
        struct oauth_cimd_doc doc;
        const char *why = NULL;
        if (read_small_file(path, &body) &&
            oauth_cimd_rules_parse(url, 200, "application/json", buf_slice(&body), &doc, &why) ==
                OAUTH_CIMD_RULES_OK) {
            oauth_cimd_doc_cleanup(&doc);
            (void)snprintf(file_out, cap, "%s", de->d_name);
            found = true;
        }
        buf_cleanup(&body);
    }
    closedir(d);
    return found;
}

struct oauth_cimd *
oauth_cimd_new(const struct config *cfg, const char **why)
{
    struct oauth_cimd *c = xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    pthread_mutex_init(&c->lock, NULL);
    *why = NULL;
    if (cfg->cimd_pinned_dir != NULL && cfg->cimd_pinned_dir[0] != '\0') {
        *why = load_pinned(c, cfg->cimd_pinned_dir);
        if (*why != NULL) {
            oauth_cimd_free(c);
            return NULL;
        }
    }
    return c;
}

void
oauth_cimd_free(struct oauth_cimd *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->count; i++) {
        entry_free(c->entries[i]);
    }
    pthread_mutex_destroy(&c->lock);
    xfree(c);
}

size_t
oauth_cimd_entry_count(struct oauth_cimd *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->count;
    pthread_mutex_unlock(&c->lock);
    return n;
}
