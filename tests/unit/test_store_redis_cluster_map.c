/* store/redis_cluster_map: the slot map from CLUSTER SHARDS and CLUSTER
 * SLOTS (replies captured from a redis-server 7.0 cluster made by
 * `redis-cli --cluster create` with three primaries and three replicas,
 * and variations built here for failover, unknown endpoints, TLS ports and
 * malformed answers), and the MOVED / ASK parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "store/redis_cluster_map.h"
#include "store/redis_proto.h"

/* CLUSTER SHARDS on 127.0.0.1:17101, right after --cluster create. */
static const char shards_3x2[] =
    "*3\r\n*4\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*2\r\n"
    "*14\r\n$2\r\nid\r\n$40\r\nd810c2d1b24c7fc02539aca947bb579be6676375\r\n$4\r\n"
    "port\r\n:17102\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n"
    "127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n"
    ":0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\ncbcb7a33d7037d230341bab975345beb244a3cc3\r\n"
    "$4\r\nport\r\n:17106\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n"
    "$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\nreplication-offset\r\n"
    ":0\r\n$6\r\nhealth\r\n$7\r\nloading\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n"
    ":5460\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\n7a6ab0f99419897491e69ad3d583290d6b6b9371\r\n"
    "$4\r\nport\r\n:17101\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n"
    "$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n"
    ":0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\n5a51e2ac4aec1374ebb49624403e12810c979e0e\r\n"
    "$4\r\nport\r\n:17105\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n"
    "$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\nreplication-offset\r\n"
    ":0\r\n$6\r\nhealth\r\n$7\r\nloading\r\n*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n"
    ":16383\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\n11bbb2ef7988b510d53dd3f1aaf0ec0c608263ca\r\n"
    "$4\r\nport\r\n:17103\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n"
    "$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n"
    ":0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\n008ebf4dd705d343a31d2ea16b18a48af9e94221\r\n"
    "$4\r\nport\r\n:17104\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n"
    "$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\nreplication-offset\r\n"
    ":0\r\n$6\r\nhealth\r\n$7\r\nloading\r\n";

/* CLUSTER SLOTS on the same cluster. */
static const char slots_3[] =
    "*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:17101\r\n$40\r\n"
    "7a6ab0f99419897491e69ad3d583290d6b6b9371\r\n*0\r\n*3\r\n:5461\r\n:10922\r\n*4\r\n"
    "$9\r\n127.0.0.1\r\n:17102\r\n$40\r\nd810c2d1b24c7fc02539aca947bb579be6676375\r\n*0\r\n"
    "*3\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:17103\r\n$40\r\n"
    "11bbb2ef7988b510d53dd3f1aaf0ec0c608263ca\r\n*0\r\n";

/* One reply from RESP text (the reader the back end uses). */
static struct store_redis_reply *
parse(const char *text, size_t len)
{
    struct store_redis_reader *r = store_redis_proto_reader_new();
    struct store_redis_reply *reply = NULL;
    size_t off = 0;
    while (reply == NULL && off < len) {
        size_t n = len - off < 512 ? len - off : 512;
        assert_int_equal(store_redis_proto_feed(r, text + off, n), STORE_REDIS_READ_MORE);
        off += n;
        enum store_redis_read rc = store_redis_proto_next(r, &reply);
        assert_int_not_equal(rc, STORE_REDIS_READ_ERROR);
    }
    store_redis_proto_reader_free(r);
    assert_non_null(reply);
    return reply;
}

static struct store_redis_cluster_map *
map_new(void)
{
    struct store_redis_cluster_map *m = malloc(sizeof(*m));
    assert_non_null(m);
    return m;
}

static void
assert_owner(const struct store_redis_cluster_map *m, unsigned slot, const char *host,
             unsigned port)
{
    const struct store_redis_cluster_node *n = store_redis_cluster_map_owner(m, slot);
    if (n == NULL) {
        fail_msg("slot %u has no owner", slot);
    }
    if (strcmp(n->host, host) != 0 || n->port != port) {
        fail_msg("slot %u: %s:%u, want %s:%u", slot, n->host, n->port, host, port);
    }
}

