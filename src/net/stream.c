#include "net/stream.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "bounds.h"

struct net_stream {
    struct event *ev;       /* the socket, edge-triggered, added once */
    struct event *flush_ev; /* "write the output", active within this loop turn */
    struct event *wtimer;   /* write timeout while the output waits for EPOLLOUT */
    struct event *again_ev; /* read again on the next loop iteration */
    struct evbuffer *in;
    struct evbuffer *out;
    const struct net_stream_ops *ops;
    void *arg;
    int fd;
    size_t low_water;
    uint64_t write_timeout_ms;
    unsigned busy;      /* our callbacks on the stack: free waits for them */
    bool freed;         /* net_stream_free ran: no more callbacks */
    bool dead;          /* an error was reported: no more reads or writes */
    bool paused;        /* the owner wants no input now */
    bool read_missed;   /* readable while paused: read on resume */
    bool rdhup;         /* the peer's FIN is queued (EPOLLRDHUP): read to it */
    bool read_ended;    /* EOF or an error came through recv */
    bool blocked;       /* the last write met EAGAIN: wait for the EPOLLOUT edge */
    bool flush_pending; /* flush_ev is active */
};

/* Reads land here first: an idle connection holds no read buffer, and the
 * copy into the input evbuffer is the size of what arrived. */
static _Thread_local char scratch[BOUNDS_STREAM_READ_SIZE];

static void
release(struct net_stream *s)
{
    event_free(s->ev);
    event_free(s->flush_ev);
    event_free(s->wtimer);
    event_free(s->again_ev);
    evbuffer_free(s->in);
    evbuffer_free(s->out);
    xfree(s);
}

/* Ends a callback: frees the stream if the owner freed it meanwhile.
 * Returns false when the stream is gone or freed (stop touching it). */
static bool
leave(struct net_stream *s)
{
    s->busy--;
    if (s->freed) {
        if (s->busy == 0) {
            release(s);
        }
        return false;
    }
    return true;
}

static void
report(struct net_stream *s, enum net_stream_event ev, int err)
{
    if (!s->freed) {
        s->ops->event(s->arg, ev, err);
    }
}

static void
fail(struct net_stream *s, int err)
{
    s->dead = true;
    s->read_ended = true;
    event_del(s->wtimer);
    report(s, NET_STREAM_ERROR, err);
}

static void
arm_write_timer(struct net_stream *s)
{
    if (s->write_timeout_ms > 0) {
        struct timeval tv = clock_timeval_from_ms(s->write_timeout_ms);
        event_add(s->wtimer, &tv);
    }
}

/* Writes until the output is empty or the socket is full. A writev that
 * sends less than asked is tried again rather than trusted to mean "full"
 * (evbuffer_write sends at most 128 chunks): only EAGAIN waits for the
 * edge, which the kernel raises once space frees up. */
static void
do_write(struct net_stream *s)
{
    if (s->blocked || s->dead) {
        return;
    }
    bool progress = false;
    while (evbuffer_get_length(s->out) > 0) {
        int n = evbuffer_write(s->out, s->fd);
        if (n > 0) {
            progress = true;
            continue;
        }
        int err = n < 0 ? errno : EIO;
        if (err == EINTR) {
            continue;
        }
        if (err == EAGAIN || err == EWOULDBLOCK) {
            s->blocked = true;
            break;
        }
        fail(s, err);
        return;
    }
    if (s->blocked) {
        if (progress || !event_pending(s->wtimer, EV_TIMEOUT, NULL)) {
            arm_write_timer(s);
        }
    } else {
        event_del(s->wtimer);
    }
    if (progress && s->ops->written != NULL && evbuffer_get_length(s->out) <= s->low_water) {
        s->ops->written(s->arg);
    }
}

/* The edge will not come twice: after a full read (more may wait) or
 * with the peer's FIN queued behind the data, read again -- on the next
 * loop iteration, as a bufferevent would, so one busy peer neither starves
 * the others nor piles its input up within one pass. */
static void
read_again(struct net_stream *s)
{
    static const struct timeval now = {0, 0};
    event_add(s->again_ev, &now);
}

