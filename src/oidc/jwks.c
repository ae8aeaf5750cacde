#include "oidc/jwks.h"

#include <assert.h>
#include <cjose/jwk.h>
#include <event2/event.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "fetch.h"
#include "log.h"
#include "oidc/provider.h"

/* NIST SP 800-57 / RFC 7518 3.3: RSA keys below 2048 bits are refused. */
#define JWKS_RSA_MIN_BITS 2048

struct oidc_jwks_set {
    atomic_uint refs;
    uint64_t generation;
    size_t count;
    struct oidc_jwk *keys;
};

struct oidc_jwks_wait {
    struct oidc_jwks *j;
    struct event *ev; /* on the asker's base */
    oidc_jwks_refreshed_fn cb;
    void *arg;
    struct oidc_jwks_set *set; /* filled under j->lock before ev is activated */
    bool queued;               /* in j->waiters, waiting for a refresh */
    struct oidc_jwks_wait *prev;
    struct oidc_jwks_wait *next;
};

struct oidc_jwks {
    oidc_jwks_source_fn source;
    void *source_arg;
    char *uri; /* owned source_arg of the HTTP source */
    uint64_t interval_ms;
    uint64_t gap_ms;

    pthread_t thread;
    bool thread_started;
    atomic_bool stop; /* raised by oidc_jwks_free */

    /* Everything below is guarded by lock. */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* CLOCK_MONOTONIC */
    struct oidc_jwks_set *current;
    uint64_t generation;
    bool wanted;      /* a refresh was asked for */
    bool refreshing;  /* asked for or running: askers join it */
    bool any_refresh; /* the gap counts from the first refresh
                       * (the start-up load does not count) */
    uint64_t last_start_ms;
    uint64_t next_periodic_ms;
    uint64_t refresh_count;
    struct oidc_jwks_wait *waiters;
    size_t live_waits; /* started and not yet delivered or cancelled */
};

/* ---- snapshots ---- */

static void
set_free(struct oidc_jwks_set *s)
{
    for (size_t i = 0; i < s->count; i++) {
        xfree(s->keys[i].kid);
        cjose_jwk_release(s->keys[i].jwk);
    }
    xfree(s->keys);
    xfree(s);
}