static void
assert_three_primaries(const struct store_redis_cluster_map *m)
{
    assert_int_equal(m->node_count, 3);
    assert_true(store_redis_cluster_map_covered(m));
    assert_owner(m, 0, "127.0.0.1", 17101);
    assert_owner(m, 5460, "127.0.0.1", 17101);
    assert_owner(m, 5461, "127.0.0.1", 17102);
    assert_owner(m, 10922, "127.0.0.1", 17102);
    assert_owner(m, 10923, "127.0.0.1", 17103);
    assert_owner(m, 16383, "127.0.0.1", 17103);
    assert_null(store_redis_cluster_map_owner(m, STORE_REDIS_SLOT_COUNT));
}

static void
test_real_replies(void **state)
{
    (void)state;
    struct store_redis_cluster_map *m = map_new();
    struct store_redis_reply *r = parse(shards_3x2, sizeof(shards_3x2) - 1);
    assert_true(store_redis_cluster_map_from_shards(r, false, "127.0.0.1", m));
    assert_three_primaries(m);
    /* A TLS connection wants tls-port, which this plaintext cluster does
     * not announce: nothing is reachable, but the reply is well formed. */
    assert_true(store_redis_cluster_map_from_shards(r, true, "127.0.0.1", m));
    assert_int_equal(m->node_count, 0);
    assert_false(store_redis_cluster_map_covered(m));
    store_redis_proto_reply_free(r);

    r = parse(slots_3, sizeof(slots_3) - 1);
    assert_true(store_redis_cluster_map_from_slots(r, "127.0.0.1", m));
    assert_three_primaries(m);
    /* SLOTS is not SHARDS and the other way round. */
    assert_false(store_redis_cluster_map_from_shards(r, false, "127.0.0.1", m));
    store_redis_proto_reply_free(r);
    r = parse(shards_3x2, sizeof(shards_3x2) - 1);
    assert_false(store_redis_cluster_map_from_slots(r, "127.0.0.1", m));
    store_redis_proto_reply_free(r);
    free(m);
}

/* ---- SHARDS replies built for the cases a live cluster shows rarely ---- */

struct node_spec {
    const char *endpoint; /* NULL: no endpoint field */
    const char *ip;
    long port;
    long tls_port; /* 0: no tls-port field */
    const char *role;
    const char *health;
};

static void
put_str(struct buf *b, const char *s)
{
    assert_int_equal(buf_appendf(b, "$%zu\r\n%s\r\n", strlen(s), s), 0);
}

static void
put_node(struct buf *b, const struct node_spec *n)
{
    int fields = 4 + (n->endpoint != NULL) + (n->tls_port != 0);
    assert_int_equal(buf_appendf(b, "*%d\r\n", fields * 2), 0);
    put_str(b, "port");
    assert_int_equal(buf_appendf(b, ":%ld\r\n", n->port), 0);
    if (n->tls_port != 0) {
        put_str(b, "tls-port");
        assert_int_equal(buf_appendf(b, ":%ld\r\n", n->tls_port), 0);
    }
    put_str(b, "ip");
    put_str(b, n->ip);
    if (n->endpoint != NULL) {
        put_str(b, "endpoint");
        put_str(b, n->endpoint);
    }
    put_str(b, "role");
    put_str(b, n->role);
    put_str(b, "health");
    put_str(b, n->health);
}

/* One shard: slot ranges (pairs) and nodes. */
static void
put_shard(struct buf *b, const long *ranges, size_t range_count, const struct node_spec *nodes,
          size_t node_count)
{
    assert_int_equal(buf_appendf(b, "*4\r\n"), 0);
    put_str(b, "slots");
    assert_int_equal(buf_appendf(b, "*%zu\r\n", range_count * 2), 0);
    for (size_t i = 0; i < range_count * 2; i++) {
        assert_int_equal(buf_appendf(b, ":%ld\r\n", ranges[i]), 0);
    }
    put_str(b, "nodes");
    assert_int_equal(buf_appendf(b, "*%zu\r\n", node_count), 0);
    for (size_t i = 0; i < node_count; i++) {
        put_node(b, &nodes[i]);
    }
}