/* One recv. */
static void
do_read(struct net_stream *s)
{
    if (s->read_ended) {
        return;
    }
    if (s->paused) {
        s->read_missed = true;
        return;
    }
    ssize_t n = recv(s->fd, scratch, sizeof(scratch), 0);
    if (n > 0) {
        if (evbuffer_add(s->in, scratch, (size_t)n) != 0) {
            abort(); /* allocation only */
        }
        if ((size_t)n == sizeof(scratch) || s->rdhup) {
            read_again(s);
        }
        s->ops->readable(s->arg);
        return;
    }
    if (n == 0) {
        s->read_ended = true;
        report(s, NET_STREAM_EOF, 0);
        return;
    }
    if (errno == EINTR) {
        read_again(s);
        return;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
        fail(s, errno);
    }
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct net_stream *s = arg;
    s->busy++;
    if ((what & EV_CLOSED) != 0) {
        s->rdhup = true;
    }
    if ((what & EV_WRITE) != 0 && s->blocked) {
        s->blocked = false;
        do_write(s);
    }
    if (!s->freed && (what & (EV_READ | EV_CLOSED)) != 0) {
        do_read(s);
    }
    (void)leave(s);
}

static void
on_read_again(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct net_stream *s = arg;
    s->busy++;
    do_read(s);
    (void)leave(s);
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct net_stream *s = arg;
    s->busy++;
    s->flush_pending = false;
    do_write(s);
    (void)leave(s);
}

static void
on_write_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct net_stream *s = arg;
    s->busy++;
    report(s, NET_STREAM_WRITE_TIMEOUT, ETIMEDOUT);
    (void)leave(s);
}

/* Bytes were added to the output: write them once the current callback
 * returns (one writev for everything produced in it). */
static void
on_output(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
    (void)b;
    struct net_stream *s = arg;
    if (info->n_added > 0 && !s->flush_pending && !s->blocked && !s->freed) {
        s->flush_pending = true;
        event_active(s->flush_ev, EV_TIMEOUT, 0);
    }
}

struct net_stream *
net_stream_new(struct event_base *base, int fd, const struct net_stream_ops *ops, void *arg,
               size_t low_water)
{
    struct net_stream *s = xcalloc(1, sizeof(*s));
    s->fd = fd;
    s->ops = ops;
    s->arg = arg;
    s->low_water = low_water;
    s->in = evbuffer_new();
    s->out = evbuffer_new();
    s->ev = event_new(base, fd, EV_READ | EV_WRITE | EV_CLOSED | EV_ET | EV_PERSIST, on_socket, s);
    s->flush_ev = event_new(base, -1, 0, on_flush, s);
    s->wtimer = evtimer_new(base, on_write_timeout, s);
    s->again_ev = evtimer_new(base, on_read_again, s);
    if (s->in == NULL || s->out == NULL || s->ev == NULL || s->flush_ev == NULL ||
        s->wtimer == NULL || s->again_ev == NULL || evbuffer_add_cb(s->out, on_output, s) == NULL ||
        event_add(s->ev, NULL) != 0) {
        abort(); /* allocation only (epoll_ctl ADD of a fresh socket does not fail otherwise) */
    }
    return s;
}

void
net_stream_free(struct net_stream *s)
{
    if (s == NULL || s->freed) {
        return;
    }
    s->freed = true;
    event_del(s->ev);
    event_del(s->flush_ev);
    event_del(s->wtimer);
    event_del(s->again_ev);
    evutil_closesocket(s->fd);
    s->fd = -1;
    if (s->busy == 0) {
        release(s);
    }
}

int
net_stream_fd(const struct net_stream *s)
{
    return s->fd;
}

struct evbuffer *
net_stream_input(const struct net_stream *s)
{
    return s->in;
}

struct evbuffer *
net_stream_output(const struct net_stream *s)
{
    return s->out;
}

void
net_stream_set_write_timeout(struct net_stream *s, uint64_t ms)
{
    s->write_timeout_ms = ms;
}

void
net_stream_pause(struct net_stream *s)
{
    s->paused = true;
}

void
net_stream_resume(struct net_stream *s)
{
    s->paused = false;
    if (s->read_missed) {
        s->read_missed = false;
        read_again(s);
    }
}
