#include "fault_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/scan.h"
#include "base/xalloc.h"

#define FAULT_MAX_CONNS 64
#define FAULT_HEAD_MAX (64 * 1024)
#define FAULT_BODY_MAX (1024 * 1024)
/* A request that does not arrive within this long is abandoned. */
#define FAULT_READ_TIMEOUT_MS 5000

struct fault_conn {
    struct fault_server *s;
    int fd;
    pthread_t thread;
};

struct fault_server {
    fault_handler_fn handler;
    void *arg;
    int listen_fd;
    int stop_pipe[2]; /* readable once stop has begun */
    pthread_t accept_thread;
    char url[64];
    atomic_uint hits;
    pthread_mutex_t lock; /* conns, conn_count, last_* */
    struct fault_conn *conns[FAULT_MAX_CONNS];
    size_t conn_count;
    char *last_head;
    char *last_body;
};

static void __attribute__((noreturn)) die(const char *what)
{
    fprintf(stderr, "fault_server: %s: %s\n", what, strerror(errno));
    abort();
}

/* Waits for fd to become readable, or for stop; false on stop or timeout. */
static bool
wait_readable(struct fault_server *s, int fd, int timeout_ms)
{
    struct pollfd p[2] = {
        {.fd = fd, .events = POLLIN},
        {.fd = s->stop_pipe[0], .events = POLLIN},
    };
    int n = poll(p, 2, timeout_ms);
    return n > 0 && (p[1].revents & POLLIN) == 0 && (p[0].revents & (POLLIN | POLLHUP));
}

/* Sleeps up to ms; returns early (false) when stop begins. */
static bool
nap(struct fault_server *s, int ms)
{
    struct pollfd p = {.fd = s->stop_pipe[0], .events = POLLIN};
    return poll(&p, 1, ms) == 0;
}

static bool
write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads until the blank line, then Content-Length bytes of body. */
static bool
read_request(struct fault_server *s, int fd, struct buf *head, struct buf *body)
{
    char chunk[4096];
    size_t head_end = 0;
    while (head_end == 0) {
        if (!wait_readable(s, fd, FAULT_READ_TIMEOUT_MS)) {
            return false;
        }
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0 || buf_append(head, chunk, (size_t)n) != 0) {
            return false;
        }
        const char *end = memmem(head->ptr, head->len, "\r\n\r\n", 4);
        if (end != NULL) {
            head_end = (size_t)(end - head->ptr) + 4;
        }
    }
    /* Bytes past the head belong to the body. */
    if (buf_append(body, head->ptr + head_end, head->len - head_end) != 0) {
        return false;
    }
    head->len = head_end;
    head->ptr[head_end] = '\0';
    uint64_t want = 0;
    const char *cl = strcasestr(head->ptr, "\r\nContent-Length:");
    if (cl != NULL) {
        struct scan sc = scan_init(slice_from_cstr(cl + 17));
        scan_ows(&sc);
        if (!scan_u64(&sc, FAULT_BODY_MAX, &want)) {
            return false;
        }
    }
    while (body->len < want) {
        if (!wait_readable(s, fd, FAULT_READ_TIMEOUT_MS)) {
            return false;
        }
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0 || buf_append(body, chunk, (size_t)n) != 0) {
            return false;
        }
    }
    return true;
}

static void
send_response(struct fault_server *s, int fd, const struct fault_response *r)
{
    size_t body_len = r->filler_bytes ? r->filler_bytes : (r->body ? strlen(r->body) : 0);
    struct buf out;
    buf_init(&out, FAULT_HEAD_MAX);
    bool ok = buf_appendf(&out, "HTTP/1.1 %d Fault\r\nConnection: close\r\n",
                          r->status ? r->status : 200) == 0;
    if (r->content_type != NULL) {
        ok = ok && buf_appendf(&out, "Content-Type: %s\r\n", r->content_type) == 0;
    }
    if (!r->no_content_length) {
        ok = ok && buf_appendf(&out, "Content-Length: %zu\r\n", body_len) == 0;
    }
    if (r->extra_headers != NULL) {
        ok = ok && buf_append_str(&out, r->extra_headers) == 0;
    }
    ok = ok && buf_append_str(&out, "\r\n") == 0;
    if (ok && write_all(fd, out.ptr, out.len)) {
        if (r->filler_bytes) {
            char chunk[8192];
            memset(chunk, 'x', sizeof(chunk));
            for (size_t sent = 0; sent < body_len;) {
                size_t n = body_len - sent < sizeof(chunk) ? body_len - sent : sizeof(chunk);
                if (!write_all(fd, chunk, n)) {
                    break;
                }
                sent += n;
            }
        } else if (body_len > 0) {
            (void)write_all(fd, r->body, body_len);
        }
    }
    (void)s;
    buf_cleanup(&out);
}

