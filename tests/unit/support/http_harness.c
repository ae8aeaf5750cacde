#include "http_harness.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "http/server.h"
#include "worker.h"

void
harness_init(struct harness *h, const struct http_router *r, const struct harness_opts *opts)
{
    struct harness_opts o = {.is_public = true};
    if (opts != NULL) {
        o = *opts;
    }
    /* As in runtime_run: a write to a vanished client is EPIPE, not death. */
    signal(SIGPIPE, SIG_IGN);
    h->w = worker_new(0);
    if (h->w == NULL) {
        abort();
    }
    struct http_server_opts so = {
        .router = r,
        .is_public = o.is_public,
        .head_timeout_ms = o.head_timeout_ms ? o.head_timeout_ms : 10000,
        .body_timeout_ms = o.body_timeout_ms ? o.body_timeout_ms : 30000,
        .idle_timeout_ms = o.idle_timeout_ms ? o.idle_timeout_ms : 120000,
        .write_timeout_ms = o.write_timeout_ms,
        .conn_budget = o.conn_budget,
        .trusted_peers = o.trusted_peers,
        .trusted_peer_count = o.trusted_peer_count,
        .body_budget = o.body_budget,
        .client_key = o.client_key,
        .client_key_arg = o.client_key_arg,
        .access_log_skip = o.access_log_skip,
        .access_log_skip_arg = o.access_log_skip_arg,
    };
    h->srv = http_server_new(h->w, &so);
}

void
harness_cleanup(struct harness *h)
{
    http_server_free(h->srv);
    /* One pass lets libevent finish what freeing queued, then the deferred
     * frees run in worker_free. */
    event_base_loop(h->w->base, EVLOOP_NONBLOCK);
    worker_free(h->w);
    h->w = NULL;
    h->srv = NULL;
}

int
harness_connect_from(struct harness *h, const struct sockaddr *peer, socklen_t peer_len)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        abort();
    }
    http_server_adopt(h->srv, sv[1], peer, peer_len);
    return sv[0];
}

int
harness_connect(struct harness *h)
{
    return harness_connect_from(h, NULL, 0);
}

static void
run_once(struct harness *h)
{
    event_base_loop(h->w->base, EVLOOP_NONBLOCK);
}

void
harness_send(struct harness *h, int fd, const void *data, size_t len)
{
    const char *p = data;
    uint64_t deadline = clock_mono_ms() + 5000;
    while (len > 0 && clock_mono_ms() < deadline) {
        ssize_t n = write(fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return; /* the server closed; the test looks at what it got */
        }
        run_once(h);
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        (void)poll(&pfd, 1, 1);
    }
}

void
harness_send_str(struct harness *h, int fd, const char *s)
{
    harness_send(h, fd, s, strlen(s));
}

/* Reads what is there; true on EOF. */
static bool
drain_fd(int fd, struct buf *out)
{
    char chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n > 0) {
            if (out != NULL && buf_append(out, chunk, (size_t)n) != 0) {
                abort();
            }
            continue;
        }
        if (n == 0) {
            return true;
        }
        if (errno == EINTR) {
            continue;
        }
        return errno != EAGAIN && errno != EWOULDBLOCK;
    }
}

bool
harness_pump(struct harness *h, int fd, struct buf *out, uint64_t ms)
{
    uint64_t deadline = clock_mono_ms() + ms;
    bool eof = false;
    do {
        run_once(h);
        if (fd >= 0 && !eof) {
            eof = drain_fd(fd, out);
        }
        struct timeval tv = {0, 1000};
        event_base_loopexit(h->w->base, &tv);
        event_base_loop(h->w->base, EVLOOP_ONCE);
    } while (clock_mono_ms() < deadline);
    if (fd >= 0 && !eof) {
        eof = drain_fd(fd, out);
    }
    return eof;
}

bool
harness_wait_responses(struct harness *h, int fd, struct buf *out, int n, uint64_t ms)
{
    uint64_t deadline = clock_mono_ms() + ms;
    bool eof = false;
    while (clock_mono_ms() < deadline) {
        run_once(h);
        eof = drain_fd(fd, out);
        if (eof || harness_count_responses(out->ptr, out->len, false) >= n) {
            break;
        }
        struct timeval tv = {0, 1000};
        event_base_loopexit(h->w->base, &tv);
        event_base_loop(h->w->base, EVLOOP_ONCE);
    }
    return eof;
}

bool
harness_roundtrip(struct harness *h, const void *raw, size_t len, struct harness_response *out)
{
    int fd = harness_connect(h);
    harness_send(h, fd, raw, len);
    struct buf in;
    buf_init(&in, 1 << 22);
    bool eof = harness_wait_responses(h, fd, &in, 1, 2000);
    bool ok = harness_parse(in.ptr, in.len, eof, false, out) > 0;
    close(fd);
    buf_cleanup(&in);
    return ok;
}

/* ---- response reader ---- */

static const char *
find(const char *p, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(p + i, needle, n) == 0) {
            return p + i;
        }
    }
    return NULL;
}

