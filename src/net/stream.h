/* net/stream: a plaintext, non-blocking socket on a libevent loop with an
 * input and an output evbuffer -- what a libevent bufferevent does, in
 * fewer system calls (docs/internals/net.md "Plain streams"):
 *
 *   - one edge-triggered event (EV_READ|EV_WRITE|EV_CLOSED|EV_ET) is
 *     registered with epoll once, for the socket's life: no epoll_ctl to
 *     arm and disarm EPOLLOUT around every write;
 *   - bytes added to the output are written (writev) from the loop in the
 *     same turn, once the current callback returns, so a response head and
 *     body produced by many evbuffer_add calls leave in one system call;
 *     the edge for EPOLLOUT is waited for only after EAGAIN;
 *   - reads are a fixed-size recv into a per-thread scratch buffer (no
 *     ioctl(FIONREAD) before each read, no 16 KiB chunk held by an idle
 *     connection); a short read means the socket is drained.
 *
 * Callbacks reach the owner from the loop, never from inside a call the
 * owner makes. After net_stream_free() no callback runs. Used on its
 * loop's thread only. TLS sockets keep the OpenSSL bufferevent. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;

enum net_stream_event {
    NET_STREAM_EOF = 0,       /* the peer shut its write side; reading stopped */
    NET_STREAM_ERROR,         /* recv or send failed: err says why; the stream is dead */
    NET_STREAM_WRITE_TIMEOUT, /* output waited write_timeout with no progress */
};

struct net_stream_ops {
    /* Bytes were appended to the input. */
    void (*readable)(void *arg);
    /* A write made progress and the output is now at or below the low
     * water mark (net_stream_new's low_water). May be NULL. */
    void (*written)(void *arg);
    /* EOF, an error (err: the errno), or the write timeout. */
    void (*event)(void *arg, enum net_stream_event ev, int err);
};

struct net_stream;

/* Takes fd, a connected non-blocking socket (closed by net_stream_free).
 * Reading starts at once. */
struct net_stream *net_stream_new(struct event_base *base, int fd, const struct net_stream_ops *ops,
                                  void *arg, size_t low_water);
/* Closes the socket; no callback runs afterwards. NULL is a no-op. */
void net_stream_free(struct net_stream *s);

int net_stream_fd(const struct net_stream *s);
/* Borrowed, for the stream's life. Bytes added to the output are sent
 * from the loop in the current turn. */
struct evbuffer *net_stream_input(const struct net_stream *s);
struct evbuffer *net_stream_output(const struct net_stream *s);

/* 0: none. Counts while output waits for the socket (after EAGAIN); each
 * write that makes progress restarts it. */
void net_stream_set_write_timeout(struct net_stream *s, uint64_t ms);
/* Back-pressure: stop / restart reading (a pause does not touch epoll). */
void net_stream_pause(struct net_stream *s);
void net_stream_resume(struct net_stream *s);
