/* Host-name resolution off the loop (see resolve.h). */
#include "store/resolve.h"

#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "store/store_int.h"

#define RESOLVE_HOST_MAX 256

struct store_resolve {
    atomic_int refs;          /* the thread and the caller */
    int pipe_r, pipe_w;
    struct event *ev;         /* the caller's side only */
    store_resolve_fn cb;
    void *arg;
    char host[RESOLVE_HOST_MAX];
    char port[8];
    int gai_error;            /* written by the thread before its pipe write */
    struct sockaddr_storage addr;
    socklen_t addr_len;
};

static void
unref(struct store_resolve *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 1) {
        close(r->pipe_r);
        close(r->pipe_w);
        xfree(r);
    }
}

static void *
resolve_thread(void *arg)
{
    struct store_resolve *r = arg;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_ADDRCONFIG;
    r->gai_error = getaddrinfo(r->host, r->port, &hints, &res);
    if (r->gai_error == 0) {
        if (res != NULL && res->ai_addrlen <= sizeof(r->addr)) {
            memcpy(&r->addr, res->ai_addr, res->ai_addrlen);
            r->addr_len = res->ai_addrlen;
        } else {
            r->gai_error = EAI_NONAME;
        }
    }
    if (res != NULL) {
        freeaddrinfo(res);
    }
    /* The pipe write publishes the answer to the loop's thread (a system
     * call orders the writes above before it). */
    char done = 1;
    (void)!write(r->pipe_w, &done, 1);
    unref(r);
    return NULL;
}

static void
on_answer(evutil_socket_t fd, short what, void *arg)
{
    struct store_resolve *r = arg;
    char byte;
    (void)what;
    if (read(fd, &byte, 1) != 1) {
        return; /* spurious wake-up: the event stays armed */
    }
    event_free(r->ev);
    r->ev = NULL;
    int err = r->gai_error;
    struct sockaddr_storage addr = r->addr;
    socklen_t len = r->addr_len;
    store_resolve_fn cb = r->cb;
    void *cb_arg = r->arg;
    unref(r);
    cb(err, err == 0 ? (const struct sockaddr *)&addr : NULL, err == 0 ? len : 0, cb_arg);
}

struct store_resolve *
store_resolve_start(struct event_base *base, const char *host, unsigned port,
                    store_resolve_fn cb, void *arg)
{
    int fds[2];
    if (strlen(host) >= RESOLVE_HOST_MAX || pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        return NULL;
    }
    struct store_resolve *r = xcalloc(1, sizeof(*r));
    r->pipe_r = fds[0];
    r->pipe_w = fds[1];
    r->cb = cb;
    r->arg = arg;
    snprintf(r->host, sizeof(r->host), "%s", host);
    snprintf(r->port, sizeof(r->port), "%u", port);
    atomic_init(&r->refs, 2);
    r->ev = store_must(event_new(base, r->pipe_r, EV_READ | EV_PERSIST, on_answer, r),
                       "event_new");
    event_add(r->ev, NULL);
    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&tid, &attr, resolve_thread, r);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        atomic_fetch_sub(&r->refs, 1); /* the thread that never started */
        store_resolve_cancel(r);
        return NULL;
    }
    return r;
}

void
store_resolve_cancel(struct store_resolve *r)
{
    if (r == NULL) {
        return;
    }
    event_free(r->ev);
    r->ev = NULL;
    unref(r);
}
