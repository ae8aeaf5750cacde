/* net/connect: the order of attempts, a dual-stack name whose first
 * address refuses (::1 first, the server only on 127.0.0.1), a first
 * address that drops SYNs (a black hole made in a network namespace this
 * test creates, so the stagger and the per-attempt timeout are exercised),
 * the error naming every address, keep-alive on the winner, and cancel
 * releasing every socket at once.
 *
 * Names come from a hosts file the test writes (net/resolve.h reads it
 * before DNS), so no DNS server is involved here; test_net_resolve covers
 * DNS. The black-hole cases fork a child that unshares its network
 * namespace (root only; skipped otherwise). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "net/connect.h"
#include "net/resolve.h"
#include "loop.h"

static char hosts_path[64];

static struct net_resolver *
resolver_with_hosts(struct event_base *base, const char *text)
{
    snprintf(hosts_path, sizeof(hosts_path), "/tmp/net-connect-hosts-XXXXXX");
    int fd = mkstemp(hosts_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    /* No DNS server at all: resolv.conf points at a closed port. */
    const struct net_resolver_opts o = {.resolv_conf = "/dev/null", .hosts_file = hosts_path};
    return net_resolver_new(base, &o);
}

static int
listen_v4(unsigned *out_port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof(sin);
    getsockname(fd, (struct sockaddr *)&sin, &len);
    *out_port = ntohs(sin.sin_port);
    return fd;
}

struct outcome {
    int calls;
    int fd;
    union net_sockaddr peer;
    char error[1024];
    uint64_t at_ms;
};

static void
on_done(int fd, const union net_sockaddr *peer, const char *error, void *arg)
{
    struct outcome *o = arg;
    o->calls++;
    o->fd = fd;
    o->at_ms = clock_mono_ms();
    if (peer != NULL) {
        o->peer = *peer;
    }
    snprintf(o->error, sizeof(o->error), "%s", error != NULL ? error : "");
}

static const char *
text_of(const union net_sockaddr *a)
{
    static char buf[NET_ADDR_TEXT_MAX];
    net_addr_format(a, buf);
    return buf;
}

static unsigned
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

/* ---- ordering ---- */

static void
add(struct net_addrs *l, const char *ip)
{
    union net_sockaddr a;
    assert_true(net_addr_parse_ip(ip, 0, &a));
    assert_true(net_addrs_add(l, &a));
}

static void
test_order(void **state)
{
    (void)state;
    struct net_addrs in = {0};
    struct net_addrs out;
    add(&in, "2001:db8::1");
    add(&in, "2001:db8::2");
    add(&in, "2001:db8::3");
    add(&in, "192.0.2.1");
    add(&in, "192.0.2.2");
    net_connect_order(&in, NULL, &out);
    const char *want[] = {"2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "2001:db8::3"};
    assert_int_equal(out.count, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(text_of(&out.addr[i]), want[i]);
    }
    /* The address that last worked goes first, and its family leads. */
    union net_sockaddr pref;
    assert_true(net_addr_parse_ip("192.0.2.2", 443, &pref));
    net_connect_order(&in, &pref, &out);
    const char *want2[] = {"192.0.2.2", "2001:db8::1", "192.0.2.1", "2001:db8::2", "2001:db8::3"};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(text_of(&out.addr[i]), want2[i]);
    }
    /* An address not in the list is ignored. */
    assert_true(net_addr_parse_ip("203.0.113.9", 0, &pref));
    net_connect_order(&in, &pref, &out);
    assert_string_equal(text_of(&out.addr[0]), "2001:db8::1");
}

/* ---- dual stack ---- */

static void
test_dual_stack_first_refuses(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    unsigned port;
    int lfd = listen_v4(&port);
    struct net_resolver *r = resolver_with_hosts(base, "::1 dual.test\n127.0.0.1 dual.test\n");
    const struct net_keepalive ka = {
        .idle_s = 42, .interval_s = 7, .count = 5, .user_timeout_ms = 12345};
    struct outcome o = {0};
    const struct net_connect_opts opts = {
        .host = "dual.test", .port = port, .timeout_ms = 5000, .keepalive = &ka};
    (void)net_connect_start(base, r, &opts, on_done, &o);
    assert_int_equal(o.calls, 0);
    loop_run_until_called(base, &o.calls, 5000);
    assert_int_equal(o.calls, 1);
    assert_true(o.fd >= 0);
    char want[32];
    snprintf(want, sizeof(want), "127.0.0.1:%u", port);
    assert_string_equal(text_of(&o.peer), want);
    /* Keep-alive and no Nagle on the winner. */
    int v = 0;
    socklen_t len = sizeof(v);
    getsockopt(o.fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len);
    assert_int_equal(v, 42);
    getsockopt(o.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &len);
    assert_int_equal(v, 12345);
    getsockopt(o.fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    assert_int_equal(v, 1);
    close(o.fd);

    /* Nobody listens at all: the error names each address once. */
    close(lfd);
    struct outcome f = {0};
    (void)net_connect_start(base, r, &opts, on_done, &f);
    loop_run_until_called(base, &f.calls, 15000);
    assert_true(f.fd < 0);
    char msg[128];
    snprintf(msg, sizeof(msg),
             "cannot connect to dual.test:%u: ::1 connection refused; 127.0.0.1 connection "
             "refused",
             port);
    assert_string_equal(f.error, msg);

    /* A name nobody knows. */
    struct outcome n = {0};
    const struct net_connect_opts nopts = {.host = "nosuch.test", .port = 1, .timeout_ms = 3000};
    (void)net_connect_start(base, r, &nopts, on_done, &n);
    loop_run_until_called(base, &n.calls, 5000);
    assert_true(n.fd < 0);
    assert_non_null(strstr(n.error, "cannot resolve nosuch.test: "));

    net_resolver_free(r);
    unlink(hosts_path);
    event_base_free(base);
}

static void
test_cancel_releases_everything(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    unsigned port;
    int lfd = listen_v4(&port);
    struct net_resolver *r = resolver_with_hosts(base, "127.0.0.1 a.test\n");
    unsigned fds = count_fds();
    for (int i = 0; i < 50; i++) {
        struct outcome o = {0};
        const struct net_connect_opts opts = {.host = "a.test", .port = port, .timeout_ms = 20000};
        struct net_connect *c = net_connect_start(base, r, &opts, on_done, &o);
        if (i % 2 == 1) {
            event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK); /* attempt under way */
        }
        if (o.calls == 0) {
            net_connect_cancel(c);
        } else {
            close(o.fd);
        }
    }
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(count_fds(), fds);
    close(lfd);
    net_resolver_free(r);
    unlink(hosts_path);
    event_base_free(base);
}

