#include "fetch.h"

#include <assert.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "base/strtab.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "worker.h"

/* How often fetch_blocking looks at its stop flag. */
#define FETCH_STOP_POLL_MS 100

struct fetch {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;        /* curl's single timeout (TIMERFUNCTION) */
    struct fetch_request *head; /* in-flight requests, for fetch_free */
    size_t pending;
    unsigned in_callback; /* > 0 while a done callback runs */
};

struct fetch_request {
    struct fetch *f;
    CURL *easy;
    struct curl_slist *headers;
    fetch_done_fn cb;
    void *arg;
    struct buf body; /* capped at max_response_bytes */
    bool too_large;  /* the write callback refused bytes */
    fetch_addr_check_fn check_addr;
    void *check_arg;
    bool addr_refused; /* check_addr said no at least once */
    char errbuf[CURL_ERROR_SIZE];
    struct fetch_request *prev;
    struct fetch_request *next;
};

/* One per socket curl asks us to watch (SOCKETFUNCTION). */
struct fetch_socket {
    struct fetch *f;
    struct event *ev;
};

static const char *const rc_names[FETCH_RC_COUNT] = {
    [FETCH_OK] = "ok",
    [FETCH_ERR_TIMEOUT] = "timeout",
    [FETCH_ERR_CONNECT] = "connect",
    [FETCH_ERR_TLS] = "tls",
    [FETCH_ERR_TOO_LARGE] = "too_large",
    [FETCH_ERR_BAD_URL] = "bad_url",
    [FETCH_ERR_NETWORK] = "network",
    [FETCH_ERR_STOPPED] = "stopped",
    [FETCH_ERR_INTERNAL] = "internal",
    [FETCH_ERR_ADDRESS] = "address_refused",
};

const char *
fetch_rc_str(enum fetch_rc rc)
{
    return strtab_name(rc_names, FETCH_RC_COUNT, rc, "unknown");
}

void
fetch_response_cleanup(struct fetch_response *r)
{
    buf_cleanup(&r->body);
    xfree(r->content_type);
    r->content_type = NULL;
    xfree(r->cache_control);
    r->cache_control = NULL;
    xfree(r->expires);
    r->expires = NULL;
    xfree(r->detail);
    r->detail = NULL;
    r->status = 0;
}

/* curl_global_init is not guaranteed thread-safe on every build; running it
 * once, before the first multi handle, makes that moot. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void __attribute__((noreturn)) fatal(const char *what)
{
    /* Only out-of-memory or a broken TLS library gets here (STYLE.md 3.5). */
    fprintf(stderr, "fatal: %s\n", what);
    abort();
}

static void
global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fatal("curl_global_init failed");
    }
}

static void check_done(struct fetch *f);

static void
on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct fetch_socket *s = arg;
    struct fetch *f = s->f;
    int action = 0;
    if (what & EV_READ) {
        action |= CURL_CSELECT_IN;
    }
    if (what & EV_WRITE) {
        action |= CURL_CSELECT_OUT;
    }
    int running = 0;
    /* s may be freed inside this call (CURL_POLL_REMOVE); only f is used
     * afterwards. */
    (void)curl_multi_socket_action(f->multi, fd, action, &running);
    check_done(f);
}

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    struct fetch *f = userp;
    struct fetch_socket *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            event_free(s->ev);
            xfree(s);
        }
        return 0;
    }
    short kind = EV_PERSIST;
    if (what & CURL_POLL_IN) {
        kind |= EV_READ;
    }
    if (what & CURL_POLL_OUT) {
        kind |= EV_WRITE;
    }
    if (s == NULL) {
        s = xcalloc(1, sizeof(*s));
        s->f = f;
        s->ev = event_new(f->base, fd, kind, on_socket_event, s);
        if (s->ev == NULL) {
            xfree(s);
            return -1;
        }
        curl_multi_assign(f->multi, fd, s);
    } else {
        event_del(s->ev);
        event_assign(s->ev, f->base, fd, kind, on_socket_event, s);
    }
    return event_add(s->ev, NULL) == 0 ? 0 : -1;
}

static void
on_timer_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct fetch *f = arg;
    int running = 0;
    (void)curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(f);
}

/* curl asks for one timer: -1 deletes it, 0 means "as soon as possible"
 * (the next loop turn; never call back into curl from here). */
static int
on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct fetch *f = userp;
    if (timeout_ms < 0) {
        evtimer_del(f->timer);
        return 0;
    }
    struct timeval tv = clock_timeval_from_ms((uint64_t)timeout_ms);
    return evtimer_add(f->timer, &tv) == 0 ? 0 : -1;
}

struct fetch *
fetch_new(struct event_base *base)
{
    pthread_once(&global_once, global_init);
    struct fetch *f = xcalloc(1, sizeof(*f));
    f->base = base;
    f->multi = curl_multi_init();
    f->timer = evtimer_new(base, on_timer_event, f);
    if (f->multi == NULL || f->timer == NULL) {
        fatal("cannot create the curl multi handle or its timer");
    }
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
    return f;
}