static bool
head_value(const char *head, const char *name, char *out, size_t cap, int index)
{
    size_t nlen = strlen(name);
    const char *line = strstr(head, "\r\n");
    int seen = 0;
    while (line != NULL && line[2] != '\0') {
        line += 2;
        const char *end = strstr(line, "\r\n");
        if (end == NULL) {
            break;
        }
        if ((size_t)(end - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
            if (seen++ == index) {
                const char *v = line + nlen + 1;
                while (*v == ' ') {
                    v++;
                }
                size_t vlen = (size_t)(end - v);
                if (vlen >= cap) {
                    vlen = cap - 1;
                }
                memcpy(out, v, vlen);
                out[vlen] = '\0';
                return true;
            }
        }
        line = end;
    }
    return false;
}

size_t
harness_parse(const char *data, size_t len, bool eof, bool head_only, struct harness_response *out)
{
    memset(out, 0, sizeof(*out));
    const char *end = find(data, len, "\r\n\r\n");
    if (end == NULL) {
        return 0;
    }
    size_t head_len = (size_t)(end - data) + 4;
    char *head = xstrndup(data, head_len);
    int status = 0;
    if (head_len > 12 && memcmp(head, "HTTP/1.1 ", 9) == 0) {
        status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    }
    char v[64];
    bool chunked =
        head_value(head, "Transfer-Encoding", v, sizeof(v), 0) && strcasecmp(v, "chunked") == 0;
    bool has_len = head_value(head, "Content-Length", v, sizeof(v), 0);
    size_t clen = 0;
    for (const char *c = v; has_len && *c >= '0' && *c <= '9'; c++) {
        clen = clen * 10 + (size_t)(*c - '0');
    }
    struct buf body;
    buf_init(&body, 64 * 1024 * 1024);
    const char *p = data + head_len;
    const char *lim = data + len;
    size_t used = 0;
    bool complete = false;
    if (head_only || status == 204 || status == 304 || (status >= 100 && status < 200)) {
        used = head_len;
        complete = true;
    } else if (chunked) {
        for (;;) {
            const char *crlf = find(p, (size_t)(lim - p), "\r\n");
            if (crlf == NULL) {
                break;
            }
            size_t n = 0;
            for (const char *c = p; c < crlf && *c != ';'; c++) {
                int d = (*c >= '0' && *c <= '9') ? *c - '0' : ((*c | 0x20) - 'a' + 10);
                n = n * 16 + (size_t)d;
            }
            if (n == 0) {
                if ((size_t)(lim - crlf) >= 4 && memcmp(crlf + 2, "\r\n", 2) == 0) {
                    used = (size_t)(crlf + 4 - data);
                    complete = true;
                }
                break;
            }
            if ((size_t)(lim - (crlf + 2)) < n + 2) {
                break;
            }
            if (buf_append(&body, crlf + 2, n) != 0) {
                abort();
            }
            p = crlf + 2 + n + 2;
        }
    } else if (has_len) {
        if ((size_t)(lim - p) >= clen) {
            if (clen > 0 && buf_append(&body, p, clen) != 0) {
                abort();
            }
            used = head_len + clen;
            complete = true;
        }
    } else if (eof) {
        if (lim > p && buf_append(&body, p, (size_t)(lim - p)) != 0) {
            abort();
        }
        used = len;
        complete = true;
    }
    if (!complete && eof) {
        /* Truncated: report what arrived. */
        out->status = status;
        out->head = head;
        out->chunked = chunked;
        out->body_len = body.len;
        out->body = buf_take(&body);
        return 0;
    }
    if (!complete) {
        xfree(head);
        buf_cleanup(&body);
        return 0;
    }
    out->status = status;
    out->head = head;
    out->chunked = chunked;
    out->complete = true;
    out->body_len = body.len;
    out->body = buf_take(&body);
    return used;
}

void
harness_response_free(struct harness_response *r)
{
    xfree((void *)r->head);
    xfree(r->body);
    memset(r, 0, sizeof(*r));
}

int
harness_count_responses(const char *data, size_t len, bool eof)
{
    int n = 0;
    size_t off = 0;
    while (data != NULL && off < len) {
        struct harness_response r;
        size_t used = harness_parse(data + off, len - off, eof, false, &r);
        bool complete = r.complete;
        harness_response_free(&r);
        if (used == 0 || !complete) {
            break;
        }
        /* An interim 100 Continue is not a response of its own. */
        if (!(len - off >= 12 && memcmp(data + off + 9, "100", 3) == 0)) {
            n++;
        }
        off += used;
    }
    return n;
}

const char *
harness_header(const struct harness_response *r, const char *name)
{
    static char ring[8][512];
    static int next;
    char *slot = ring[next++ % 8];
    if (r->head == NULL || !head_value(r->head, name, slot, sizeof(ring[0]), 0)) {
        slot[0] = '\0';
    }
    return slot;
}

int
harness_header_count(const struct harness_response *r, const char *name)
{
    char v[512];
    int n = 0;
    while (r->head != NULL && head_value(r->head, name, v, sizeof(v), n)) {
        n++;
    }
    return n;
}
