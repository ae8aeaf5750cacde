/* One connection to one Redis server, on one event loop. It knows nothing
 * of store operations: the store adapter (redis_conn.c), the Sentinel
 * client (redis_sentinel.c) and the Cluster client each own links and give
 * them pre-encoded commands.
 *
 * A link goes DOWN → CONNECTING (net/connect: the link's own resolver,
 * every address of the host raced; then TLS, net/tls; one deadline) →
 * HANDSHAKE ([AUTH] [SELECT] PING written at once; commands may follow on
 * the same pipe) → UP (the PONG arrived; the backoff resets). Replies come
 * back in command order, so a FIFO of records matches them; each record
 * has a deadline and one timer watches the oldest.
 *
 * Fail-closed rules (SPEC.md 5.1, 5.4): a send while the link is not
 * connected is refused at once (there is no queue); any failure -- error
 * event, EOF, protocol error, a missed deadline -- drops the connection,
 * answers every command in flight with an error, reports "dropped" to the
 * state callback and reconnects after a jittered backoff doubling from
 * BOUNDS_REDIS_BACKOFF_MIN_MS to BOUNDS_REDIS_BACKOFF_MAX_MS. A missed
 * deadline drops the connection because after a lost reply the pipe is
 * out of step, and a server that accepts and never answers must not
 * wedge a worker.
 *
 * Callbacks run on the loop from the link's own event handlers, never
 * from inside store_redis_link_send() or _retarget(). A callback may send
 * on the link, retarget it or drop it, but must not free it (defer that
 * to the loop). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/resolve.h"
#include "net/sockopt.h"
#include "store/redis_proto.h"

struct buf;
struct event_base;
struct net_keepalive;
struct net_resolver;
struct net_resolver_opts;
struct ssl_ctx_st;
struct store_redis_link;
struct store_redis_cmd;

/* Where a link connects and how it logs in. Every string is copied at
 * creation; NULL user/password mean none (a password alone is the legacy
 * single-password AUTH, a user means ACL AUTH). */
struct store_redis_target {
    const char *host; /* name or IP literal, no IPv6 brackets */
    unsigned port;
    bool tls;
    const char *user;
    const char *password;
    unsigned db;                 /* SELECT when != 0 */
    uint64_t connect_timeout_ms; /* TCP + TLS, over every address */
    uint64_t command_timeout_ms; /* per command (a batch: per batch) */
};

enum store_redis_link_state {
    STORE_REDIS_LINK_DOWN = 0,   /* waiting for the backoff, or stopped */
    STORE_REDIS_LINK_CONNECTING, /* lookup, TCP, TLS */
    STORE_REDIS_LINK_HANDSHAKE,  /* connected, waiting for the PONG */
    STORE_REDIS_LINK_UP,
};

/* The link came up (up = true, reason NULL) or went down (up = false,
 * reason = one sentence, never holding a password). */
typedef void (*store_redis_link_state_fn)(void *arg, bool up, const char *reason);

/* The K replies of one batch, in command order (borrowed: freed after the
 * callback returns), or replies = NULL and error set when the batch got
 * no complete answer (the connection dropped, the deadline passed). */
typedef void (*store_redis_link_reply_fn)(void *arg, struct store_redis_reply *const *replies,
                                          size_t count, const char *error);

/* A message pushed to a subscribed link: the whole reply as Redis sent it
 * (for RESP2 pub/sub: ["message", channel, payload]), borrowed. */
typedef void (*store_redis_link_push_fn)(void *arg, const struct store_redis_reply *msg);

struct store_redis_link_opts {
    const struct store_redis_target *target;
    struct ssl_ctx_st *ssl_ctx; /* borrowed; required when target->tls */
    /* Lookups: a resolver the owner shares among its links (borrowed; it
     * must outlive the link), or NULL to give the link its own, built from
     * dns (NULL: the system files). A link with its own resolver may be
     * freed only while the loop is not running (net_resolver_free). */
    struct net_resolver *resolver;
    const struct net_resolver_opts *dns;
    const struct net_keepalive *keepalive; /* copied; NULL: kernel defaults */
    bool once;                             /* one attempt, no reconnect (the start-up check) */
    bool idle; /* do not connect before the first retarget (the target is a placeholder) */
    /* What holds the password, for "authentication required (%s has no
     * password)"; NULL: "REDIS_URL". */
    const char *auth_name;
    /* The reply reader's caps: 0 means BOUNDS_REDIS_REPLY_ARRAY_MAX elements
     * and BOUNDS_REDIS_REPLY_PENDING_MAX bytes (a revocation resync page
     * needs more). */
    size_t reply_elements_max;
    size_t reply_pending_max;
    store_redis_link_state_fn on_state; /* may be NULL */
    void *arg;
};