/* ---- a black hole, in a namespace of our own ---- */

/* In the child: a fresh network namespace with loopback up and a veth
 * pair whose far end is nobody: 192.0.2.0/24 leaves through bh0 to a
 * made-up MAC address (a permanent neighbour entry, so not even ARP
 * fails), and the SYNs are never answered. */
static bool
enter_black_hole_namespace(void)
{
    if (unshare(CLONE_NEWNET) != 0) {
        return false;
    }
    return system("ip link set lo up && ip link add bh0 type veth peer name bh1 && "
                  "ip addr add 192.0.2.1/24 dev bh0 && ip link set bh0 up && "
                  "ip link set bh1 up && "
                  "ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev bh0 nud permanent && "
                  "ip neigh add 192.0.2.3 lladdr 02:00:00:00:00:03 dev bh0 nud permanent") == 0;
}

static int
black_hole_child(void)
{
    if (!enter_black_hole_namespace()) {
        return 77;
    }
    struct event_base *base = event_base_new();
    unsigned port;
    int lfd = listen_v4(&port);
    /* 192.0.2.2 first: its SYN goes into the dummy device and nothing ever
     * answers; 250 ms later 127.0.0.1 is tried and wins. */
    struct net_resolver *r = resolver_with_hosts(base, "192.0.2.2 bh.test\n127.0.0.1 bh.test\n");
    struct outcome o = {0};
    const struct net_connect_opts opts = {.host = "bh.test", .port = port, .timeout_ms = 20000};
    uint64_t t0 = clock_mono_ms();
    (void)net_connect_start(base, r, &opts, on_done, &o);
    loop_run_until_called(base, &o.calls, 25000);
    if (o.calls != 1 || o.fd < 0 || o.peer.sa.sa_family != AF_INET ||
        o.peer.in.sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
        fprintf(stderr, "black hole first: %s\n", o.error);
        return 1;
    }
    uint64_t took = o.at_ms - t0;
    /* Far below the 20 s deadline: the stagger, not the deadline, moved on
     * (wide, so a loaded machine does not fail it). */
    if (took < BOUNDS_NET_CONNECT_STAGGER_MS - 50 || took > 10000) {
        fprintf(stderr, "black hole first: connected after %llu ms\n", (unsigned long long)took);
        return 2;
    }
    close(o.fd);
    /* Only black holes: the deadline ends it and names each address. */
    struct net_resolver *r2 = resolver_with_hosts(base, "192.0.2.2 all.test\n192.0.2.3 all.test\n");
    struct outcome f = {0};
    const struct net_connect_opts fopts = {.host = "all.test", .port = 80, .timeout_ms = 800};
    t0 = clock_mono_ms();
    (void)net_connect_start(base, r2, &fopts, on_done, &f);
    loop_run_until_called(base, &f.calls, 15000);
    if (f.calls != 1 || f.fd >= 0 ||
        strcmp(f.error,
               "cannot connect to all.test:80: 192.0.2.2 timed out; 192.0.2.3 timed out") != 0) {
        fprintf(stderr, "all black holes: %s\n", f.error);
        return 3;
    }
    if (f.at_ms - t0 > 10000) {
        fprintf(stderr, "all black holes: ended after %llu ms\n",
                (unsigned long long)(f.at_ms - t0));
        return 4;
    }
    /* The second address fails first (refused at once), the first times
     * out later: the message still lists them in the order they were
     * tried, so it reads the same on every run. */
    struct net_resolver *r3 = resolver_with_hosts(base, "192.0.2.2 mix.test\n127.0.0.1 mix.test\n");
    unsigned closed;
    close(listen_v4(&closed)); /* a port nothing listens on in this namespace */
    struct outcome m = {0};
    const struct net_connect_opts mopts = {.host = "mix.test", .port = closed, .timeout_ms = 800};
    (void)net_connect_start(base, r3, &mopts, on_done, &m);
    loop_run_until_called(base, &m.calls, 15000);
    char want[128];
    snprintf(want, sizeof(want),
             "cannot connect to mix.test:%u: 192.0.2.2 timed out; 127.0.0.1 connection refused",
             mopts.port);
    if (m.calls != 1 || m.fd >= 0 || strcmp(m.error, want) != 0) {
        fprintf(stderr, "mixed failures: %s\n", m.error);
        return 5;
    }
    net_resolver_free(r3);
    net_resolver_free(r2);
    net_resolver_free(r);
    close(lfd);
    event_base_free(base);
    return 0;
}

static void
test_black_hole_first(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        _exit(black_hole_child());
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    unlink(hosts_path);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        skip(); /* not root, or no ip(8): the namespace cannot be made */
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_dual_stack_first_refuses),
        cmocka_unit_test(test_cancel_releases_everything),
        cmocka_unit_test(test_black_hole_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
