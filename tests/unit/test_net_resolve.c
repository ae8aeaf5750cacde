/* net/resolve against DNS servers on 127.0.0.1 that this test runs on its
 * own loop with libevent's evdns server (a real DNS implementation; the
 * answers are scripted per name), plus a hosts file it writes. The slow
 * resolver is a fault a real server cannot produce on demand: a bound UDP
 * socket that never reads, so every query is silently dropped.
 *
 * Covers: answers and their order, TTLs through the cache (a second
 * lookup asks nobody), shared lookups, NXDOMAIN cached briefly, the hosts
 * file and "localhost", the cap on lookups in flight, and the issue's
 * fault: 200 aborted lookups against a resolver that never answers leave
 * no thread, no descriptor and no record behind. */
#include <arpa/inet.h>
#include <dirent.h>
#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "net/resolve.h"
#include "loop.h"

/* ---- a scripted DNS server on the test loop ---- */

struct dns_server {
    int fd;
    unsigned port;
    struct evdns_server_port *port_ev; /* NULL: a black hole (never reads) */
    unsigned queries;
    uint32_t ttl;
};

static void
on_dns_request(struct evdns_server_request *req, void *arg)
{
    struct dns_server *s = arg;
    int err = 0;
    for (int i = 0; i < req->nquestions; i++) {
        const struct evdns_server_question *q = req->questions[i];
        s->queries++;
        if (strcmp(q->name, "dual.test") == 0 && q->type == EVDNS_TYPE_AAAA) {
            struct in6_addr a6 = IN6ADDR_LOOPBACK_INIT;
            evdns_server_request_add_aaaa_reply(req, q->name, 1, &a6, (int)s->ttl);
        } else if (strcmp(q->name, "dual.test") == 0 && q->type == EVDNS_TYPE_A) {
            struct in_addr a4 = {htonl(INADDR_LOOPBACK)};
            evdns_server_request_add_a_reply(req, q->name, 1, &a4, (int)s->ttl);
        } else if (strcmp(q->name, "v4only.test") == 0 && q->type == EVDNS_TYPE_A) {
            struct in_addr a4[2] = {{htonl(0x7f000002)}, {htonl(0x7f000003)}};
            evdns_server_request_add_a_reply(req, q->name, 2, a4, (int)s->ttl);
        } else if (strcmp(q->name, "v4only.test") != 0) {
            err = DNS_ERR_NOTEXIST;
        }
    }
    evdns_server_request_respond(req, err);
}

static void
dns_start(struct dns_server *s, struct event_base *base, bool answers)
{
    memset(s, 0, sizeof(*s));
    s->ttl = 60;
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t len = sizeof(sin);
    getsockname(s->fd, (struct sockaddr *)&sin, &len);
    s->port = ntohs(sin.sin_port);
    if (answers) {
        s->port_ev = evdns_add_server_port_with_base(base, s->fd, 0, on_dns_request, s);
        assert_non_null(s->port_ev);
    }
}

static void
dns_stop(struct dns_server *s)
{
    if (s->port_ev != NULL) {
        evdns_close_server_port(s->port_ev);
    }
    close(s->fd);
}

/* A resolv.conf naming the server (evdns accepts a port), and a hosts file. */
static char conf_path[64];
static char hosts_path[64];