static bool
shards_map(struct buf *b, bool tls, struct store_redis_cluster_map *m)
{
    struct store_redis_reply *r = parse(b->ptr, b->len);
    bool ok = store_redis_cluster_map_from_shards(r, tls, "10.0.0.9", m);
    store_redis_proto_reply_free(r);
    buf_reset(b);
    return ok;
}

static const long all_slots[] = {0, 16383};
static const long low_half[] = {0, 8191};
static const long high_half[] = {8192, 16383};

static void
test_shards_cases(void **state)
{
    (void)state;
    struct store_redis_cluster_map *m = map_new();
    struct buf b;
    buf_init(&b, 64 * 1024);

    /* After a failover: the old primary is still listed as a failed
     * master, the promoted replica is the online one. */
    const struct node_spec failover[] = {
        {"10.0.0.1", "10.0.0.1", 7001, 0, "master", "fail"},
        {"10.0.0.2", "10.0.0.2", 7002, 0, "master", "online"},
    };
    assert_int_equal(buf_appendf(&b, "*1\r\n"), 0);
    put_shard(&b, all_slots, 1, failover, 2);
    assert_true(shards_map(&b, false, m));
    assert_owner(m, 0, "10.0.0.2", 7002);
    assert_true(store_redis_cluster_map_covered(m));

    /* During the election: no online primary, those slots uncovered. */
    const struct node_spec electing[] = {
        {"10.0.0.1", "10.0.0.1", 7001, 0, "master", "fail"},
        {"10.0.0.2", "10.0.0.2", 7002, 0, "replica", "online"},
    };
    const struct node_spec healthy[] = {{"10.0.0.3", "10.0.0.3", 7003, 0, "master", "online"}};
    assert_int_equal(buf_appendf(&b, "*2\r\n"), 0);
    put_shard(&b, low_half, 1, electing, 2);
    put_shard(&b, high_half, 1, healthy, 1);
    assert_true(shards_map(&b, false, m));
    assert_false(store_redis_cluster_map_covered(m));
    assert_null(store_redis_cluster_map_owner(m, 0));
    assert_owner(m, 8192, "10.0.0.3", 7003);

    /* Endpoints: empty is the answering host, "?" is unknown (uncovered),
     * no endpoint field falls back to the IP; an IPv6 host is kept bare. */
    const struct node_spec empty_ep[] = {{"", "10.0.0.1", 7001, 0, "master", "online"}};
    const struct node_spec unknown_ep[] = {{"?", "10.0.0.1", 7001, 0, "master", "online"}};
    const struct node_spec no_ep[] = {{NULL, "::1", 7001, 0, "master", "online"}};
    assert_int_equal(buf_appendf(&b, "*1\r\n"), 0);
    put_shard(&b, all_slots, 1, empty_ep, 1);
    assert_true(shards_map(&b, false, m));
    assert_owner(m, 100, "10.0.0.9", 7001);
    assert_int_equal(buf_appendf(&b, "*1\r\n"), 0);
    put_shard(&b, all_slots, 1, unknown_ep, 1);
    assert_true(shards_map(&b, false, m));
    assert_null(store_redis_cluster_map_owner(m, 100));
    assert_int_equal(buf_appendf(&b, "*1\r\n"), 0);
    put_shard(&b, all_slots, 1, no_ep, 1);
    assert_true(shards_map(&b, false, m));
    assert_owner(m, 100, "::1", 7001);

    /* TLS: tls-port is the port for rediss+cluster://. */
    const struct node_spec tls[] = {{"db.internal", "10.0.0.1", 7001, 7401, "master", "online"}};
    assert_int_equal(buf_appendf(&b, "*1\r\n"), 0);
    put_shard(&b, all_slots, 1, tls, 1);
    assert_true(shards_map(&b, true, m));
    assert_owner(m, 16383, "db.internal", 7401);

    /* Several ranges per shard, and a primary with no slots at all. */
    const long split[] = {0, 99, 200, 16383};
    const long none[] = {0};
    const struct node_spec other[] = {{"10.0.0.4", "10.0.0.4", 7004, 0, "master", "online"}};
    const long middle[] = {100, 199};
    assert_int_equal(buf_appendf(&b, "*3\r\n"), 0);
    put_shard(&b, split, 2, healthy, 1);
    put_shard(&b, none, 0, failover, 2);
    put_shard(&b, middle, 1, other, 1);
    assert_true(shards_map(&b, false, m));
    assert_int_equal(m->node_count, 2);
    assert_true(store_redis_cluster_map_covered(m));
    assert_owner(m, 150, "10.0.0.4", 7004);
    assert_owner(m, 250, "10.0.0.3", 7003);

    /* Refusals: the whole reply goes, the map is left empty. */
    const long overlap_a[] = {0, 100};
    const long overlap_b[] = {100, 16383};
    const long out_of_range[] = {0, 16384};
    const long reversed[] = {10, 5};
    const struct node_spec bad_port[] = {{"10.0.0.1", "10.0.0.1", 0, 0, "master", "online"}};
    const struct node_spec big_port[] = {{"10.0.0.1", "10.0.0.1", 65536, 0, "master", "online"}};
    const struct node_spec bad_host[] = {{"a b", "10.0.0.1", 7001, 0, "master", "online"}};
    const struct node_spec crlf_host[] = {{"a\nb", "10.0.0.1", 7001, 0, "master", "online"}};

    assert_int_equal(buf_appendf(&b, "*2\r\n"), 0);
    put_shard(&b, overlap_a, 1, healthy, 1);
    put_shard(&b, overlap_b, 1, other, 1);
    assert_false(shards_map(&b, false, m));
    assert_int_equal(m->node_count, 0);
    assert_null(store_redis_cluster_map_owner(m, 0));

    assert_int_equal(buf_appendf(&b, "*1\r\n"), 0);
    put_shard(&b, out_of_range, 1, healthy, 1);
    assert_false(shards_map(&b, false, m));
    assert_int_equal(buf_appendf(&b, "*1\r\n"), 0);
    put_shard(&b, reversed, 1, healthy, 1);
    assert_false(shards_map(&b, false, m));
    /* A bad port or host on the primary makes it unusable, not the map
     * wrong: those slots are uncovered. */
    assert_int_equal(buf_appendf(&b, "*1\r\n"), 0);
    put_shard(&b, all_slots, 1, bad_port, 1);
    assert_true(shards_map(&b, false, m));
    assert_false(store_redis_cluster_map_covered(m));
    assert_int_equal(buf_appendf(&b, "*1\r\n"), 0);
    put_shard(&b, all_slots, 1, big_port, 1);
    assert_true(shards_map(&b, false, m));
    assert_int_equal(m->node_count, 0);
    assert_int_equal(buf_appendf(&b, "*1\r\n"), 0);
    put_shard(&b, all_slots, 1, bad_host, 1);
    assert_true(shards_map(&b, false, m));
    assert_int_equal(m->node_count, 0);
    assert_int_equal(buf_appendf(&b, "*1\r\n"), 0);
    put_shard(&b, all_slots, 1, crlf_host, 1);
    assert_true(shards_map(&b, false, m));
    assert_int_equal(m->node_count, 0);

    /* Too many nodes in one shard. */
    struct node_spec many[BOUNDS_REDIS_CLUSTER_SHARD_NODES_MAX + 1];
    for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++) {
        many[i] = (struct node_spec){"10.0.0.1", "10.0.0.1", 7001, 0, "replica", "online"};
    }
    assert_int_equal(buf_appendf(&b, "*1\r\n"), 0);
    put_shard(&b, all_slots, 1, many, BOUNDS_REDIS_CLUSTER_SHARD_NODES_MAX + 1);
    assert_false(shards_map(&b, false, m));

    /* Not a SHARDS reply at all. */
    static const char *const wrong[] = {
        "-ERR unknown subcommand 'shards'.\r\n",
        "*1\r\n:1\r\n",
        "*1\r\n*3\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*1\r\n:0\r\n$5\r\nnodes\r\n*0\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n$1\r\n0\r\n:1\r\n$5\r\nnodes\r\n*0\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*0\r\n:5\r\n*0\r\n",
        "*1\r\n*2\r\n$5\r\nslots\r\n*0\r\n",
    };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        struct store_redis_reply *r = parse(wrong[i], strlen(wrong[i]));
        if (store_redis_cluster_map_from_shards(r, false, "h", m)) {
            fail_msg("accepted %zu", i);
        }
        store_redis_proto_reply_free(r);
    }
    buf_cleanup(&b);
    free(m);
}

