/* net/stream over real TCP on 127.0.0.1: output produced in many pieces
 * leaves in the loop turn it was produced in; a slow reader gets every
 * byte (the write waits for EPOLLOUT after EAGAIN and resumes); a FIN
 * right behind the data is seen although the edge came once; a paused
 * stream reads what arrived meanwhile on resume; a reader that stops is
 * cut by the write timeout; the owner may free the stream from inside its
 * callback. Every wait is bounded in loop passes, never timed tightly. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bounds.h"
#include "net/stream.h"

struct seen {
    struct net_stream *s;
    int readable;
    int written;
    int eof;
    int errors;
    int timeouts;
    bool free_on_read;
};

static void
on_readable(void *arg)
{
    struct seen *g = arg;
    g->readable++;
    if (g->free_on_read) {
        net_stream_free(g->s);
        g->s = NULL;
    }
}

static void
on_written(void *arg)
{
    struct seen *g = arg;
    g->written++;
}

static void
on_event(void *arg, enum net_stream_event ev, int err)
{
    (void)err;
    struct seen *g = arg;
    if (ev == NET_STREAM_EOF) {
        g->eof++;
    } else if (ev == NET_STREAM_ERROR) {
        g->errors++;
    } else {
        g->timeouts++;
    }
}

static const struct net_stream_ops ops = {
    .readable = on_readable,
    .written = on_written,
    .event = on_event,
};

/* A connected TCP pair on 127.0.0.1: *ours (non-blocking, for the
 * stream) and *peer (blocking, the test's end). */
static void
tcp_pair(int *ours, int *peer)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(l >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    *peer = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(*peer, (struct sockaddr *)&a, sizeof(a)), 0);
    *ours = accept(l, NULL, NULL);
    assert_true(*ours >= 0);
    close(l);
    assert_int_equal(fcntl(*ours, F_SETFL, fcntl(*ours, F_GETFL) | O_NONBLOCK), 0);
}