struct oidc_jwks_set *
oidc_jwks_set_ref(struct oidc_jwks_set *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

struct oidc_jwks_set *
oidc_jwks_set_unref(struct oidc_jwks_set *s)
{
    if (s != NULL && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        set_free(s);
    }
    return NULL;
}

size_t
oidc_jwks_set_count(const struct oidc_jwks_set *s)
{
    return s->count;
}

const struct oidc_jwk *
oidc_jwks_set_key(const struct oidc_jwks_set *s, size_t i)
{
    return i < s->count ? &s->keys[i] : NULL;
}

uint64_t
oidc_jwks_set_generation(const struct oidc_jwks_set *s)
{
    return s->generation;
}

static unsigned
rsa_algs(void)
{
    return 1u << OIDC_ALG_RS256 | 1u << OIDC_ALG_RS384 | 1u << OIDC_ALG_RS512 |
           1u << OIDC_ALG_PS256 | 1u << OIDC_ALG_PS384 | 1u << OIDC_ALG_PS512;
}

/* The algorithms a cjose key can verify, from its type and curve; 0 when
 * the key is one we do not use. RFC 7518 3.4: ES256 is P-256 only, etc. */
static unsigned
algs_for_key(const cjose_jwk_t *k)
{
    cjose_err cerr;
    switch (cjose_jwk_get_kty(k, &cerr)) {
    case CJOSE_JWK_KTY_RSA:
        return cjose_jwk_get_keysize(k, &cerr) >= JWKS_RSA_MIN_BITS ? rsa_algs() : 0;
    case CJOSE_JWK_KTY_EC:
        switch (cjose_jwk_EC_get_curve(k, &cerr)) {
        case CJOSE_JWK_EC_P_256:
            return 1u << OIDC_ALG_ES256;
        case CJOSE_JWK_EC_P_384:
            return 1u << OIDC_ALG_ES384;
        case CJOSE_JWK_EC_P_521:
            return 1u << OIDC_ALG_ES512;
        default:
            return 0;
        }
    default:
        return 0;
    }
}

/* Fills *out from one JWK object; false to skip the key. */
static bool
load_key(json_t *obj, struct oidc_jwk *out)
{
    struct slice kty, use, alg, kid = SLICE_NULL;
    if (!json_is_object(obj) || jsonx_get_str(obj, "kty", &kty) != JSONX_FOUND ||
        !(slice_eq_cstr(kty, "RSA") || slice_eq_cstr(kty, "EC"))) {
        return false;
    }
    enum jsonx_get g = jsonx_get_str(obj, "use", &use);
    if (g == JSONX_WRONG_TYPE || (g == JSONX_FOUND && !slice_eq_cstr(use, "sig"))) {
        return false;
    }
    unsigned only = ~0u;
    g = jsonx_get_str(obj, "alg", &alg);
    if (g == JSONX_WRONG_TYPE) {
        return false;
    }
    if (g == JSONX_FOUND) {
        enum oidc_alg a;
        if (!oidc_alg_parse(alg, &a)) {
            return false; /* an encryption, HMAC or unknown algorithm */
        }
        only = 1u << a;
    }
    g = jsonx_get_str(obj, "kid", &kid);
    if (g == JSONX_WRONG_TYPE) {
        return false;
    }
    cjose_err cerr;
    cjose_jwk_t *k = cjose_jwk_import_json((cjose_header_t *)obj, &cerr);
    if (k == NULL) {
        return false;
    }
    unsigned mask = algs_for_key(k) & only;
    if (mask == 0) {
        cjose_jwk_release(k);
        return false;
    }
    out->kid = g == JSONX_FOUND ? xstrndup(kid.ptr, kid.len) : NULL;
    out->alg_mask = mask;
    out->jwk = k;
    return true;
}

int
oidc_jwks_set_parse(struct slice json, struct oidc_jwks_set **out, struct buf *err)
{
    json_t *doc = NULL;
    const json_t *keys = NULL;
    int rc = -1;
    if (jsonx_parse(json, BOUNDS_FETCH_RESPONSE_MAX, &doc) != JSONX_OK || !json_is_object(doc) ||
        jsonx_get_array(doc, "keys", &keys) != JSONX_FOUND) {
        buf_appendf_best(err, "the JWKS is not a JSON object with a \"keys\" array");
        goto out;
    }
    size_t n = json_array_size(keys);
    if (n > BOUNDS_JWKS_KEYS_MAX) {
        buf_appendf_best(err, "the JWKS holds %zu keys (at most %d are accepted)", n,
                         BOUNDS_JWKS_KEYS_MAX);
        goto out;
    }
    struct oidc_jwks_set *s = xcalloc(1, sizeof(*s));
    atomic_init(&s->refs, 1);
    s->keys = xcalloc(n ? n : 1, sizeof(*s->keys));
    for (size_t i = 0; i < n; i++) {
        if (load_key(json_array_get(keys, i), &s->keys[s->count])) {
            s->count++;
        }
    }
    if (s->count == 0) {
        buf_appendf_best(
            err, "the JWKS has no usable signing key (RSA >= 2048 bits or EC P-256/384/521)");
        set_free(s);
        goto out;
    }
    *out = s;
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

/* ---- the refresher ---- */

static void
log_refresh_failed(const struct buf *why)
{
    /* Not fatal: the previous keys stay in use (STYLE.md 3.8). */
    struct log_line l;
    log_begin(&l, LOG_WARN, "jwks_refresh_failed");
    log_str(&l, "error", buf_cstr(why));
    log_str(&l, "action", "keeping previous keys");
    log_end(&l);
}

/* Runs the source and parses; the new set or NULL (why says why). */
static struct oidc_jwks_set *
load(struct oidc_jwks *j, const atomic_bool *stop, struct buf *why)
{
    struct buf body;
    buf_init(&body, BOUNDS_FETCH_RESPONSE_MAX);
    struct oidc_jwks_set *s = NULL;
    if (j->source(j->source_arg, stop, &body, why) == 0 &&
        oidc_jwks_set_parse(buf_slice(&body), &s, why) != 0) {
        s = NULL;
    }
    buf_cleanup(&body);
    return s;
}

/* Hands the current snapshot to every queued waiter: each gets its own
 * reference and its event is activated on its own loop. Called with the
 * lock held, so a concurrent cancel either removed the waiter first or
 * finds it already delivered. */
static void
deliver_waiters(struct oidc_jwks *j)
{
    struct oidc_jwks_wait *w = j->waiters;
    j->waiters = NULL;
    while (w != NULL) {
        struct oidc_jwks_wait *next = w->next;
        w->queued = false;
        w->prev = w->next = NULL;
        w->set = oidc_jwks_set_ref(j->current);
        event_active(w->ev, EV_TIMEOUT, 1);
        w = next;
    }
}

static void
deadline_from_ms(uint64_t mono_ms, struct timespec *ts)
{
    /* clock_mono_ms() reads CLOCK_MONOTONIC, the clock of j->wake. */
    ts->tv_sec = (time_t)(mono_ms / 1000);
    ts->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

static void *
refresher_main(void *arg)
{
    struct oidc_jwks *j = arg;
    pthread_mutex_lock(&j->lock);
    for (;;) {
        while (!atomic_load(&j->stop) && !j->wanted) {
            if (j->interval_ms == 0) {
                pthread_cond_wait(&j->wake, &j->lock);
                continue;
            }
            uint64_t now = clock_mono_ms();
            if (now >= j->next_periodic_ms) {
                j->wanted = true;
                j->refreshing = true;
                j->any_refresh = true;
                j->last_start_ms = now;
                break;
            }
            struct timespec ts;
            deadline_from_ms(j->next_periodic_ms, &ts);
            pthread_cond_timedwait(&j->wake, &j->lock, &ts);
        }
        if (atomic_load(&j->stop)) {
            break;
        }
        j->wanted = false;
        pthread_mutex_unlock(&j->lock);

        struct buf why;
        buf_init(&why, 4096);
        struct oidc_jwks_set *fresh = load(j, &j->stop, &why);
        struct oidc_jwks_set *old = NULL;
        /* Logged before the waiters hear of it, so the line precedes every
         * refusal it explains (and a caller that stops the refresher right
         * after its answer cannot lose it). */
        if (fresh == NULL && !atomic_load(&j->stop)) {
            log_refresh_failed(&why);
        }

        pthread_mutex_lock(&j->lock);
        if (fresh != NULL) {
            fresh->generation = ++j->generation;
            old = j->current;
            j->current = fresh;
        }
        j->refresh_count++;
        j->refreshing = false;
        j->next_periodic_ms = clock_mono_ms() + j->interval_ms;
        deliver_waiters(j);
        pthread_mutex_unlock(&j->lock);

        buf_cleanup(&why);
        oidc_jwks_set_unref(old);
        pthread_mutex_lock(&j->lock);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

int
oidc_jwks_new(const struct oidc_jwks_options *opt, const atomic_bool *stop, struct oidc_jwks **out,
              struct buf *err)
{
    struct oidc_jwks *j = xcalloc(1, sizeof(*j));
    j->source = opt->source;
    j->source_arg = opt->source_arg;
    j->interval_ms = opt->refresh_interval_ms;
    j->gap_ms = opt->min_refresh_gap_ms;
    atomic_init(&j->stop, false);
    pthread_mutex_init(&j->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->wake, &ca);
    pthread_condattr_destroy(&ca);

    j->current = load(j, stop, err);
    if (j->current == NULL) {
        oidc_jwks_free(j);
        return -1;
    }
    j->next_periodic_ms = clock_mono_ms() + j->interval_ms;
    if (pthread_create(&j->thread, NULL, refresher_main, j) != 0) {
        buf_appendf_best(err, "cannot start the JWKS refresh thread");
        oidc_jwks_free(j);
        return -1;
    }
    j->thread_started = true;
    *out = j;
    return 0;
}

/* The production source: GET jwks_uri. */
static int
http_source(void *arg, const atomic_bool *stop, struct buf *out_body, struct buf *err)
{
    const char *uri = arg;
    const char *headers[] = {"Accept: application/jwk-set+json, application/json", NULL};
    struct fetch_options opt = {
        .method = FETCH_GET,
        .url = uri,
        .headers = headers,
        .timeout_ms = BOUNDS_JWKS_FETCH_TIMEOUT_MS,
    };
    struct fetch_response resp;
    int rc = -1;
    enum fetch_rc frc = fetch_blocking(&opt, stop, &resp);
    if (frc != FETCH_OK) {
        buf_appendf_best(err, "GET %s: %s: %s", uri, fetch_rc_str(frc),
                         resp.detail ? resp.detail : "");
    } else if (resp.status != 200) {
        buf_appendf_best(err, "GET %s: HTTP status %ld", uri, resp.status);
    } else if (buf_append_slice(out_body, buf_slice(&resp.body)) != 0) {
        buf_appendf_best(err, "GET %s: body too large", uri);
    } else {
        rc = 0;
    }
    fetch_response_cleanup(&resp);
    return rc;
}

int
oidc_jwks_new_http(const char *jwks_uri, const atomic_bool *stop, struct oidc_jwks **out,
                   struct buf *err)
{
    char *uri = xstrdup(jwks_uri);
    struct oidc_jwks_options opt = {
        .source = http_source,
        .source_arg = uri,
        .refresh_interval_ms = BOUNDS_JWKS_REFRESH_INTERVAL_MS,
        .min_refresh_gap_ms = BOUNDS_JWKS_MIN_REFRESH_GAP_MS,
    };
    if (oidc_jwks_new(&opt, stop, out, err) != 0) {
        xfree(uri);
        return -1;
    }
    (*out)->uri = uri;
    return 0;
}

void
oidc_jwks_free(struct oidc_jwks *j)
{
    if (j == NULL) {
        return;
    }
    if (j->thread_started) {
        pthread_mutex_lock(&j->lock);
        atomic_store(&j->stop, true);
        pthread_cond_signal(&j->wake);
        pthread_mutex_unlock(&j->lock);
        pthread_join(j->thread, NULL);
    }
    /* Owners cancel their waits before the jwks goes (STYLE.md 3.5). */
    assert(j->live_waits == 0);
    oidc_jwks_set_unref(j->current);
    pthread_cond_destroy(&j->wake);
    pthread_mutex_destroy(&j->lock);
    xfree(j->uri);
    xfree(j);
}

struct oidc_jwks_set *
oidc_jwks_get(struct oidc_jwks *j)
{
    pthread_mutex_lock(&j->lock);
    struct oidc_jwks_set *s = oidc_jwks_set_ref(j->current);
    pthread_mutex_unlock(&j->lock);
    return s;
}

uint64_t
oidc_jwks_refresh_count(struct oidc_jwks *j)
{
    pthread_mutex_lock(&j->lock);
    uint64_t n = j->refresh_count;
    pthread_mutex_unlock(&j->lock);
    return n;
}

/* Runs on the asker's loop once the wait was delivered. */
static void
on_wait_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct oidc_jwks_wait *w = arg;
    struct oidc_jwks *j = w->j;
    pthread_mutex_lock(&j->lock);
    struct oidc_jwks_set *s = w->set;
    w->set = NULL;
    j->live_waits--;
    pthread_mutex_unlock(&j->lock);
    w->cb(w->arg, s);
    oidc_jwks_set_unref(s);
    event_free(w->ev);
    xfree(w);
}

struct oidc_jwks_wait *
oidc_jwks_refresh_start(struct oidc_jwks *j, struct event_base *base, uint64_t seen_generation,
                        oidc_jwks_refreshed_fn cb, void *arg)
{
    struct oidc_jwks_wait *w = xcalloc(1, sizeof(*w));
    w->j = j;
    w->cb = cb;
    w->arg = arg;
    w->ev = event_new(base, -1, 0, on_wait_ready, w);
    if (w->ev == NULL) {
        xfree(w);
        return NULL;
    }
    uint64_t now = clock_mono_ms();
    pthread_mutex_lock(&j->lock);
    if (j->current->generation > seen_generation) {
        /* Someone refreshed since the caller looked: no need to fetch. */
        w->set = oidc_jwks_set_ref(j->current);
        event_active(w->ev, EV_TIMEOUT, 1);
    } else if (!j->refreshing && j->any_refresh && now - j->last_start_ms < j->gap_ms) {
        pthread_mutex_unlock(&j->lock);
        event_free(w->ev);
        xfree(w);
        return NULL;
    } else {
        if (!j->refreshing) {
            j->wanted = true;
            j->refreshing = true;
            j->any_refresh = true;
            j->last_start_ms = now;
            pthread_cond_signal(&j->wake);
        }
        w->queued = true;
        w->next = j->waiters;
        if (j->waiters != NULL) {
            j->waiters->prev = w;
        }
        j->waiters = w;
    }
    j->live_waits++;
    pthread_mutex_unlock(&j->lock);
    return w;
}

void
oidc_jwks_refresh_cancel(struct oidc_jwks_wait *w)
{
    if (w == NULL) {
        return;
    }
    struct oidc_jwks *j = w->j;
    pthread_mutex_lock(&j->lock);
    if (w->queued) {
        if (w->prev != NULL) {
            w->prev->next = w->next;
        } else {
            j->waiters = w->next;
        }
        if (w->next != NULL) {
            w->next->prev = w->prev;
        }
    }
    struct oidc_jwks_set *s = w->set;
    w->set = NULL;
    j->live_waits--;
    pthread_mutex_unlock(&j->lock);
    /* On the owner's loop thread: freeing also removes a delivered but not
     * yet run activation, so on_wait_ready cannot run afterwards. */
    event_free(w->ev);
    oidc_jwks_set_unref(s);
    xfree(w);
}