static void
test_slots_cases(void **state)
{
    (void)state;
    struct store_redis_cluster_map *m = map_new();
    /* Empty and nil hosts are the answering host; "?" leaves the range
     * uncovered; a range's replicas are ignored. */
    static const char hosts[] =
        "*3\r\n"
        "*4\r\n:0\r\n:99\r\n*2\r\n$0\r\n\r\n:7001\r\n*2\r\n$8\r\n10.0.0.5\r\n:7005\r\n"
        "*3\r\n:100\r\n:199\r\n*2\r\n$-1\r\n:7002\r\n"
        "*3\r\n:200\r\n:16383\r\n*2\r\n$1\r\n?\r\n:7003\r\n";
    struct store_redis_reply *r = parse(hosts, sizeof(hosts) - 1);
    assert_true(store_redis_cluster_map_from_slots(r, "db.internal", m));
    assert_owner(m, 0, "db.internal", 7001);
    assert_owner(m, 150, "db.internal", 7002);
    assert_null(store_redis_cluster_map_owner(m, 200));
    assert_false(store_redis_cluster_map_covered(m));
    store_redis_proto_reply_free(r);

    static const char *const wrong[] = {
        "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n",
        "*1\r\n*3\r\n:5\r\n:4\r\n*2\r\n$1\r\nh\r\n:1\r\n",
        "*1\r\n*3\r\n:-1\r\n:4\r\n*2\r\n$1\r\nh\r\n:1\r\n",
        "*1\r\n*3\r\n:0\r\n:4\r\n*2\r\n$1\r\nh\r\n:0\r\n",
        "*1\r\n*3\r\n:0\r\n:4\r\n*2\r\n$1\r\nh\r\n$4\r\n7001\r\n",
        "*1\r\n*3\r\n:0\r\n:4\r\n*1\r\n$1\r\nh\r\n",
        "*1\r\n*2\r\n:0\r\n:4\r\n",
        "*2\r\n*3\r\n:0\r\n:4\r\n*2\r\n$1\r\nh\r\n:1\r\n*3\r\n:4\r\n:9\r\n*2\r\n$1\r\ng\r\n:1\r\n",
        "*1\r\n*3\r\n:0\r\n:4\r\n*2\r\n$3\r\na/b\r\n:1\r\n",
        "-ERR This instance has cluster support disabled\r\n",
        "*1\r\n:1\r\n",
    };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        r = parse(wrong[i], strlen(wrong[i]));
        if (store_redis_cluster_map_from_slots(r, "h", m)) {
            fail_msg("accepted %zu", i);
        }
        assert_int_equal(m->node_count, 0);
        store_redis_proto_reply_free(r);
    }
    free(m);
}