static void *
conn_main(void *arg)
{
    struct fault_conn *c = arg;
    struct fault_server *s = c->s;
    struct buf head, body;
    buf_init(&head, FAULT_HEAD_MAX);
    buf_init(&body, FAULT_BODY_MAX);
    if (!read_request(s, c->fd, &head, &body)) {
        goto out;
    }
    unsigned seq = atomic_fetch_add(&s->hits, 1) + 1;
    pthread_mutex_lock(&s->lock);
    xfree(s->last_head);
    xfree(s->last_body);
    s->last_head = xstrdup(buf_cstr(&head));
    s->last_body = xstrdup(buf_cstr(&body));
    pthread_mutex_unlock(&s->lock);

    char method[16] = "";
    char path[2048] = "";
    const char *sp = strchr(head.ptr, ' ');
    const char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
    if (sp != NULL && sp2 != NULL && (size_t)(sp - head.ptr) < sizeof(method) &&
        (size_t)(sp2 - sp - 1) < sizeof(path)) {
        memcpy(method, head.ptr, (size_t)(sp - head.ptr));
        memcpy(path, sp + 1, (size_t)(sp2 - sp - 1));
    }
    const char *hdrs = strstr(head.ptr, "\r\n");
    struct fault_request req = {
        .method = method,
        .path = path,
        .headers = hdrs ? hdrs + 2 : "",
        .body = buf_cstr(&body),
        .body_len = body.len,
        .seq = seq,
    };
    struct fault_response resp = {.status = 200};
    s->handler(s->arg, &req, &resp);
    if (resp.hang) {
        (void)nap(s, -1);
        goto out;
    }
    if (resp.delay_ms > 0 && !nap(s, (int)resp.delay_ms)) {
        goto out;
    }
    send_response(s, c->fd, &resp);
    shutdown(c->fd, SHUT_WR);
out:
    buf_cleanup(&head);
    buf_cleanup(&body);
    close(c->fd);
    c->fd = -1;
    return NULL;
}

static void *
accept_main(void *arg)
{
    struct fault_server *s = arg;
    for (;;) {
        if (!wait_readable(s, s->listen_fd, -1)) {
            return NULL;
        }
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        pthread_mutex_lock(&s->lock);
        if (s->conn_count == FAULT_MAX_CONNS) {
            pthread_mutex_unlock(&s->lock);
            close(fd);
            continue;
        }
        struct fault_conn *c = xcalloc(1, sizeof(*c));
        c->s = s;
        c->fd = fd;
        s->conns[s->conn_count++] = c;
        if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
            die("pthread_create");
        }
        pthread_mutex_unlock(&s->lock);
    }
}

struct fault_server *
fault_server_start(fault_handler_fn handler, void *arg)
{
    struct fault_server *s = xcalloc(1, sizeof(*s));
    s->handler = handler;
    s->arg = arg;
    pthread_mutex_init(&s->lock, NULL);
    if (pipe(s->stop_pipe) != 0) {
        die("pipe");
    }
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0) {
        die("socket");
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(s->listen_fd, 64) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&a, &len) != 0) {
        die("bind/listen");
    }
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    if (pthread_create(&s->accept_thread, NULL, accept_main, s) != 0) {
        die("pthread_create");
    }
    return s;
}

const char *
fault_server_url(const struct fault_server *s)
{
    return s->url;
}

unsigned
fault_server_hits(const struct fault_server *s)
{
    return atomic_load(&((struct fault_server *)s)->hits);
}

char *
fault_server_last_head(struct fault_server *s)
{
    pthread_mutex_lock(&s->lock);
    char *copy = xstrdup(s->last_head ? s->last_head : "");
    pthread_mutex_unlock(&s->lock);
    return copy;
}

char *
fault_server_last_body(struct fault_server *s)
{
    pthread_mutex_lock(&s->lock);
    char *copy = xstrdup(s->last_body ? s->last_body : "");
    pthread_mutex_unlock(&s->lock);
    return copy;
}

void
fault_server_stop(struct fault_server *s)
{
    if (s == NULL) {
        return;
    }
    if (write(s->stop_pipe[1], "x", 1) != 1) {
        die("write stop pipe");
    }
    pthread_join(s->accept_thread, NULL);
    /* The accept thread is gone, so conns no longer changes. */
    for (size_t i = 0; i < s->conn_count; i++) {
        pthread_join(s->conns[i]->thread, NULL);
        xfree(s->conns[i]);
    }
    close(s->listen_fd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    xfree(s->last_head);
    xfree(s->last_body);
    pthread_mutex_destroy(&s->lock);
    xfree(s);
}