static void
unlink_request(struct fetch_request *req)
{
    struct fetch *f = req->f;
    if (req->prev != NULL) {
        req->prev->next = req->next;
    } else {
        f->head = req->next;
    }
    if (req->next != NULL) {
        req->next->prev = req->prev;
    }
    f->pending--;
    /* Removing the easy handle also drops any completion message curl still
     * queues for it, so a cancelled request is never reported. */
    curl_multi_remove_handle(f->multi, req->easy);
    curl_easy_cleanup(req->easy);
    curl_slist_free_all(req->headers);
    req->easy = NULL;
    req->headers = NULL;
}

static void
free_request(struct fetch_request *req)
{
    buf_cleanup(&req->body);
    xfree(req);
}

void
fetch_cancel(struct fetch_request *req)
{
    if (req == NULL) {
        return;
    }
    unlink_request(req);
    free_request(req);
}

void
fetch_free(struct fetch *f)
{
    if (f == NULL) {
        return;
    }
    assert(f->in_callback == 0);
    while (f->head != NULL) {
        fetch_cancel(f->head);
    }
    /* Cleaning the multi handle closes its cached connections, which calls
     * on_socket(REMOVE) for each: the events go before the timer does. */
    curl_multi_cleanup(f->multi);
    if (f->timer != NULL) {
        event_free(f->timer);
    }
    xfree(f);
}

size_t
fetch_pending(const struct fetch *f)
{
    return f->pending;
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    struct fetch_request *req = userp;
    size_t n = size * nmemb;
    if (buf_append(&req->body, data, n) != 0) {
        /* Returning less than n aborts the transfer (CURLE_WRITE_ERROR). */
        req->too_large = true;
        return 0;
    }
    return n;
}

/* CURLOPT_OPENSOCKETFUNCTION: every socket curl connects passes here
 * with the address it will connect to; a refused one fails that attempt
 * (curl tries its next address, then reports COULDNT_CONNECT). */
static curl_socket_t
on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct fetch_request *req = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN || !req->check_addr(req->check_arg, &addr->addr)) {
        req->addr_refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* The one header value named, or NULL (curl >= 7.84's header API). */
static char *
header_copy(CURL *e, const char *name)
{
    struct curl_header *h = NULL;
    if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == NULL) {
        return NULL;
    }
    return xstrdup(h->value);
}

static enum fetch_rc
map_curl_error(CURLcode res, bool too_large, bool addr_refused)
{
    if (too_large) {
        return FETCH_ERR_TOO_LARGE;
    }
    if (addr_refused && res == CURLE_COULDNT_CONNECT) {
        return FETCH_ERR_ADDRESS;
    }
    switch (res) {
    case CURLE_OK:
        return FETCH_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return FETCH_ERR_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PROXY:
        return FETCH_ERR_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return FETCH_ERR_TLS;
    case CURLE_FILESIZE_EXCEEDED:
        return FETCH_ERR_TOO_LARGE;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return FETCH_ERR_BAD_URL;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
        return FETCH_ERR_NETWORK;
    default:
        return FETCH_ERR_INTERNAL;
    }
}

/* Builds the response, unlinks the request, then calls back: the request
 * is already gone from the multi handle, so the callback may start new
 * requests or cancel others. */
static void
finish(struct fetch_request *req, CURLcode res)
{
    struct fetch *f = req->f;
    struct fetch_response resp = {0};
    resp.rc = map_curl_error(res, req->too_large, req->addr_refused);
    if (resp.rc == FETCH_OK) {
        long status = 0;
        char *ct = NULL;
        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(req->easy, CURLINFO_CONTENT_TYPE, &ct);
        resp.status = status;
        resp.content_type = ct != NULL ? xstrdup(ct) : NULL;
        resp.cache_control = header_copy(req->easy, "Cache-Control");
        resp.expires = header_copy(req->easy, "Expires");
        resp.body = req->body;
        buf_init(&req->body, 0);
    } else {
        const char *why = req->errbuf[0] != '\0' ? req->errbuf : curl_easy_strerror(res);
        resp.detail = req->too_large ? xstrdup("response body passed the size cap")
                      : resp.rc == FETCH_ERR_ADDRESS
                          ? xstrdup("every address of the host was refused")
                          : xstrdup(why);
        buf_init(&resp.body, 0);
    }
    unlink_request(req);
    f->in_callback++;
    req->cb(req->arg, &resp);
    f->in_callback--;
    fetch_response_cleanup(&resp);
    free_request(req);
}

static void
check_done(struct fetch *f)
{
    CURLMsg *msg;
    int left = 0;
    /* One message at a time: a callback may cancel another finished
     * request, which removes that request's message from curl's queue. */
    while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        struct fetch_request *req = NULL;
        CURLcode res = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
        finish(req, res);
    }
}

