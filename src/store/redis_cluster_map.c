/* Redis Cluster slot map and redirections (see redis_cluster_map.h). */
#include "store/redis_cluster_map.h"

#include <string.h>

/* ---- Nodes ------------------------------------------------------------------ */

/* Host names, IPv4 and IPv6 literals (and an IPv6 zone after '%'): no byte
 * that could smuggle anything into a connect, a log line or a TLS name. */
static bool
host_ok(const char *s, size_t len)
{
    if (len == 0 || len > BOUNDS_REDIS_CLUSTER_HOST_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == ':' || c == '_' || c == '%';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Sets node->host from an announced host: empty (or NULL) is the
 * answering node's host, "?" is unknown (false), brackets are dropped. */
static bool
node_set_host(struct store_redis_cluster_node *node, const char *s, size_t len,
              const char *answering_host)
{
    if (s == NULL || len == 0) {
        if (answering_host == NULL) {
            return false;
        }
        s = answering_host;
        len = strlen(answering_host);
    }
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }
    if (!host_ok(s, len)) {
        return false; /* "?" (unknown endpoint) lands here too */
    }
    memcpy(node->host, s, len);
    node->host[len] = '\0';
    return true;
}

static bool
port_ok(int64_t port)
{
    return port > 0 && port <= 65535;
}

static void
map_clear(struct store_redis_cluster_map *m)
{
    /* NO_NODE is 0xffff: every byte 0xff. */
    _Static_assert(STORE_REDIS_CLUSTER_NO_NODE == 0xffff, "map_clear fills bytes of 0xff");
    m->node_count = 0;
    memset(m->slot_node, 0xff, sizeof(m->slot_node));
}

/* The index of node in m, added when new; -1 when the map is full. */
static int
node_index(struct store_redis_cluster_map *m, const struct store_redis_cluster_node *node)
{
    for (size_t i = 0; i < m->node_count; i++) {
        if (m->nodes[i].port == node->port && strcmp(m->nodes[i].host, node->host) == 0) {
            return (int)i;
        }
    }
    if (m->node_count == BOUNDS_REDIS_CLUSTER_PRIMARIES_MAX) {
        return -1;
    }
    m->nodes[m->node_count] = *node;
    return (int)m->node_count++;
}

/* Gives slots start..end to node idx; false when the range is out of
 * bounds or any of its slots is already owned. */
static bool
assign_range(struct store_redis_cluster_map *m, int64_t start, int64_t end, int idx)
{
    if (start < 0 || end < start || end >= STORE_REDIS_SLOT_COUNT) {
        return false;
    }
    for (int64_t s = start; s <= end; s++) {
        if (m->slot_node[s] != STORE_REDIS_CLUSTER_NO_NODE) {
            return false;
        }
        m->slot_node[s] = (uint16_t)idx;
    }
    return true;
}

static bool
is_text(const struct store_redis_reply *r)
{
    return r != NULL && (r->type == STORE_REDIS_STRING || r->type == STORE_REDIS_STATUS);
}

static bool
text_is(const struct store_redis_reply *r, const char *s)
{
    return is_text(r) && strcmp(r->str, s) == 0;
}

/* A flat key/value array's value for key, or NULL. */
static const struct store_redis_reply *
field(const struct store_redis_reply *kv, const char *key)
{
    for (size_t i = 0; i + 1 < kv->count; i += 2) {
        if (text_is(kv->elems[i], key)) {
            return kv->elems[i + 1];
        }
    }
    return NULL;
}

static bool
is_kv_array(const struct store_redis_reply *r)
{
    if (r == NULL || r->type != STORE_REDIS_ARRAY || r->count % 2 != 0) {
        return false;
    }
    for (size_t i = 0; i < r->count; i += 2) {
        if (!is_text(r->elems[i])) {
            return false;
        }
    }
    return true;
}

/* ---- CLUSTER SHARDS ------------------------------------------------------------ */

/* The address of a SHARDS node entry if it is a primary that is online
 * and reachable the way we connect; false otherwise (not an error). */
static bool
shards_primary(const struct store_redis_reply *n, bool tls, const char *answering_host,
               struct store_redis_cluster_node *out)
{
    if (!text_is(field(n, "role"), "master") || !text_is(field(n, "health"), "online")) {
        return false;
    }
    const struct store_redis_reply *port = field(n, tls ? "tls-port" : "port");
    if (port == NULL || port->type != STORE_REDIS_INTEGER || !port_ok(port->integer)) {
        return false;
    }
    out->port = (unsigned)port->integer;
    const struct store_redis_reply *ep = field(n, "endpoint");
    if (ep == NULL || ep->type == STORE_REDIS_NIL) {
        ep = field(n, "ip");
    }
    if (ep != NULL && ep->type == STORE_REDIS_NIL) {
        return node_set_host(out, NULL, 0, answering_host);
    }
    if (ep == NULL || !is_text(ep)) {
        return false;
    }
    return node_set_host(out, ep->str, ep->len, answering_host);
}

static bool
shards_one(const struct store_redis_reply *shard, bool tls, const char *answering_host,
           struct store_redis_cluster_map *m)
{
    if (!is_kv_array(shard)) {
        return false;
    }
    const struct store_redis_reply *slots = field(shard, "slots");
    const struct store_redis_reply *nodes = field(shard, "nodes");
    if (slots == NULL || slots->type != STORE_REDIS_ARRAY || slots->count % 2 != 0 ||
        nodes == NULL || nodes->type != STORE_REDIS_ARRAY ||
        nodes->count > BOUNDS_REDIS_CLUSTER_SHARD_NODES_MAX) {
        return false;
    }
    for (size_t i = 0; i < slots->count; i++) {
        if (slots->elems[i]->type != STORE_REDIS_INTEGER) {
            return false;
        }
    }
    struct store_redis_cluster_node primary;
    bool found = false;
    for (size_t i = 0; i < nodes->count; i++) {
        if (!is_kv_array(nodes->elems[i])) {
            return false;
        }
        if (!found && shards_primary(nodes->elems[i], tls, answering_host, &primary)) {
            found = true;
        }
    }
    if (!found || slots->count == 0) {
        /* No live primary (an election under way): its slots stay
         * uncovered, and commands for them fail closed until the next
         * refresh finds the new one. */
        return true;
    }
    int idx = node_index(m, &primary);
    if (idx < 0) {
        return false;
    }
    for (size_t i = 0; i < slots->count; i += 2) {
        if (!assign_range(m, slots->elems[i]->integer, slots->elems[i + 1]->integer, idx)) {
            return false;
        }
    }
    return true;
}

bool
store_redis_cluster_map_from_shards(const struct store_redis_reply *r, bool tls,
                                    const char *answering_host, struct store_redis_cluster_map *out)
{
    map_clear(out);
    if (r == NULL || r->type != STORE_REDIS_ARRAY ||
        r->count > BOUNDS_REDIS_CLUSTER_PRIMARIES_MAX) {
        return false;
    }
    for (size_t i = 0; i < r->count; i++) {
        if (!shards_one(r->elems[i], tls, answering_host, out)) {
            map_clear(out);
            return false;
        }
    }
    return true;
}

/* ---- CLUSTER SLOTS ----------------------------------------------------------------- */

static bool
slots_one(const struct store_redis_reply *range, const char *answering_host,
          struct store_redis_cluster_map *m)
{
    if (range == NULL || range->type != STORE_REDIS_ARRAY || range->count < 3 ||
        range->elems[0]->type != STORE_REDIS_INTEGER ||
        range->elems[1]->type != STORE_REDIS_INTEGER) {
        return false;
    }
    const struct store_redis_reply *p = range->elems[2];
    if (p->type != STORE_REDIS_ARRAY || p->count < 2 || p->elems[1]->type != STORE_REDIS_INTEGER ||
        !port_ok(p->elems[1]->integer)) {
        return false;
    }
    struct store_redis_cluster_node node = {.port = (unsigned)p->elems[1]->integer};
    const struct store_redis_reply *host = p->elems[0];
    if (host->type == STORE_REDIS_NIL) {
        if (!node_set_host(&node, NULL, 0, answering_host)) {
            return false;
        }
    } else if (!is_text(host)) {
        return false;
    } else if (!node_set_host(&node, host->str, host->len, answering_host)) {
        /* "?": the range is well formed but its primary cannot be reached;
         * it stays uncovered. */
        return strcmp(host->str, "?") == 0 && range->elems[0]->integer >= 0 &&
               range->elems[1]->integer < STORE_REDIS_SLOT_COUNT;
    }
    int idx = node_index(m, &node);
    return idx >= 0 && assign_range(m, range->elems[0]->integer, range->elems[1]->integer, idx);
}

bool
store_redis_cluster_map_from_slots(const struct store_redis_reply *r, const char *answering_host,
                                   struct store_redis_cluster_map *out)
{
    map_clear(out);
    if (r == NULL || r->type != STORE_REDIS_ARRAY) {
        return false;
    }
    for (size_t i = 0; i < r->count; i++) {
        if (!slots_one(r->elems[i], answering_host, out)) {
            map_clear(out);
            return false;
        }
    }
    return true;
}

/* ---- Questions and updates ------------------------------------------------------- */

bool
store_redis_cluster_map_covered(const struct store_redis_cluster_map *m)
{
    for (size_t i = 0; i < STORE_REDIS_SLOT_COUNT; i++) {
        if (m->slot_node[i] == STORE_REDIS_CLUSTER_NO_NODE) {
            return false;
        }
    }
    return true;
}

const struct store_redis_cluster_node *
store_redis_cluster_map_owner(const struct store_redis_cluster_map *m, unsigned slot)
{
    if (slot >= STORE_REDIS_SLOT_COUNT || m->slot_node[slot] == STORE_REDIS_CLUSTER_NO_NODE) {
        return NULL;
    }
    return &m->nodes[m->slot_node[slot]];
}

bool
store_redis_cluster_map_assign(struct store_redis_cluster_map *m, unsigned slot,
                               const struct store_redis_cluster_node *node)
{
    if (slot >= STORE_REDIS_SLOT_COUNT) {
        return false;
    }
    int idx = node_index(m, node);
    if (idx < 0) {
        return false;
    }
    m->slot_node[slot] = (uint16_t)idx;
    return true;
}

/* ---- MOVED / ASK ---------------------------------------------------------------------- */

/* Reads decimal digits s[0..len) into *out, at most max; false on any
 * other byte, no digit, or past max. */
static bool
decimal(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 10) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

enum store_redis_redirect_kind
store_redis_cluster_map_redirect(const struct store_redis_reply *r, const char *answering_host,
                                 struct store_redis_redirect *out)
{
    memset(out, 0, sizeof(*out));
    if (r == NULL || r->type != STORE_REDIS_ERROR) {
        return STORE_REDIS_REDIRECT_NONE;
    }
    enum store_redis_redirect_kind kind;
    size_t skip;
    if (r->len > 6 && memcmp(r->str, "MOVED ", 6) == 0) {
        kind = STORE_REDIS_REDIRECT_MOVED;
        skip = 6;
    } else if (r->len > 4 && memcmp(r->str, "ASK ", 4) == 0) {
        kind = STORE_REDIS_REDIRECT_ASK;
        skip = 4;
    } else {
        return STORE_REDIS_REDIRECT_NONE;
    }
    const char *p = r->str + skip;
    const char *end = r->str + r->len;
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    uint64_t slot, port;
    if (sp == NULL || !decimal(p, (size_t)(sp - p), STORE_REDIS_SLOT_COUNT - 1, &slot)) {
        return STORE_REDIS_REDIRECT_NONE;
    }
    const char *addr = sp + 1;
    size_t addr_len = (size_t)(end - addr);
    const char *colon = NULL;
    for (size_t i = addr_len; i > 0; i--) {
        if (addr[i - 1] == ':') {
            colon = addr + i - 1;
            break;
        }
    }
    if (colon == NULL || !decimal(colon + 1, (size_t)(end - colon - 1), 65535, &port) ||
        port == 0 || !node_set_host(&out->node, addr, (size_t)(colon - addr), answering_host)) {
        memset(out, 0, sizeof(*out));
        return STORE_REDIS_REDIRECT_NONE;
    }
    out->kind = kind;
    out->slot = (unsigned)slot;
    out->node.port = (unsigned)port;
    return kind;
}