struct redirect_case {
    const char *text;
    enum store_redis_redirect_kind kind;
    unsigned slot;
    const char *host;
    unsigned port;
};

static void
test_redirects(void **state)
{
    (void)state;
    static const struct redirect_case cases[] = {
        {"-MOVED 3999 127.0.0.1:6381\r\n", STORE_REDIS_REDIRECT_MOVED, 3999, "127.0.0.1", 6381},
        {"-ASK 3999 127.0.0.1:6381\r\n", STORE_REDIS_REDIRECT_ASK, 3999, "127.0.0.1", 6381},
        {"-MOVED 12182 127.0.0.1:17103\r\n", STORE_REDIS_REDIRECT_MOVED, 12182, "127.0.0.1", 17103},
        {"-MOVED 0 ::1:7001\r\n", STORE_REDIS_REDIRECT_MOVED, 0, "::1", 7001},
        {"-MOVED 16383 2001:db8::7:7001\r\n", STORE_REDIS_REDIRECT_MOVED, 16383, "2001:db8::7",
         7001},
        {"-ASK 1 [::1]:7001\r\n", STORE_REDIS_REDIRECT_ASK, 1, "::1", 7001},
        {"-MOVED 5 :6381\r\n", STORE_REDIS_REDIRECT_MOVED, 5, "node-a", 6381},
        {"-MOVED 5 redis-0.redis.svc:6379\r\n", STORE_REDIS_REDIRECT_MOVED, 5, "redis-0.redis.svc",
         6379},
        /* Not redirections, or ones we cannot follow: fail closed. */
        {"-MOVED 16384 h:1\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-MOVED -1 h:1\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-MOVED 1 h:0\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-MOVED 1 h:65536\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-MOVED 1 h:\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-MOVED 1 h\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-MOVED 1 ?:7001\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-MOVED 1 a b:7001\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-MOVED 1  h:7001\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-MOVED 1\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-MOVED\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-MOVED 99999999999 h:1\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-moved 1 h:1\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"-TRYAGAIN Multiple keys request during rehashing of slot\r\n", STORE_REDIS_REDIRECT_NONE,
         0, "", 0},
        {"-CLUSTERDOWN The cluster is down\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"+MOVED 1 h:1\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
        {"$12\r\nMOVED 1 h:10\r\n", STORE_REDIS_REDIRECT_NONE, 0, "", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store_redis_reply *r = parse(cases[i].text, strlen(cases[i].text));
        struct store_redis_redirect rd;
        enum store_redis_redirect_kind k = store_redis_cluster_map_redirect(r, "node-a", &rd);
        if (k != cases[i].kind || rd.kind != k || rd.slot != cases[i].slot ||
            strcmp(rd.node.host, cases[i].host) != 0 || rd.node.port != cases[i].port) {
            fail_msg("%s: kind %d slot %u %s:%u", cases[i].text, (int)k, rd.slot, rd.node.host,
                     rd.node.port);
        }
        store_redis_proto_reply_free(r);
    }
    /* An empty host with no answering host to stand for it. */
    struct store_redis_reply *r = parse("-MOVED 5 :6381\r\n", 16);
    struct store_redis_redirect rd;
    assert_int_equal(store_redis_cluster_map_redirect(r, NULL, &rd), STORE_REDIS_REDIRECT_NONE);
    store_redis_proto_reply_free(r);
    assert_int_equal(store_redis_cluster_map_redirect(NULL, "h", &rd), STORE_REDIS_REDIRECT_NONE);
}

static void
test_assign(void **state)
{
    (void)state;
    struct store_redis_cluster_map *m = map_new();
    struct store_redis_reply *r = parse(slots_3, sizeof(slots_3) - 1);
    assert_true(store_redis_cluster_map_from_slots(r, "127.0.0.1", m));
    store_redis_proto_reply_free(r);
    /* MOVED to a node we know, then to one we do not. */
    struct store_redis_cluster_node n = {"127.0.0.1", 17102};
    assert_true(store_redis_cluster_map_assign(m, 0, &n));
    assert_owner(m, 0, "127.0.0.1", 17102);
    assert_int_equal(m->node_count, 3);
    struct store_redis_cluster_node fresh = {"127.0.0.1", 17107};
    assert_true(store_redis_cluster_map_assign(m, 1, &fresh));
    assert_owner(m, 1, "127.0.0.1", 17107);
    assert_owner(m, 2, "127.0.0.1", 17101);
    assert_int_equal(m->node_count, 4);
    assert_false(store_redis_cluster_map_assign(m, STORE_REDIS_SLOT_COUNT, &n));
    /* The map never holds more primaries than its cap. */
    size_t before = m->node_count;
    for (unsigned i = 0; i < BOUNDS_REDIS_CLUSTER_PRIMARIES_MAX + 4; i++) {
        struct store_redis_cluster_node k = {"10.1.1.1", 1000 + i};
        bool ok = store_redis_cluster_map_assign(m, 100 + i, &k);
        assert_int_equal(ok, before + i < BOUNDS_REDIS_CLUSTER_PRIMARIES_MAX);
    }
    assert_int_equal(m->node_count, BOUNDS_REDIS_CLUSTER_PRIMARIES_MAX);
    free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_replies), cmocka_unit_test(test_shards_cases),
        cmocka_unit_test(test_slots_cases),  cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_assign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