/* Creates the link and starts connecting at once. Never NULL. */
struct store_redis_link *store_redis_link_new(struct event_base *base,
                                              const struct store_redis_link_opts *o);
/* Closes the connection at once; no callback runs (commands in flight are
 * forgotten, their callbacks never called). NULL is a no-op. */
void store_redis_link_free(struct store_redis_link *l);

/* Writes a batch of count (1..BOUNDS_REDIS_BATCH_MAX) RESP-encoded
 * commands in one write; cb gets their count replies together. The
 * batch's deadline is the command timeout plus extra_ms (WAIT's own
 * timeout, say). Returns the batch's handle, or NULL without calling cb
 * when the link is not UP (HANDSHAKE counts as up: the commands queue
 * behind the PING on the pipe), too many commands are in flight or it is
 * in subscribe mode; then a reason is appended to why (may be NULL). */
struct store_redis_cmd *store_redis_link_send(struct store_redis_link *l, const struct buf *batch,
                                              size_t count, uint64_t extra_ms,
                                              store_redis_link_reply_fn cb, void *arg,
                                              struct buf *why);
/* cb of a batch in flight will not run; its replies are read and dropped. */
void store_redis_link_cancel(struct store_redis_link *l, struct store_redis_cmd *cmd);

/* Points the link at another server (same credentials, TLS and db):
 * drops the current connection (commands in flight fail) and connects to
 * host:port on the next loop turn, without backoff. */
void store_redis_link_retarget(struct store_redis_link *l, const char *host, unsigned port);
/* Drops the connection now (commands in flight fail with reason) and
 * reconnects after the backoff -- for an owner that learned the server
 * is the wrong one (a READONLY reply, a ROLE that is not master). */
void store_redis_link_drop(struct store_redis_link *l, const char *reason);

/* Subscribe mode: after every handshake the link sends SUBSCRIBE channel
 * and every message Redis pushes goes to push. Regular sends are refused
 * from now on. Call once, right after store_redis_link_new(). */
void store_redis_link_subscribe(struct store_redis_link *l, const char *channel,
                                store_redis_link_push_fn push, void *arg);

/* Subscribe mode only: writes PING. Its reply (["pong", ""]) must come
 * within the command timeout or the link drops -- the way a half-open
 * connection that no message crosses shows itself. Messages that arrive
 * before the pong still go to push. A no-op unless the link is UP. */
void store_redis_link_ping(struct store_redis_link *l);

/* A back end's network settings, copied once at start-up and read by
 * every link it opens: the resolver's files (owned copies) and the TCP
 * keep-alive. */
struct store_redis_net {
    struct net_resolver_opts dns;
    bool has_keepalive;
    struct net_keepalive keepalive;
};
/* Replaces n's settings with copies of dns and keepalive (either NULL: the
 * system's files, the kernel's defaults). */
void store_redis_net_set(struct store_redis_net *n, const struct net_resolver_opts *dns,
                         const struct net_keepalive *keepalive);
void store_redis_net_cleanup(struct store_redis_net *n);
/* The keep-alive for a link's options; NULL when none was set. */
const struct net_keepalive *store_redis_net_keepalive(const struct store_redis_net *n);

/* The TLS context every link of a back end shares: for a TLS URL, one
 * verifying against ca_file (NULL or "": the system store) into *out; for a
 * plain URL, none, and REDIS_CA_FILE set is a mistake (the message names
 * the URL's plain scheme and its TLS form, e.g. "redis" and "rediss").
 * false with the reason appended to err. */
struct buf;
bool store_redis_link_tls_ctx(bool tls, const char *ca_file, const char *scheme,
                              const char *tls_scheme, struct ssl_ctx_st **out, struct buf *err);

enum store_redis_link_state store_redis_link_state(const struct store_redis_link *l);
/* UP: the handshake's PONG arrived on this connection. */
bool store_redis_link_is_up(const struct store_redis_link *l);
/* Why the link is not up (borrowed; "" when it is). */
const char *store_redis_link_last_error(const struct store_redis_link *l);
/* "rediss://host:port/db" without credentials (borrowed). */
const char *store_redis_link_where(const struct store_redis_link *l);
/* The current target's host and port (borrowed). */
const char *store_redis_link_host(const struct store_redis_link *l);
unsigned store_redis_link_port(const struct store_redis_link *l);