static bool
configure(struct fetch_request *req, const struct fetch_options *opt, size_t cap)
{
    CURL *e = req->easy;
    bool ok = true;
    /* Every setopt below either succeeds or reports out-of-memory / an
     * unsupported option; any failure makes the request unusable. */
    ok = ok && curl_easy_setopt(e, CURLOPT_URL, opt->url) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
                                opt->https_only ? "https" : "http,https") == CURLE_OK;
    /* Control-plane answers are taken as they are: a redirect from an IdP
     * endpoint is a misconfiguration, not something to chase. */
    ok = ok && curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)opt->timeout_ms) == CURLE_OK;
    uint64_t connect_ms = opt->connect_timeout_ms != 0 && opt->connect_timeout_ms < opt->timeout_ms
                              ? opt->connect_timeout_ms
                              : opt->timeout_ms;
    ok = ok && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms) == CURLE_OK;
    if (opt->ca_file != NULL && opt->ca_file[0] != '\0') {
        ok = ok && curl_easy_setopt(e, CURLOPT_CAINFO, opt->ca_file) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_CAPATH, NULL) == CURLE_OK;
    }
    if (opt->check_addr != NULL) {
        req->check_addr = opt->check_addr;
        req->check_arg = opt->check_arg;
        ok = ok && curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, req) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_NOPROXY, "*") == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK;
    }
    ok = ok && curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_USERAGENT, "mcp-auth-proxy/" MAP_VERSION) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEDATA, req) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_PRIVATE, req) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf) == CURLE_OK;
    if (opt->method == FETCH_POST) {
        /* The size first: COPYPOSTFIELDS copies exactly that many bytes. */
        ok = ok && curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)opt->body_len) ==
                       CURLE_OK;
        ok = ok && curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS,
                                    opt->body != NULL ? opt->body : "") == CURLE_OK;
    }
    for (const char *const *h = opt->headers; ok && h != NULL && *h != NULL; h++) {
        struct curl_slist *grown = curl_slist_append(req->headers, *h);
        if (grown == NULL) {
            ok = false;
            break;
        }
        req->headers = grown;
    }
    if (ok && req->headers != NULL) {
        ok = curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers) == CURLE_OK;
    }
    return ok;
}

struct fetch_request *
fetch_start(struct fetch *f, const struct fetch_options *opt, fetch_done_fn cb, void *arg)
{
    if (opt->url == NULL || opt->timeout_ms == 0 || cb == NULL) {
        return NULL;
    }
    size_t cap =
        opt->max_response_bytes ? opt->max_response_bytes : (size_t)BOUNDS_FETCH_RESPONSE_MAX;
    struct fetch_request *req = xcalloc(1, sizeof(*req));
    req->f = f;
    req->cb = cb;
    req->arg = arg;
    buf_init(&req->body, cap);
    req->easy = curl_easy_init();
    if (req->easy == NULL || !configure(req, opt, cap) ||
        curl_multi_add_handle(f->multi, req->easy) != CURLM_OK) {
        curl_easy_cleanup(req->easy);
        curl_slist_free_all(req->headers);
        free_request(req);
        return NULL;
    }
    req->next = f->head;
    if (f->head != NULL) {
        f->head->prev = req;
    }
    f->head = req;
    f->pending++;
    return req;
}

/* fetch_blocking: one request on a private loop. */
struct blocking {
    struct event_base *base;
    struct fetch_response *out;
    struct fetch_request *req;
    const atomic_bool *stop;
    bool done;
};

static void
on_blocking_done(void *arg, struct fetch_response *resp)
{
    struct blocking *b = arg;
    *b->out = *resp;
    /* Ownership moved to *out: leave resp empty for the fetch's cleanup. */
    memset(resp, 0, sizeof(*resp));
    buf_init(&resp->body, 0);
    b->req = NULL;
    b->done = true;
}

static void
on_stop_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct blocking *b = arg;
    if (b->stop != NULL && atomic_load(b->stop) && !b->done) {
        fetch_cancel(b->req);
        b->req = NULL;
        b->out->rc = FETCH_ERR_STOPPED;
        b->out->detail = xstrdup("stopped by signal");
        b->done = true;
    }
}

enum fetch_rc
fetch_blocking(const struct fetch_options *opt, const atomic_bool *stop, struct fetch_response *out)
{
    memset(out, 0, sizeof(*out));
    buf_init(&out->body, 0);
    struct event_base *base = event_base_new();
    if (base == NULL) {
        fatal("cannot create an event base");
    }
    struct fetch *f = fetch_new(base);
    struct blocking b = {.base = base, .out = out, .stop = stop};
    struct event *poll = event_new(base, -1, EV_PERSIST, on_stop_poll, &b);
    struct timeval every = clock_timeval_from_ms(FETCH_STOP_POLL_MS);
    event_add(poll, &every);
    b.req = fetch_start(f, opt, on_blocking_done, &b);
    if (b.req == NULL) {
        out->rc = FETCH_ERR_BAD_URL;
        out->detail = xstrdup("request could not be set up");
        b.done = true;
    }
    while (!b.done) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    event_free(poll);
    fetch_free(f);
    event_base_free(base);
    return out->rc;
}

static void
close_slot(void *handle)
{
    fetch_free(handle);
}

void
fetch_attach_worker(struct worker *w)
{
    worker_slot_set(w, WORKER_SLOT_FETCH, fetch_new(w->base), close_slot);
}

struct fetch *
fetch_of_worker(const struct worker *w)
{
    return worker_slot_get(w, WORKER_SLOT_FETCH);
}