static void
write_file(char *path, size_t cap, const char *tmpl, const char *text)
{
    snprintf(path, cap, "%s", tmpl);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static struct net_resolver *
resolver_for(struct event_base *base, const struct dns_server *s, const char *hosts)
{
    char conf[128];
    snprintf(conf, sizeof(conf), "nameserver 127.0.0.1:%u\noptions timeout:1 attempts:1\n",
             s->port);
    write_file(conf_path, sizeof(conf_path), "/tmp/net-resolv-XXXXXX", conf);
    write_file(hosts_path, sizeof(hosts_path), "/tmp/net-hosts-XXXXXX", hosts);
    const struct net_resolver_opts o = {.resolv_conf = conf_path, .hosts_file = hosts_path};
    return net_resolver_new(base, &o);
}

static void
remove_files(void)
{
    unlink(conf_path);
    unlink(hosts_path);
}

/* ---- answers ---- */

struct answer {
    int calls;
    enum net_resolve_result rc;
    struct net_addrs addrs;
    const char *error;
};

static void
on_answer(enum net_resolve_result rc, const struct net_addrs *addrs, const char *error, void *arg)
{
    struct answer *a = arg;
    a->calls++;
    a->rc = rc;
    a->error = error;
    if (addrs != NULL) {
        a->addrs = *addrs;
    }
}

static const char *
text_of(const union net_sockaddr *a)
{
    static char buf[4][NET_ADDR_TEXT_MAX];
    static int i;
    i = (i + 1) % 4;
    net_addr_format(a, buf[i]);
    return buf[i];
}

static void
test_dns_answer_and_cache(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct dns_server s;
    dns_start(&s, base, true);
    struct net_resolver *r = resolver_for(base, &s, "");
    struct answer a = {0};
    struct net_resolve *q = net_resolve_start(r, "dual.test", on_answer, &a);
    assert_non_null(q);
    assert_int_equal(a.calls, 0); /* never from inside start */
    loop_run_until_called(base, &a.calls, 3000);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.rc, NET_RESOLVE_OK);
    assert_int_equal(a.addrs.count, 2);
    assert_string_equal(text_of(&a.addrs.addr[0]), "::1"); /* IPv6 first */
    assert_string_equal(text_of(&a.addrs.addr[1]), "127.0.0.1");
    assert_int_equal(s.queries, 2); /* AAAA and A */

    /* Cached for its TTL: nobody is asked again, and peek knows it. */
    struct answer b = {0};
    (void)net_resolve_start(r, "DUAL.test", on_answer, &b);
    loop_run_until_called(base, &b.calls, 1000);
    assert_int_equal(b.rc, NET_RESOLVE_OK);
    assert_int_equal(b.addrs.count, 2);
    assert_int_equal(s.queries, 2);
    struct net_addrs peek;
    assert_true(net_resolver_peek(r, "dual.test", &peek));
    assert_int_equal(peek.count, 2);

    /* One family only. */
    struct answer c = {0};
    (void)net_resolve_start(r, "v4only.test", on_answer, &c);
    loop_run_until_called(base, &c.calls, 3000);
    assert_int_equal(c.rc, NET_RESOLVE_OK);
    assert_int_equal(c.addrs.count, 2);
    assert_string_equal(text_of(&c.addrs.addr[0]), "127.0.0.2");

    /* No such name: failed, and cached (briefly) so a storm asks once. */
    struct answer d = {0};
    (void)net_resolve_start(r, "nosuch.test", on_answer, &d);
    loop_run_until_called(base, &d.calls, 3000);
    assert_int_equal(d.rc, NET_RESOLVE_ERR_NOT_FOUND);
    assert_string_equal(d.error, "no such host");
    unsigned before = s.queries;
    struct answer e = {0};
    (void)net_resolve_start(r, "nosuch.test", on_answer, &e);
    loop_run_until_called(base, &e.calls, 1000);
    assert_int_equal(e.rc, NET_RESOLVE_ERR_NOT_FOUND);
    assert_int_equal(s.queries, before);

    /* Not a host name at all: refused without asking. */
    struct answer f = {0};
    (void)net_resolve_start(r, "bad name\r\n", on_answer, &f);
    loop_run_until_called(base, &f.calls, 1000);
    assert_int_equal(f.rc, NET_RESOLVE_ERR_INVALID);
    assert_int_equal(s.queries, before);

    assert_int_equal(net_resolver_inflight(r), 0);
    net_resolver_free(r);
    dns_stop(&s);
    remove_files();
    event_base_free(base);
}

static void
test_shared_lookup(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct dns_server s;
    dns_start(&s, base, true);
    struct net_resolver *r = resolver_for(base, &s, "");
    struct answer a[5] = {0};
    int calls = 0;
    for (int i = 0; i < 5; i++) {
        (void)net_resolve_start(r, "dual.test", on_answer, &a[i]);
    }
    assert_int_equal(net_resolver_inflight(r), 1);
    /* One of them gives up: the others still get the answer. */
    struct net_resolve *gone = net_resolve_start(r, "dual.test", on_answer, &a[0]);
    net_resolve_cancel(gone);
    uint64_t end = clock_mono_ms() + 3000;
    while (calls < 5 && clock_mono_ms() < end) {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        calls = a[0].calls + a[1].calls + a[2].calls + a[3].calls + a[4].calls;
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(a[i].calls, 1);
        assert_int_equal(a[i].rc, NET_RESOLVE_OK);
    }
    assert_int_equal(s.queries, 2);
    net_resolver_free(r);
    dns_stop(&s);
    remove_files();
    event_base_free(base);
}

static void
test_hosts_and_localhost(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct dns_server s;
    dns_start(&s, base, true);
    /* File order wins: ::1 first here, as a dual-stack /etc/hosts has it. */
    struct net_resolver *r =
        resolver_for(base, &s, "# pinned\n::1 pinned.test\n127.0.0.1 pinned.test other\n");
    struct answer a = {0};
    (void)net_resolve_start(r, "pinned.test", on_answer, &a);
    loop_run_until_called(base, &a.calls, 1000);
    assert_int_equal(a.rc, NET_RESOLVE_OK);
    assert_int_equal(a.addrs.count, 2);
    assert_string_equal(text_of(&a.addrs.addr[0]), "::1");
    assert_string_equal(text_of(&a.addrs.addr[1]), "127.0.0.1");
    /* localhost works with no hosts entry (RFC 6761 6.3), and literals. */
    struct net_addrs l;
    assert_true(net_resolver_peek(r, "localhost", &l));
    assert_int_equal(l.count, 2);
    assert_true(net_resolver_peek(r, "api.localhost", &l));
    assert_true(net_resolver_peek(r, "2001:db8::7", &l));
    assert_int_equal(l.count, 1);
    assert_string_equal(text_of(&l.addr[0]), "2001:db8::7");
    assert_false(net_resolver_peek(r, "dual.test", &l)); /* needs DNS */
    assert_int_equal(s.queries, 0);
    net_resolver_free(r);
    dns_stop(&s);
    remove_files();
    event_base_free(base);
}