static void
pass(struct event_base *base)
{
    event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Reads what is there without blocking; returns the count (0: none). */
static size_t
peer_read(int fd, char *into, size_t cap)
{
    ssize_t n = recv(fd, into, cap, MSG_DONTWAIT);
    return n > 0 ? (size_t)n : 0;
}

static void
test_output_leaves_in_the_turn_it_is_produced(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    int fd, peer;
    tcp_pair(&fd, &peer);
    struct seen g = {0};
    g.s = net_stream_new(base, fd, &ops, &g, 0);
    struct evbuffer *out = net_stream_output(g.s);
    /* A head built from many small adds, like http/output.c's. */
    for (int i = 0; i < 30; i++) {
        evbuffer_add_printf(out, "X-H-%02d: v\r\n", i);
    }
    assert_int_equal(evbuffer_get_length(out), 30 * 11);
    pass(base);
    assert_int_equal(evbuffer_get_length(out), 0); /* sent within one pass */
    assert_int_equal(g.written, 1);
    char got[1024];
    size_t n = 0;
    for (int i = 0; i < 1000 && n < 30 * 11; i++) {
        n += peer_read(peer, got + n, sizeof(got) - n);
    }
    assert_int_equal(n, 30 * 11);
    assert_memory_equal(got, "X-H-00: v\r\nX-H-01: v\r\n", 22);
    net_stream_free(g.s);
    close(peer);
    event_base_free(base);
}

/* 512 KiB through small socket buffers to a reader taking 8 KiB at a time:
 * the stream meets EAGAIN again and again, waits for the edge, and every
 * byte arrives in order. The producer pauses above a high mark and goes
 * on from the written callback, like the proxy's back-pressure. */
struct producer {
    struct seen g;
    size_t left;
    uint32_t next; /* the byte pattern's counter */
};

static void
produce(struct producer *p)
{
    struct evbuffer *out = net_stream_output(p->g.s);
    while (p->left > 0 && evbuffer_get_length(out) < 64 * 1024) {
        unsigned char block[4096];
        size_t n = p->left < sizeof(block) ? p->left : sizeof(block);
        for (size_t i = 0; i < n; i++) {
            block[i] = (unsigned char)(p->next++ * 7u);
        }
        evbuffer_add(out, block, n);
        p->left -= n;
    }
}

static void
on_producer_written(void *arg)
{
    struct producer *p = arg;
    p->g.written++;
    produce(p);
}

static void
on_producer_readable(void *arg)
{
    (void)arg;
}

static void
on_producer_event(void *arg, enum net_stream_event ev, int err)
{
    on_event(&((struct producer *)arg)->g, ev, err);
}

static const struct net_stream_ops producer_ops = {
    .readable = on_producer_readable,
    .written = on_producer_written,
    .event = on_producer_event,
};

static void
test_slow_reader_gets_every_byte(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    int fd, peer;
    tcp_pair(&fd, &peer);
    int small = 4096;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    assert_int_equal(setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    enum { TOTAL = 128 * 1024 }; /* many times both 4 KiB buffers */
    struct producer p = {.left = TOTAL};
    p.g.s = net_stream_new(base, fd, &producer_ops, &p, 16 * 1024);
    produce(&p);
    size_t got = 0;
    uint32_t expect = 0;
    bool waited = false;
    /* Bounded in time, not in turns: with 4 KiB buffers the kernel's own
     * timers (delayed ACKs, window probes) pace the transfer, so a turn
     * that moves nothing waits briefly for the peer instead of spinning. */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (now = t0; got < TOTAL && now.tv_sec - t0.tv_sec < 60;
         clock_gettime(CLOCK_MONOTONIC, &now)) {
        pass(base);
        if (evbuffer_get_length(net_stream_output(p.g.s)) > 0) {
            waited = true; /* output queued across passes: the socket was full */
        }
        unsigned char buf[8192];
        size_t n = peer_read(peer, (char *)buf, sizeof(buf));
        if (n == 0) {
            struct pollfd pfd = {.fd = peer, .events = POLLIN};
            (void)poll(&pfd, 1, 5);
        }
        for (size_t k = 0; k < n; k++) {
            if (buf[k] != (unsigned char)(expect++ * 7u)) {
                fail_msg("byte %zu differs", got + k);
            }
        }
        got += n;
    }
    assert_int_equal(got, TOTAL);
    assert_true(waited);
    assert_true(p.g.written > 1);
    assert_int_equal(p.g.errors + p.g.timeouts, 0);
    net_stream_free(p.g.s);
    close(peer);
    event_base_free(base);
}

static void
test_fin_right_behind_the_data_is_seen(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    int fd, peer;
    tcp_pair(&fd, &peer);
    struct seen g = {0};
    g.s = net_stream_new(base, fd, &ops, &g, 0);
    assert_int_equal(send(peer, "last words", 10, 0), 10);
    assert_int_equal(shutdown(peer, SHUT_WR), 0);
    for (int i = 0; i < 100000 && g.eof == 0; i++) {
        pass(base);
    }
    assert_int_equal(g.eof, 1);
    assert_true(g.readable >= 1);
    assert_int_equal(evbuffer_get_length(net_stream_input(g.s)), 10);
    /* Reading stopped at the EOF; writing still works (half-close). */
    evbuffer_add(net_stream_output(g.s), "reply", 5);
    pass(base);
    char got[8];
    size_t n = 0;
    for (int i = 0; i < 100000 && n < 5; i++) {
        n += peer_read(peer, got + n, sizeof(got) - n);
    }
    assert_int_equal(n, 5);
    assert_int_equal(g.eof, 1);
    net_stream_free(g.s);
    close(peer);
    event_base_free(base);
}

/* More than one read's worth arrives at once: a full read reads again. */
static void
test_large_input_is_read_whole(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    int fd, peer;
    tcp_pair(&fd, &peer);
    struct seen g = {0};
    g.s = net_stream_new(base, fd, &ops, &g, 0);
    enum { TOTAL = 5 * BOUNDS_STREAM_READ_SIZE + 123 };
    static char data[TOTAL];
    memset(data, 'a', sizeof(data));
    size_t sent = 0;
    struct evbuffer *in = net_stream_input(g.s);
    for (int i = 0; i < 1000000 && evbuffer_get_length(in) < TOTAL; i++) {
        if (sent < TOTAL) {
            ssize_t n = send(peer, data + sent, TOTAL - sent, MSG_DONTWAIT);
            if (n > 0) {
                sent += (size_t)n;
            }
        }
        pass(base);
    }
    assert_int_equal(evbuffer_get_length(in), TOTAL);
    assert_true(g.readable >= 6);
    net_stream_free(g.s);
    close(peer);
    event_base_free(base);
}

static void
test_paused_stream_reads_on_resume(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    int fd, peer;
    tcp_pair(&fd, &peer);
    struct seen g = {0};
    g.s = net_stream_new(base, fd, &ops, &g, 0);
    net_stream_pause(g.s);
    assert_int_equal(send(peer, "held", 4, 0), 4);
    for (int i = 0; i < 1000; i++) {
        pass(base);
    }
    assert_int_equal(g.readable, 0); /* the edge came while paused */
    net_stream_resume(g.s);
    for (int i = 0; i < 100000 && g.readable == 0; i++) {
        pass(base);
    }
    assert_int_equal(g.readable, 1);
    assert_int_equal(evbuffer_get_length(net_stream_input(g.s)), 4);
    net_stream_free(g.s);
    close(peer);
    event_base_free(base);
}

static void
test_reader_that_stops_hits_the_write_timeout(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    int fd, peer;
    tcp_pair(&fd, &peer);
    struct seen g = {0};
    g.s = net_stream_new(base, fd, &ops, &g, 0);
    net_stream_set_write_timeout(g.s, 100);
    int small = 4096;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    assert_int_equal(setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    static char big[1024 * 1024];
    evbuffer_add(net_stream_output(g.s), big, sizeof(big)); /* more than the sockets hold */
    /* Bounded: the loop blocks until the timer fires, 100 passes at most. */
    for (int i = 0; i < 100 && g.timeouts == 0; i++) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    assert_int_equal(g.timeouts, 1);
    assert_true(evbuffer_get_length(net_stream_output(g.s)) > 0);
    net_stream_free(g.s);
    close(peer);
    event_base_free(base);
}

static void
test_free_from_inside_the_callback(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    int fd, peer;
    tcp_pair(&fd, &peer);
    struct seen g = {.free_on_read = true};
    g.s = net_stream_new(base, fd, &ops, &g, 0);
    assert_int_equal(send(peer, "bye", 3, 0), 3);
    assert_int_equal(shutdown(peer, SHUT_WR), 0); /* a FIN queued: a read again is due */
    for (int i = 0; i < 100000 && g.readable == 0; i++) {
        pass(base);
    }
    assert_int_equal(g.readable, 1);
    assert_null(g.s);
    for (int i = 0; i < 100; i++) {
        pass(base); /* nothing fires after the free (ASan would say) */
    }
    assert_int_equal(g.eof, 0);
    char c;
    assert_int_equal(recv(peer, &c, 1, 0), 0); /* our side was closed */
    close(peer);
    event_base_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_leaves_in_the_turn_it_is_produced),
        cmocka_unit_test(test_slow_reader_gets_every_byte),
        cmocka_unit_test(test_fin_right_behind_the_data_is_seen),
        cmocka_unit_test(test_large_input_is_read_whole),
        cmocka_unit_test(test_paused_stream_reads_on_resume),
        cmocka_unit_test(test_reader_that_stops_hits_the_write_timeout),
        cmocka_unit_test(test_free_from_inside_the_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