/* ---- a resolver that never answers ---- */

static unsigned
count_dir(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

static void
test_inflight_cap(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct dns_server s;
    dns_start(&s, base, false);
    struct net_resolver *r = resolver_for(base, &s, "");
    struct net_resolve *q[BOUNDS_DNS_LOOKUPS_INFLIGHT_MAX];
    struct answer a[BOUNDS_DNS_LOOKUPS_INFLIGHT_MAX] = {0};
    for (int i = 0; i < BOUNDS_DNS_LOOKUPS_INFLIGHT_MAX; i++) {
        char name[32];
        snprintf(name, sizeof(name), "n%d.test", i);
        q[i] = net_resolve_start(r, name, on_answer, &a[i]);
    }
    assert_int_equal(net_resolver_inflight(r), BOUNDS_DNS_LOOKUPS_INFLIGHT_MAX);
    /* One more distinct name: refused at once, with a clear reason. */
    struct answer over = {0};
    (void)net_resolve_start(r, "one-too-many.test", on_answer, &over);
    loop_run_until_called(base, &over.calls, 1000);
    assert_int_equal(over.rc, NET_RESOLVE_ERR_BUSY);
    assert_string_equal(over.error, "too many DNS lookups in flight");
    /* A name already being asked still joins. */
    struct answer join = {0};
    struct net_resolve *j = net_resolve_start(r, "n0.test", on_answer, &join);
    assert_int_equal(net_resolver_inflight(r), BOUNDS_DNS_LOOKUPS_INFLIGHT_MAX);
    net_resolve_cancel(j);
    for (int i = 0; i < BOUNDS_DNS_LOOKUPS_INFLIGHT_MAX; i++) {
        net_resolve_cancel(q[i]);
    }
    assert_int_equal(net_resolver_inflight(r), 0);
    loop_run_for(base, 20);
    assert_int_equal(net_resolver_records(r), 0); /* every cancel callback ran */
    for (int i = 0; i < BOUNDS_DNS_LOOKUPS_INFLIGHT_MAX; i++) {
        assert_int_equal(a[i].calls, 0);
    }
    net_resolver_free(r);
    dns_stop(&s);
    remove_files();
    event_base_free(base);
}

/* The fault: with a slow resolver, 200 aborted lookups used to
 * leave 123 threads and 264 descriptors. Now: none, and nothing waits. */
static void
test_aborted_lookups_leave_nothing(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct dns_server s;
    dns_start(&s, base, false);
    struct net_resolver *r = resolver_for(base, &s, "");
    /* Warm up: the resolver's UDP socket exists from the first query on. */
    struct answer w = {0};
    net_resolve_cancel(net_resolve_start(r, "warm.test", on_answer, &w));
    loop_run_for(base, 20);
    unsigned threads = count_dir("/proc/self/task");
    unsigned fds = count_dir("/proc/self/fd");
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof(name), "slow%d.test", i % 7);
        struct answer a = {0};
        struct net_resolve *q = net_resolve_start(r, name, on_answer, &a);
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        net_resolve_cancel(q);
        assert_int_equal(a.calls, 0);
        assert_true(count_dir("/proc/self/task") == threads);
    }
    loop_run_for(base, 50);
    assert_int_equal(net_resolver_inflight(r), 0);
    assert_int_equal(net_resolver_records(r), 0);
    assert_int_equal(count_dir("/proc/self/task"), threads);
    assert_int_equal(count_dir("/proc/self/fd"), fds);
    net_resolver_free(r);
    dns_stop(&s);
    remove_files();
    event_base_free(base);
}

/* A lookup nobody cancels ends with "did not answer" after resolv.conf's
 * timeout (1 s, 1 attempt here), and the resolver can be freed with
 * lookups in flight. */
static void
test_timeout_and_free_in_flight(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct dns_server s;
    dns_start(&s, base, false);
    struct net_resolver *r = resolver_for(base, &s, "");
    struct answer a = {0};
    (void)net_resolve_start(r, "slow.test", on_answer, &a);
    loop_run_until_called(base, &a.calls, 8000);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.rc, NET_RESOLVE_ERR_FAILED);
    assert_string_equal(a.error, "the DNS servers did not answer");
    struct answer b = {0};
    (void)net_resolve_start(r, "other.test", on_answer, &b);
    net_resolver_free(r); /* no callback, nothing leaked (ASan build checks) */
    assert_int_equal(b.calls, 0);
    dns_stop(&s);
    remove_files();
    event_base_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_answer_and_cache),
        cmocka_unit_test(test_shared_lookup),
        cmocka_unit_test(test_hosts_and_localhost),
        cmocka_unit_test(test_inflight_cap),
        cmocka_unit_test(test_aborted_lookups_leave_nothing),
        cmocka_unit_test(test_timeout_and_free_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
